"""A DuckDB connection that runs user SQL: it sees what the platform registered and the folders it allows, nothing else.

Set with DuckDB's own controls before any user SQL runs, then locked:
no file outside `readable` (a source's landing folder; the folder beside its port
where a build's output is staged) can be read, globbed, attached or written, no
extension installed or loaded, and no setting changed (a recipe's SQL is one
SELECT: it reads, the platform's own statements write). Products reach the connection as Arrow data the platform registered
after deciding access; the connection itself cannot open a port's files, but for
a consumer's read that may see a port version's files as they are: then, once
access is decided, those files alone (`files`, DuckDB's `allowed_paths`), which
DuckDB's own Parquet reader scans (`governance.reads`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.sql import literal, quote
from mesh_platform.storage.sql_functions import declare_sql_functions

if TYPE_CHECKING:
    import duckdb

REFUSAL = "DuckDB: file system operations are disabled by configuration"  # how the sandbox refuses a file, in messages


def lock_down(
    connection: duckdb.DuckDBPyConnection, readable: Iterable[Path] = (), files: Iterable[str] = ()
) -> duckdb.DuckDBPyConnection:
    """Close `connection` to the file system but for the folders in `readable` and the `files`; return it."""
    folders = ", ".join(literal(f"{Path(folder).resolve()}/") for folder in readable)
    paths = ", ".join(literal(file) for file in files)
    connection.execute(  # one call, in this order (DuckDB refuses the allowed paths once external access is off)
        f"SET allowed_directories = [{folders}]; SET allowed_paths = [{paths}]; SET enable_external_access = false; "
        "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; SET lock_configuration = true"
    )
    return connection


def sandbox(readable: Iterable[Path] = (), files: Iterable[str] = ()) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection, locked down (see `lock_down`): the database `prepare_database` started
    opening, if there is one, else one opened now."""
    return lock_down(_new_database(), readable, files)


class _Spare:
    """One in-memory DuckDB database being opened on a thread of its own, for the next sandbox to take."""

    def __init__(self) -> None:
        self.database: duckdb.DuckDBPyConnection | None = None
        self.thread = threading.Thread(target=self._open, name="mesh-duckdb-spare", daemon=True)
        self.thread.start()

    def _open(self) -> None:
        import duckdb

        with contextlib.suppress(Exception):  # the sandbox that takes it opens its own instead
            self.database = duckdb.connect()


_spare: _Spare | None = None
_spare_lock = threading.Lock()


@atexit.register
def _finish_spare() -> None:
    """At exit, a spare still opening is waited for: a thread in DuckDB's code when the interpreter finalizes
    would be stopped there (pthread_exit through C++ frames), which can abort the process."""
    spare = _spare
    if spare is not None:
        spare.thread.join()


def prepare_database() -> None:
    """Start opening the next sandbox's database in the background (once: a spare not yet taken is kept). Opening
    an in-memory DuckDB database takes ~23 ms, most of a consumer's first read, and DuckDB does it without Python's
    lock: a read that calls this first opens it while it loads the catalog and decides access (~12 ms)."""
    global _spare
    with _spare_lock:
        if _spare is None:
            _spare = _Spare()


def _new_database() -> duckdb.DuckDBPyConnection:
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        spare.thread.join()
        if spare.database is not None:
            return spare.database
    import duckdb

    return duckdb.connect()


def reading_sandbox(files: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """A connection for a read allowed `files` (a port version's), on one sandboxed in-memory database kept per set
    of files: a process reading the same version again pays a cursor (a millisecond), not a database (tens)."""
    return _reading_database(tuple(sorted(files))).cursor()


@functools.lru_cache(maxsize=16)
def _reading_database(files: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    return sandbox(files=files)


Declare = Callable[["duckdb.DuckDBPyConnection"], None]  # gives a connection functions a build's SQL may call


def binding_sandbox(readable: Iterable[Path] = (), declare: Declare | None = None) -> duckdb.DuckDBPyConnection:
    """A connection for binding SQL (`refused_file`), on one sandboxed in-memory database kept per set of `readable`
    folders: a cursor costs a millisecond, a database tens; its temporary views are its own, and closing it leaves
    the database for the next. The database has the functions a build's SQL may call (the platform's, and those
    `declare` gives, once), declared on it, not on a cursor: a function lives as long as the connection given it."""
    return _binding_database(tuple(sorted({str(Path(folder).resolve()) for folder in readable})), declare).cursor()


@functools.lru_cache(maxsize=16)
def _binding_database(readable: tuple[str, ...], declare: Declare | None) -> duckdb.DuckDBPyConnection:
    connection = sandbox(Path(folder) for folder in readable)
    declare_sql_functions(connection)  # signatures only: binding never calls them (a Python function costs a NumPy import)
    if declare is not None:
        declare(connection)
    return connection


def refused_file(compose: Callable[[], object]) -> str | None:
    """The file DuckDB's sandbox refuses while `compose` builds a relation, or None.

    Binding a query opens the files it names, so a sandboxed connection refuses them before
    anything runs: the same decision a build meets, taken on inputs of no rows. Any other error
    is not this question's (the build reports it)."""
    import duckdb

    try:
        compose()
    except duckdb.PermissionException as error:
        found = re.search(r'"([^"]+)"', str(error))
        return found.group(1) if found else str(error).splitlines()[0]
    except Exception:  # a query failing otherwise fails its build so too, before any refused file
        return None
    return None


def empty_table_sql(columns: Iterable[tuple[str, str]]) -> str:
    """A SELECT of no rows with these (name, DuckDB type) columns: an input's or a staged table's shape, for binding."""
    selected = ", ".join(f"CAST(NULL AS {type_}) AS {quote(name)}" for name, type_ in columns) or "NULL AS mesh_nothing"
    return f"SELECT {selected} WHERE false"
