"""The landing zone: where source files arrive, one folder per domain, and what `source` products read.

A local folder (`landing/` in the mesh's root by default) is read where it is. A landing zone on an object
store (`s3://bucket/prefix`, a deployment's `landing` block) is mirrored before a build into a
local cache folder, file by file: a file is fetched when it is new or changed (its size or its
modification time, which S3 keeps to the second: a file replaced by one of the same size within
the same second is not seen as changed), and a cached file the store no longer has is deleted,
so a build on any worker sees what the store holds. DuckDB then reads the files as it reads a local
landing folder (its S3 extension cannot be relied on: extensions are downloaded at run time).
"""

from __future__ import annotations

import os
from pathlib import Path

from mesh_platform.storage.location import Location


class LandingZone:
    def __init__(self, location: Location, cache: Path):
        self.location = location
        self.cache = cache

    def folder(self, domain: str) -> Path:
        """The domain's landing folder on this machine, as the store holds it now."""
        if self.location.local:
            return self.location.path / domain
        return self._mirror(domain)

    def _mirror(self, domain: str) -> Path:
        import pyarrow.fs as pafs

        filesystem = self.location.filesystem()
        prefix = self.location.child(domain).file_path()
        target = self.cache / domain
        target.mkdir(parents=True, exist_ok=True)
        wanted: set[Path] = set()
        for item in filesystem.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True)):
            if item.type != pafs.FileType.File:
                continue
            local = target / item.path[len(prefix) :].lstrip("/")
            wanted.add(local)
            stamp = item.mtime_ns or 0
            if local.is_file() and local.stat().st_size == item.size and local.stat().st_mtime_ns == stamp:
                continue  # fetched before, unchanged since
            local.parent.mkdir(parents=True, exist_ok=True)
            partial = local.with_name(f".{local.name}.partial")
            with filesystem.open_input_stream(item.path) as source, partial.open("wb") as out:
                while chunk := source.read(8 * 1024 * 1024):
                    out.write(chunk)
            os.replace(partial, local)
            os.utime(local, ns=(stamp, stamp))
        for stale in [p for p in target.rglob("*") if p.is_file() and p not in wanted]:
            stale.unlink()  # removed from the store: a glob must not find it here
        return target
