"""Writing what `mesh new` creates all at once or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mesh_platform.core.errors import MeshError

STAGING_PREFIX = ".mesh-new-"


@contextmanager
def staged_folder(target: Path, staging_parent: Path) -> Iterator[Path]:
    """Yield an empty folder; when the block succeeds it becomes `target` in one rename.

    The folder is staged under `staging_parent` (same file system as `target`, outside
    any defs folder, so a half-written product is never loaded). On any error it is
    removed and `target` never exists. An existing `target` is never touched.
    """
    # An empty folder is free to use (`dg scaffold defs` makes the folder before it asks us to fill it).
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise MeshError(f"{target} already exists; choose another name (mesh new never overwrites)")
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=staging_parent))
    try:
        yield staging
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            target.rmdir()
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
