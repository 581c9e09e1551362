"""Reading the files users give the mesh (contracts, recipes, the glossary, SQL and Python files) within its limits.

Only regular files are read: a FIFO, a device (`/dev/zero`), a socket or a folder is refused
from what `stat` says, without being opened (a link is judged by what it leads to), so none
can block a command or feed it without end. A file is read up to its limit plus one byte:
one that grows while it is read is refused all the same.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mesh_platform.core.errors import MeshError

MAX_FILE_BYTES = 1024 * 1024  # a contract, recipe or query is a few kilobytes

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)  # never blocks


class UnreadableFileError(MeshError):
    """A file the mesh will not read: not a regular file, larger than its limit, or not readable."""

    def __init__(self, file: Path, message: str, fix: str = ""):
        self.file, self.message, self.fix = Path(file), message, fix
        super().__init__(f"{file}: {message}" + (f" — {fix}" if fix else ""))


def read_user_file(file: Path | str, kind: str = "", limit: int = MAX_FILE_BYTES, fix: str = "keep the file small") -> bytes:
    """The bytes of a regular file of at most `limit` bytes (`kind` names it in messages: 'YAML', 'SQL')."""
    file = Path(file)
    files = f"{kind} files" if kind else "files"
    try:
        info = os.stat(file)
    except OSError as error:
        raise UnreadableFileError(file, f"cannot read the file: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(file, info)
    if info.st_size > limit:
        raise UnreadableFileError(file, f"the file has {info.st_size:,} bytes; the mesh reads {files} of at most {limit:,}", fix)
    try:
        descriptor = os.open(file, _OPEN_FLAGS)
    except OSError as error:
        raise UnreadableFileError(file, f"cannot read the file: {error.strerror}") from None
    try:
        if not stat.S_ISREG((opened := os.fstat(descriptor)).st_mode):  # replaced between the two looks
            raise _not_regular(file, opened)
        chunks, left = [], limit + 1
        while left > 0 and (chunk := os.read(descriptor, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as error:
        raise UnreadableFileError(file, f"cannot read the file: {error.strerror}") from None
    finally:
        os.close(descriptor)
    if left <= 0:  # it grew while read (or its size was not known)
        message = f"the file holds more than {limit:,} bytes; the mesh reads {files} of at most {limit:,}"
        raise UnreadableFileError(file, message, fix)
    return b"".join(chunks)


def read_user_text(file: Path | str, kind: str = "", limit: int = MAX_FILE_BYTES, fix: str = "keep the file small") -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes."""
    raw = read_user_file(file, kind, limit, fix)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at line {line})"
        raise UnreadableFileError(Path(file), message, "save it as UTF-8") from None


def _not_regular(file: Path, info: os.stat_result) -> UnreadableFileError:
    kind = _KINDS.get(stat.S_IFMT(info.st_mode), "no regular file")
    what = f"it is a link to {os.path.realpath(file)}, {kind}" if file.is_symlink() else f"it is {kind}"
    message = f"{what}, not a regular file; the mesh reads regular files only"
    return UnreadableFileError(file, message, "replace it with a regular file")
