"""What the mesh writes is its owner's only: MESH_HOME and everything in it, the landing files, a query's output.

Every `mesh` command runs with the umask 077 (folders 0700, files 0600), and so does every process it
starts (code servers, the webserver, the daemon, runs), which inherit it. A folder the mesh writes into
that exists already (a MESH_HOME made by hand, a landing folder) is made its owner's only with
`private_folder`; a file holding a secret is written with `write_private`.
"""

from __future__ import annotations

import os
from pathlib import Path

UMASK = 0o077
FOLDER = 0o700
FILE = 0o600


def owner_only() -> None:
    """From now on this process, and every process it starts, creates files and folders for its owner only."""
    os.umask(UMASK)


def private_folder(path: Path) -> Path:
    """`path` as a folder only its owner may enter; the missing folders above it are made so too."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, FOLDER)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (also when the file existed with a wider mode)."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE)
    with os.fdopen(descriptor, "w") as out:
        os.fchmod(out.fileno(), FILE)
        out.write(text)
