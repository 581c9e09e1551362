"""A file copied into place whole: another process finds it absent or complete, never half-written or replaced."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def copy_into_place(source: Path, target: Path) -> bool:
    """Whether `target` is now a copy of `source`: copied under a name of its own beside it, then linked into place,
    so that it is whole or absent and never replaces a file another process made meanwhile (then False)."""
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    shutil.copyfile(source, partial)
    try:
        os.link(partial, target)
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True
