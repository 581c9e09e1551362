"""The compiled catalog index: each product folder's parsed product, kept on disk until one of its files changes.

Every code location, run and `mesh` command reads the catalog; parsing a
product's recipe and contract costs about a millisecond, so a mesh of a thousand
products would spend a second per load parsing files that did not change. The
index keeps, per product folder, the parsed `Product` and a digest of each file
it was read from (the folder's YAML files and the contract); a product is parsed
again only when one of those files' contents changed. Contents, not modification
times, decide: a file rewritten within the file system's timestamp granularity
is still seen.

The index lives in `<repository>/.mesh-cache/` (ignored by git). It is derived
data only: a missing, unreadable or outdated index (another version of the
platform's code) is rebuilt, and a repository that cannot be written is read
without one. Like the repository's code, it is trusted (it is a pickle): whoever
may write it may already change the domains' Python. Broken product folders are
never kept: they are read again each time, so their errors always describe the
files as they are.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.user_files import UnreadableFileError, read_user_file

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product

INDEX_FOLDER = ".mesh-cache"
INDEX_FILE = "catalog.pickle"


@dataclass(frozen=True)
class _Entry:
    digests: tuple[tuple[str, str], ...]  # (file, digest of its bytes) for each file the product was read from
    product: Product


class CatalogIndex:
    """The parsed products of one repository, by recipe file, valid while their files' contents are unchanged."""

    def __init__(self, root: Path):
        self.file = root / INDEX_FOLDER / INDEX_FILE
        self._entries = self._read()
        self._used: dict[str, _Entry] = {}
        self._changed = False

    def cached(self, recipe_file: Path) -> Product | None:
        """The product of `recipe_file` as last parsed, if none of its files changed since."""
        entry = self._entries.get(str(recipe_file))
        if entry is None or any(_digest(file) != digest for file, digest in entry.digests):
            return None
        self._used[str(recipe_file)] = entry
        return entry.product

    def keep(self, product: Product) -> None:
        """Remember a freshly parsed product with the digests of the files it was read from."""
        files = sorted(
            {*(f for f in product.folder.iterdir() if f.suffix in (".yaml", ".yml")), product.contract.file, product.recipe_file}
        )
        digests = tuple((str(file), digest) for file in files if (digest := _digest(file)) is not None)
        self._used[str(product.recipe_file)] = _Entry(digests, product)
        self._changed = True

    def save(self) -> None:
        """Write the index (only the products seen by this load) if anything changed; a read-only repository keeps none."""
        if not self._changed and self._used.keys() == self._entries.keys():
            return
        try:
            self.file.parent.mkdir(exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=self.file.parent, prefix=".catalog-", delete=False) as out:
                pickle.dump((_code_fingerprint(), self._used), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(out.name, self.file)  # atomic: a concurrent load reads the old index or the new one
        except OSError:
            return
        self._entries, self._changed = dict(self._used), False

    def _read(self) -> dict[str, _Entry]:
        try:
            fingerprint, entries = pickle.loads(self.file.read_bytes())
        except Exception:  # missing, truncated, or written by other code: the index is rebuilt
            return {}
        return entries if fingerprint == _code_fingerprint() and isinstance(entries, dict) else {}


def _digest(file: str | Path) -> str | None:
    """The digest of a file as the mesh would read it; None for one it would refuse (a FIFO is never opened)."""
    try:
        return hashlib.blake2b(read_user_file(file), digest_size=16).hexdigest()
    except UnreadableFileError:
        return None


@functools.cache
def _code_fingerprint() -> str:
    """Which version of the platform's code parsed the products: any change to its modules outdates the index."""
    package = str(Path(__file__).resolve().parents[1])
    stats = []
    for folder, folders, files in os.walk(package):  # a third of what Path.rglob costs a consumer's first read (~1 ms)
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                stat = os.stat(path := os.path.join(folder, name))
                stats.append((path[len(package) + 1 :], stat.st_size, stat.st_mtime_ns))
    return hashlib.blake2b(repr(sorted(stats)).encode(), digest_size=16).hexdigest()
