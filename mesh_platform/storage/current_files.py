"""The files of a port's current version, recorded beside it for readers that need not open its Delta log.

A first read in a process would pay ~20 ms to open the port's Delta table (importing deltalake, reading the
log): more than DuckDB takes for a filtered count over 10M rows of it. So after each commit the platform makes
to a port on this machine's file system, it records what Delta Lake then says the table is (`record`), in
`_mesh_current.json` in the table's folder, hidden from Delta Lake by its leading underscore: the table's
version, its latest publish's commit entry, its Parquet files (relative to the table's folder, as in Delta's log:
a mesh moved elsewhere reads them there) and their columns as DuckDB reads them.

A reader trusts the record only while it is the truth (`read`): the commit it names is in the log and the next
is not. A Delta commit is the file `_delta_log/<version, 20 digits>.json`, created once by whoever commits next
(a build, a VACUUM, another tool): then, or when the record is missing or unreadable, the reader opens the table
with deltalake as before. Nothing else is taken from the record; it never decides what a version holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh_platform.storage.delta import commit_location

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from mesh_platform.storage.location import Location

RECORD_FILE = "_mesh_current.json"
FORMAT = 1  # the record's layout: a record of another is ignored


@dataclass(frozen=True)
class CurrentFiles:
    """A local Delta table's version as recorded at its last commit (`table_version`, maintenance commits included)."""

    table_version: int
    latest: dict[str, Any]  # the newest commit that changed data, as `DeltaTable.history()` gives it
    files: tuple[str, ...]  # absolute paths of the version's Parquet files
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type) of the table's schema, in its order


def record(location: Location, table: DeltaTable, latest: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> None:
    """Record `table` (just committed to, on this machine's file system) as the readers' shortcut: written whole or
    not at all (a rename). A record that cannot be written is removed: reads then open the table, as without one."""
    folder = location.path
    target = folder / RECORD_FILE
    document = {
        "format": FORMAT,
        "table_version": table.version(),
        "latest": latest,
        "files": [os.path.relpath(location.file_path(uri), folder) for uri in table.file_uris()],  # as Delta: relative
        "columns": [list(column) for column in columns],
    }
    staged = folder / f"{RECORD_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        staged.write_text(json.dumps(document, default=str))
        os.replace(staged, target)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            staged.unlink()
        forget(location)


def read(location: Location) -> CurrentFiles | None:
    """The recorded current version of the local table at `location`, if no commit came after the one recorded."""
    if not location.local:
        return None
    folder = location.path
    try:
        document = json.loads((folder / RECORD_FILE).read_bytes())
        if document.get("format") != FORMAT:
            return None
        version = int(document["table_version"])
        current = CurrentFiles(
            version,
            dict(document["latest"]),
            tuple(str(folder / str(file)) for file in document["files"]),
            tuple((str(name), str(type_)) for name, type_ in document["columns"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not commit_location(location, version).path.exists() or commit_location(location, version + 1).path.exists():
        return None
    return current


def forget(location: Location) -> None:
    """Remove the record of the local table at `location` (reads then open the table)."""
    with contextlib.suppress(OSError):
        (location.path / RECORD_FILE).unlink()
