"""The access log: every read of a product from outside its domain — who, what, which version, when.

Kept in `MESH_HOME/access_log.sqlite` (SQLite from the standard library: safe with
several processes writing at once — builds of different domains run in parallel —
and queryable with any SQLite tool). Denied reads are recorded too. `mesh access log`
prints it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,           -- UTC, ISO 8601
    consumer TEXT NOT NULL,     -- the reading domain, or '(no domain)'
    product TEXT NOT NULL,      -- the address read
    version INTEGER,            -- the port version read (NULL when denied)
    outcome TEXT NOT NULL,      -- granted | denied
    hashed TEXT NOT NULL,       -- JSON list of personal columns hashed
    dropped TEXT NOT NULL,      -- JSON list of personal columns dropped
    clear TEXT NOT NULL,        -- JSON list of personal columns granted in clear
    via TEXT NOT NULL,          -- what read: a build (address and run), the Python API, a query
    user TEXT NOT NULL          -- the operating-system user of the reading process
)
"""


@dataclass(frozen=True)
class AccessRecord:
    at: str
    consumer: str
    product: str
    version: int | None
    outcome: str
    hashed: list[str]
    dropped: list[str]
    clear: list[str]
    via: str
    user: str

    def to_json(self) -> dict:
        return asdict(self)


class AccessLog:
    """The log in one SQLite file (`MESH_HOME/access_log.sqlite` by default)."""

    def __init__(self, file: Path):
        self.file = Path(file)

    def _connect(self) -> sqlite3.Connection:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.file, timeout=60)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(_SCHEMA)
        return connection

    def record(
        self,
        consumer: str,
        product: str,
        version: int | None,
        outcome: str,
        via: str,
        hashed: tuple[str, ...] = (),
        dropped: tuple[str, ...] = (),
        clear: tuple[str, ...] = (),
    ) -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        row = (at, consumer, product, version, outcome, json.dumps(list(hashed)), json.dumps(list(dropped)), json.dumps(list(clear)), via, _user())
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO reads (at, consumer, product, version, outcome, hashed, dropped, clear, via, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def entries(self, consumer: str | None = None, product: str | None = None, limit: int | None = None) -> list[AccessRecord]:
        """Recorded reads, oldest first (the last `limit` when given), filtered by consumer or product."""
        if not self.file.exists():
            return []
        where, arguments = [], []
        if consumer:
            where.append("consumer = ?")
            arguments.append(consumer)
        if product:
            where.append("(product = ? OR product LIKE ?)")
            arguments += [product, product + "@%"]
        sql = "SELECT at, consumer, product, version, outcome, hashed, dropped, clear, via, user FROM reads"
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with closing(self._connect()) as connection:
            rows = connection.execute(sql, arguments).fetchall()
        return [
            AccessRecord(at, consumer_, product_, version, outcome, json.loads(h), json.loads(d), json.loads(c), via, user)
            for at, consumer_, product_, version, outcome, h, d, c, via, user in reversed(rows)
        ]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "unknown"
