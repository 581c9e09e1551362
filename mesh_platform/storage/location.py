"""Where a table lives: a local folder, or a prefix of an S3-compatible object store, and how to reach it.

Delta Lake (deltalake) reads and commits through the location's `storage_options`, its own
settings for the object store (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_REGION, …). On S3 it
commits with conditional writes (S3's If-None-Match, which deltalake 1.x uses): two builds
committing to one port at once cannot both win, the second fails and nothing is lost; no lock
service is needed. The mesh writes and reads Parquet files itself (streamed writes, plain
Parquet reads) through Arrow's filesystem for the same store, configured from the same options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow.fs as pafs

OBJECT_STORE_SCHEMES = ("s3", "s3a")


@dataclass(frozen=True)
class Location:
    """A table's place: `uri` is a local path or `s3://bucket/prefix`; `options` are deltalake's storage options."""

    uri: str
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold credentials: kept out of repr

    @classmethod
    def of(cls, uri: str | Path, options: Mapping[str, str] | None = None) -> Location:
        text = str(uri)
        if urlparse(text).scheme not in OBJECT_STORE_SCHEMES:
            text = str(Path(text).resolve())
        return cls(text.rstrip("/") or "/", tuple(sorted((options or {}).items())))

    @property
    def local(self) -> bool:
        return urlparse(self.uri).scheme not in OBJECT_STORE_SCHEMES

    @property
    def path(self) -> Path:
        """The local folder (a location on an object store has none)."""
        if not self.local:
            raise ValueError(f"{self.uri} is on an object store, not a local folder")
        return Path(self.uri)

    def child(self, *parts: str) -> Location:
        return Location("/".join([self.uri, *parts]), self.options)

    def storage_options(self) -> dict[str, str] | None:
        """What deltalake takes as `storage_options` (None: a local folder, or the environment's AWS settings)."""
        return dict(self.options) or None

    def filesystem(self) -> pafs.FileSystem:
        """Arrow's filesystem for this location (paths in it: `file_path`)."""
        import pyarrow.fs as pafs

        if self.local:
            return pafs.LocalFileSystem()
        options = dict(self.options)
        endpoint = options.get("AWS_ENDPOINT_URL") or options.get("AWS_ENDPOINT")
        settings: dict[str, object] = {
            "access_key": options.get("AWS_ACCESS_KEY_ID"),
            "secret_key": options.get("AWS_SECRET_ACCESS_KEY"),
            "session_token": options.get("AWS_SESSION_TOKEN"),
            "region": options.get("AWS_REGION") or options.get("AWS_DEFAULT_REGION"),
        }
        if endpoint:
            parsed = urlparse(endpoint)
            settings |= {"endpoint_override": parsed.netloc or parsed.path, "scheme": parsed.scheme or "https"}
        return pafs.S3FileSystem(**{key: value for key, value in settings.items() if value})

    def file_path(self, uri: str | None = None) -> str:
        """The path of `uri` (default: this location) in `filesystem()`: `bucket/key` on S3."""
        text = uri or self.uri
        parsed = urlparse(text)
        if parsed.scheme in OBJECT_STORE_SCHEMES:
            return f"{parsed.netloc}{parsed.path}"
        if parsed.scheme == "file":
            return parsed.path
        return text

    def __str__(self) -> str:
        return self.uri
