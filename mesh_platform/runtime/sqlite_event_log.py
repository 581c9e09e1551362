"""Dagster's SQLite event log with two fixed costs removed: the embedded instance's `event_log_storage`.

Dagster's `SqliteEventLogStorage` keeps each run's events in a database of its own (`history/runs/<run id>.db`)
and mirrors asset events into an index. Two things it does on every run and every event cost more than the
events themselves on a small build:

- a new run's database is created by SQLAlchemy's `create_all` and stamped by alembic: ~65 ms on two cores,
  on the critical path of every run (the run's first event waits for it). Here it is a copy of a template
  database that Dagster itself created and stamped once per Dagster version, under
  `history/runs/.template/` (outside the `*.db` names Dagster reads as runs): ~1 ms.
- each connection builds a new SQLAlchemy engine (`create_engine` per event, twice for an asset event). Here
  each database's engine is made once per process and kept. The engines keep no connection open (NullPool, as
  Dagster's): a forked process shares no open database file, and nothing changes for locking between the
  processes that write one instance (the UI, the daemon, runs).

- a run of many partitions stores an event per partition planned and one per partition materialized, each
  committed alone (in the run's database and the index). Dagster hands such events over in batches when
  `DAGSTER_EVENT_BATCH_SIZE` is set (the mesh sets it for the processes of a SQLite instance:
  `Deployment.instance_environment`); here each batch is stored event by event as Dagster stores it, in one
  transaction per database.

Everything else is Dagster's: the schema, the queries, the watchers that follow a run's events, migrations
(`dagster instance migrate` upgrades this storage as it does Dagster's own).

Dagster offers no public import of its SQLite event log storage (its documentation names
`dagster._core.storage.event_log.SqliteEventLogStorage`), so it is imported from there.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster import Field
from dagster._config import StringSource  # no public import of the config type Dagster's storages declare
from dagster._core.storage.event_log import SqliteEventLogStorage  # no public import (see above)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME  # no public name for its shard
from dagster._core.storage.sql import create_engine  # no public import: the engine its storages open
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS  # no public import of its busy timeout
from sqlalchemy.pool import NullPool

from mesh_platform.core.whole_files import copy_into_place

if TYPE_CHECKING:
    from dagster._serdes import ConfigurableClassData
    from sqlalchemy.engine import Connection, Engine

# Engines kept per process: the index, and the runs a process writes or reads at a time (the UI reads many).
ENGINES_KEPT = 16
TEMPLATE_FOLDER = ".template"


class MeshSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log storage whose new run databases are copies of a template and whose engines
    are kept (see the module's text). In `dagster.yaml` without configuration: its folder is the instance's
    `history/runs`, where Dagster keeps its own; a `base_dir` names another."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._batch = threading.local()  # a batch's open connections, by database, in the thread writing it
        self._tables: set[str] = set()
        self._inst_data = inst_data
        if base_dir is not None:
            super().__init__(base_dir, inst_data=inst_data)

    def register_instance(self, instance: dg.DagsterInstance) -> None:
        """Without a `base_dir` (as the mesh's dagster.yaml names it), the event log is where Dagster's own would be
        in the instance's folder: known only now, and never another folder's when the instance folder is copied
        or moved."""
        if not hasattr(self, "_base_dir"):
            super().__init__(os.path.join(instance.root_directory, "history", "runs"), inst_data=self._inst_data)
        super().register_instance(instance)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> MeshSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch: dict[str, Connection] | None = getattr(self._batch, "connections", None)
        if batch is not None:  # within store_event_batch: the batch's transaction on this database
            if shard not in batch:
                with self._db_lock:
                    batch[shard] = self._initialized_engine(shard).connect()
                batch[shard].begin()
            yield batch[shard]
            return
        with self._db_lock, self._initialized_engine(shard).connect() as connection, connection.begin():
            yield connection

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        """Each event stored as `store_event` stores it, all of them in one transaction per database: a run's
        planned partitions, or the materializations of a partition range, commit once instead of once or twice
        per partition. The index's row of each asset is written once, from the batch's last event of each kind
        (as Dagster's PostgreSQL storage does): it holds the last materialization and run, which later events of
        the batch would overwrite. On an error nothing of the batch is kept (Dagster then stores the events one
        by one)."""
        connections: dict[str, Connection] = {}
        latest: dict[tuple[str, str], tuple[dg.EventLogEntry, int]] = {}
        self._batch.connections, self._batch.latest = connections, latest
        try:
            for event in events:
                self.store_event(event)
            self._batch.latest = None
            if latest:
                with self.index_connection() as connection:
                    for event, event_id in latest.values():
                        super()._store_asset_event(connection, event, event_id)
            for connection in connections.values():
                connection.commit()
        except BaseException:
            for connection in connections.values():
                with contextlib.suppress(Exception):
                    connection.rollback()
            raise
        finally:
            self._batch.connections = self._batch.latest = None
            for connection in connections.values():
                connection.close()

    def _store_asset_event(self, conn: Connection, event: dg.EventLogEntry, event_id: int) -> None:
        """The asset's row in the index, at once; in a batch, once the batch is stored (see store_event_batch)."""
        latest: dict[tuple[str, str], tuple[dg.EventLogEntry, int]] | None = getattr(self._batch, "latest", None)
        if latest is None or event.dagster_event is None or event.dagster_event.asset_key is None:
            super()._store_asset_event(conn, event, event_id)
            return
        kind = (event.dagster_event.asset_key.to_string(), event.dagster_event.event_type_value)
        latest.pop(kind, None)  # the last of each kind, in the order the batch has them
        latest[kind] = (event, event_id)

    def has_table(self, table_name: str) -> bool:
        """Whether the index has a table (a migration adds tables, none takes one away: a yes is kept). Dagster
        asks before storing each asset event's tags, each time with a new engine."""
        if table_name in self._tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables.add(table_name)
        return found

    def _initialized_engine(self, shard: str) -> Engine:
        """The engine of `shard`, its database made first when this process has not seen it (under `_db_lock`)."""
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            if shard == INDEX_SHARD_NAME or not self._created_from_template(shard):
                self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    def _engine(self, shard: str) -> Engine:
        """The engine of one database, made once and kept (the least recently used one beyond ENGINES_KEPT goes)."""
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard), poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
            self._engines[shard] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    def _created_from_template(self, shard: str) -> bool:
        """Whether the run database `shard` was missing and is now a copy of the template (made first when there
        is none). False when it exists already, so Dagster checks it as it always does. The copy is made under
        a name of its own and linked into place: a database another process made meanwhile is never replaced."""
        path = self.path_for_shard(shard)
        if os.path.exists(path):
            return False
        copy_into_place(Path(self.run_template()), Path(path))  # else made by another process: Dagster's, at the same head
        return True

    def run_template(self) -> str:
        """An empty run database at this Dagster version's schema head, made by Dagster itself once."""
        folder = os.path.join(self._base_dir, TEMPLATE_FOLDER)
        template = os.path.join(folder, f"run-dagster-{dg.__version__}.sqlite")
        if not os.path.exists(template):
            os.makedirs(folder, exist_ok=True)
            partial = f"{template}.{uuid.uuid4().hex}.partial"
            engine = create_engine(f"sqlite:///{partial}", poolclass=NullPool)
            try:
                self._initdb(engine)  # Dagster's own: create_all, WAL mode, the alembic stamp
            finally:
                engine.dispose()
            os.replace(partial, template)  # the last connection closed: no log beside it, the file is whole
        return template

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
