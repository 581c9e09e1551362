"""A DuckDB connection that runs user SQL: it sees what the platform registered and the folders it allows, nothing else.

Set with DuckDB's own controls before any user SQL runs, then locked:
no file outside `readable` (a source's landing folder) can be read, globbed or
attached, no file written, no extension installed or loaded, and no setting
changed. Products reach the connection as Arrow data the platform registered
after deciding access; the connection itself cannot open a port's files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.sql import literal

if TYPE_CHECKING:
    import duckdb


def lock_down(connection: duckdb.DuckDBPyConnection, readable: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """Close `connection` to the file system but for the folders in `readable`; return it."""
    folders = ", ".join(literal(f"{Path(folder).resolve()}/") for folder in readable)
    connection.execute(f"SET allowed_directories = [{folders}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET autoload_known_extensions = false")
    connection.execute("SET lock_configuration = true")
    return connection


def sandbox(readable: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection, locked down (see `lock_down`)."""
    import duckdb

    return lock_down(duckdb.connect(), readable)
