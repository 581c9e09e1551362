"""A run's SQLite databases kept open while it goes, so that SQLite keeps their write-ahead logs.

Dagster's SQLite storage opens a new connection for each event it stores and closes it after. In WAL mode, the last
connection to close checkpoints the log into the database and deletes it, so every event pays a checkpoint, its
syncs and a new log: a run of 335 daily partitions stores ~700 events, each into the run's own database and the
index (on two cores: ~7,500 fdatasync calls for the demo's sales run). A connection held open by the run's process
makes no close the last one: commits append to the log, which SQLite checkpoints as it grows (every 1,000 pages)
and once when the run ends. Nothing about durability changes: each commit is synced as before (~3,100 calls).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

# The databases of Dagster's default SQLite storage, under the instance folder, that every run writes.
SHARED = ("history/runs.db", "history/runs/index.db")


class OpenDatabases:
    """Read connections to SQLite databases, each made to attach the log (one read) and then left idle."""

    def __init__(self) -> None:
        self.connections: list[sqlite3.Connection] = []

    def hold(self, path: Path) -> None:
        """Keep `path` open, when it is a database that exists (never created here)."""
        if not path.is_file():
            return
        with contextlib.suppress(sqlite3.Error):
            connection = sqlite3.connect(path)  # read-write: a read-only one cannot make the log when there is none
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # attaches the log and its index
            self.connections.append(connection)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections.clear()


@contextlib.contextmanager
def databases_held_open(home: Path) -> Iterator[OpenDatabases]:
    """The instance's shared SQLite databases under `home` held open (none on PostgreSQL); the run's own database
    is added once Dagster has made it (`run_database`)."""
    held = OpenDatabases()
    try:
        for name in SHARED:
            held.hold(home / name)
        yield held
    finally:
        held.close()


def run_database(home: Path, run_id: str) -> Path:
    """Where Dagster's SQLite storage keeps a run's events."""
    return home / "history" / "runs" / f"{run_id}.db"
