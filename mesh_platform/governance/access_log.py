"""The access log: every read of a product through the platform — who, what, which version, when (a domain's
own builds reading its products included, as governance.reads records them).

Kept in `MESH_HOME/access_log.sqlite` in the embedded shape (SQLite: safe with several processes
writing at once — builds of different domains run in parallel — and queryable with any SQLite
tool), and in the instance's PostgreSQL database in a deployment that has one, so that reads made
by builds on any worker or pod land in one log. Denied reads are recorded too. `mesh access log`
prints it. Both through SQLAlchemy Core (the toolkit Dagster's own storage uses).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mesh_platform.core.errors import MeshError
from mesh_platform.core.owner_only import private_folder

if TYPE_CHECKING:
    import sqlalchemy as sa

    from mesh_platform.core.address import Address

TABLE = "reads"
CONNECT_SECONDS = 10  # a PostgreSQL server that does not answer: an error after this long, not a hang
READERS_WINDOW = dt.timedelta(days=30)  # a product's consumers lately: what mesh show lists and a change's impact counts


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


@dataclass(frozen=True)
class Readership:
    """One consumer domain's granted reads of a product over a window: how many, the last, and how it read."""

    consumer: str
    reads: int
    last_at: str
    builds: int  # reads by builds of the consumer's products; the rest are ad hoc (mesh query, the Python API)
    json_properties: ClassVar[tuple[str, ...]] = ("ad_hoc",)

    @property
    def ad_hoc(self) -> int:
        return self.reads - self.builds


class AccessLog:
    """The log in one SQLite file (`MESH_HOME/access_log.sqlite` by default), or in a PostgreSQL database
    when `target` is a `postgresql://` URL."""

    def __init__(self, target: Path | str):
        self.target = target
        self.url = str(target) if str(target).startswith(("postgresql:", "postgresql+")) else None
        self.file = None if self.url else Path(target)

    def __repr__(self) -> str:
        return f"AccessLog({self.file or 'PostgreSQL'})"  # never the URL: it may hold a password

    def _engine(self) -> sa.Engine:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        if self.url is not None:
            return sa.create_engine(self.url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_SECONDS})
        file = Path(self.target)
        private_folder(file.parent)
        engine = sa.create_engine(f"sqlite:///{file}", connect_args={"timeout": 60}, poolclass=NullPool)
        sa.event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA journal_mode=WAL"))
        return engine

    def _table(self, engine: sa.Engine) -> sa.Table:
        import sqlalchemy as sa

        table = _reads_table()
        try:
            table.metadata.create_all(engine, checkfirst=True)
        except sa.exc.OperationalError as error:
            if self.url is not None:  # the deployment's database does not answer: say so, not a traceback
                reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
                raise MeshError(
                    f"the access log's PostgreSQL database (the deployment's instance.postgres_url) cannot be reached: {reason}"
                ) from None
            table.metadata.create_all(engine, checkfirst=True)  # SQLite: another process created it at this moment
        except sa.exc.DBAPIError:  # another process created it at this moment
            table.metadata.create_all(engine, checkfirst=True)
        return table

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
        row = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "consumer": consumer,
            "product": product,
            "version": version,
            "outcome": outcome,
            "hashed": json.dumps(list(hashed)),
            "dropped": json.dumps(list(dropped)),
            "clear": json.dumps(list(clear)),
            "via": via,
            "user": _user(),
        }
        if self.file is not None and _inserted_into_sqlite(self.file, row):
            return
        engine = self._engine()
        try:
            table = self._table(engine)
            with engine.begin() as connection:
                connection.execute(table.insert().values(**row))
        finally:
            engine.dispose()

    def entries(self, consumer: str | None = None, product: str | None = None, limit: int | None = None) -> list[AccessRecord]:
        """Recorded reads, oldest first (the last `limit` when given), filtered by consumer or product."""
        import sqlalchemy as sa

        if self.file is not None and not self.file.exists():
            return []
        engine = self._engine()
        try:
            table = self._table(engine)
            query = sa.select(*(table.c[name] for name in _FIELDS)).order_by(table.c.id.desc())
            if consumer:
                query = query.where(table.c.consumer == consumer)
            if product:
                query = query.where(sa.or_(table.c.product == product, table.c.product.like(product + "@%")))
            if limit:
                query = query.limit(int(limit))
            with engine.connect() as connection:
                rows = connection.execute(query).all()
        finally:
            engine.dispose()
        return [
            AccessRecord(at, consumer_, product_, version, outcome, json.loads(h), json.loads(d), json.loads(c), via, user)
            for at, consumer_, product_, version, outcome, h, d, c, via, user in reversed(rows)
        ]

    def consumers(self, product: Address, now: dt.datetime | None = None) -> tuple[dt.datetime, list[Readership]]:
        """The other domains that read `product` in the last `READERS_WINDOW` (its own domain's builds read it too,
        and are logged: they are no consumers), with the window's start."""
        since = (now or dt.datetime.now(dt.UTC)) - READERS_WINDOW
        return since, [r for r in self.readers(str(product.unversioned()), since) if r.consumer != product.domain]

    def readers(self, product: str, since: dt.datetime) -> list[Readership]:
        """The consumer domains granted reads of `product` (any major version) since `since`, most reads first."""
        import sqlalchemy as sa

        if self.file is not None and not self.file.exists():
            return []
        engine = self._engine()
        try:
            table = self._table(engine)
            by_build = sa.case((table.c.via.like("build of %"), 1), else_=0)
            query = (
                sa.select(table.c.consumer, sa.func.count(), sa.func.max(table.c.at), sa.func.sum(by_build))
                .where(sa.or_(table.c.product == product, table.c.product.like(product + "@%")))
                .where(table.c.outcome == "granted", table.c.at >= since.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
                .group_by(table.c.consumer)
            )
            with engine.connect() as connection:
                rows = connection.execute(query).all()
        finally:
            engine.dispose()
        return sorted((Readership(c, int(n), last, int(b or 0)) for c, n, last, b in rows), key=lambda r: (-r.reads, r.consumer))


_FIELDS = ("at", "consumer", "product", "version", "outcome", "hashed", "dropped", "clear", "via", "user")


def _reads_table() -> sa.Table:
    """The log's one table (the same columns as the SQLite files written before PostgreSQL was supported)."""
    import sqlalchemy as sa

    return sa.Table(
        TABLE,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),  # UTC, ISO 8601
        sa.Column("consumer", sa.Text, nullable=False),  # the reading domain, or '(no domain)'
        sa.Column("product", sa.Text, nullable=False),  # the address read
        sa.Column("version", sa.Integer),  # the port version read (NULL when denied)
        sa.Column("outcome", sa.Text, nullable=False),  # granted | denied
        sa.Column("hashed", sa.Text, nullable=False),  # JSON list of personal columns hashed
        sa.Column("dropped", sa.Text, nullable=False),  # JSON list of personal columns dropped
        sa.Column("clear", sa.Text, nullable=False),  # JSON list of personal columns granted in clear
        sa.Column("via", sa.Text, nullable=False),  # what read: a build (address and run), the Python API, a query
        sa.Column("user", sa.Text, nullable=False),  # the operating-system user of the reading process
    )


def _inserted_into_sqlite(file: Path, row: Mapping[str, object]) -> bool:
    """Whether `row` is now in the log's SQLite file, inserted through Python's sqlite3 (the driver SQLAlchemy uses
    there) without importing SQLAlchemy (~0.3 s of a consumer's first read); False where the file or its table is
    not there yet, for SQLAlchemy to create first."""
    import sqlite3

    if not file.exists():
        return False
    names = ", ".join(f'"{name}"' for name in row)
    try:
        with contextlib.closing(sqlite3.connect(file, timeout=60)) as connection, connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"INSERT INTO {TABLE} ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return False
        raise
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "unknown"
