"""A domain's private DuckDB workspace, where its products are computed.

A build's output is staged once, where checks scan it and the port's commit takes it from. Where it can be
(`storage.staged_files`), DuckDB writes it straight to Parquet files beside the port, which the commit then
names: the rows are written once, streamed, never held in memory; the staged table is then a temporary view of
those files. Otherwise it is a temporary table of the build's connection, in memory, spilled by DuckDB to its
temporary folder beside the file past its `memory_limit` (MESH_DUCKDB_MEMORY_LIMIT), which the port's Delta
commit streams out in record batches. Either goes once published (the port is the product's one copy). A failed
build keeps it for inspection: copied into the file's `staging` schema (`staging.<product>`), which the next
publish of the product drops. Staging in the file itself would cost its compression and checkpoint for every
build: 2.1-2.4 s against 0.8-0.9 s for the 2M rows of the jaffle shop's order_items. DuckDB admits one writing
process per file; the product assets of a domain share a Dagster concurrency pool (`pool_name`) so only one step
holds the file at a time. The connection itself comes from the platform's `DomainDuckDB` resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.sql import keyed_token, quote
from mesh_platform.storage import staged_files
from mesh_platform.storage.sandbox import lock_down
from mesh_platform.storage.sql_functions import register_sql_functions

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from mesh_platform.storage.staged_files import StagedFiles

STAGING = "staging"  # the file's schema holding what failed builds staged, for inspection
STAGED_PREFIX = "mesh_staged_"  # a staged table's name among the connection's temporary tables and views
FORMER_COPIES = "products"  # where platforms before 0.x kept a second copy of each product: dropped on publish
BATCH_ROWS = 122_880  # rows per Arrow record batch streamed to the port (DuckDB's vector size × 60), at most
BATCH_BYTES = 64 * 1024 * 1024  # and about this much Arrow data per batch, however wide a row is
VECTOR_ROWS = 2048  # DuckDB's vector: a batch holds a whole number of them, one at least


def batch_rows(relation: duckdb.DuckDBPyRelation) -> int:
    """Rows per record batch for streaming `relation`: `BATCH_ROWS`, fewer when its rows are wide.

    A batch's rows are fixed while its width is not: 122,880 rows of 5,000 BIGINT columns are 4.9 GB of Arrow
    data, and the port's writers hold a few batches at once. The row width is measured on a vector of rows."""
    sample = relation.limit(VECTOR_ROWS).to_arrow_table()
    if sample.num_rows == 0:
        return BATCH_ROWS
    fitting = BATCH_BYTES * sample.num_rows // max(sample.nbytes, 1)
    return max(VECTOR_ROWS, min(BATCH_ROWS, fitting // VECTOR_ROWS * VECTOR_ROWS))


def pool_name(domain: str) -> str:
    """The Dagster concurrency pool guarding a domain's DuckDB file."""
    return f"mesh_duckdb_{domain}"


@dataclass(frozen=True)
class DomainWorkspace:
    """A connection to a domain's DuckDB file, ready for builds: its schemas, the platform's SQL functions,
    and the sandbox every recipe's SQL runs in (no file but its `readable` folders, see `storage.sandbox`)."""

    connection: duckdb.DuckDBPyConnection
    path: str  # the database file, for messages

    @classmethod
    def prepare(
        cls, connection: duckdb.DuckDBPyConnection, path: str, readable: Iterable[Path] = (), files: Iterable[str] = ()
    ) -> DomainWorkspace:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {STAGING}")
        register_sql_functions(connection)
        return cls(lock_down(connection, readable, files), path)

    @staticmethod
    def staged(name: str) -> str:
        """The SQL name of the staged table `name` (a temporary table of the build's connection)."""
        return f"temp.main.{quote(STAGED_PREFIX + name)}"

    @staticmethod
    def kept(name: str) -> str:
        """The SQL name, in the domain's file, of what a failed build staged as `name`."""
        return f"{STAGING}.{quote(name)}"

    def stage(self, product: str, select_sql: str) -> str:
        """Write the build's output aside as the staged table `product`; return its SQL name."""
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {self.staged(product)} AS {select_sql}")
        return self.staged(product)

    def stage_files(self, product: str, select_sql: str, port_folder: Path) -> StagedFiles | None:
        """Write the build's output as Parquet files beside its port (`staged_files.write`), the staged table `product`
        a view of them; None (nothing staged) when its columns take the staged table instead."""
        staged = staged_files.write(self.connection, select_sql, port_folder)
        if staged is not None:
            self.connection.execute(f"CREATE OR REPLACE TEMP VIEW {self.staged(product)} AS SELECT * FROM {staged.scan_sql()}")
        return staged

    def stage_relation(self, name: str, relation: duckdb.DuckDBPyRelation) -> str:
        """Write `relation` aside as the staged table `name` (what it reads may change before it is used); return `name`."""
        view = f"mesh_staging_{name}"
        self.connection.register(view, relation)
        try:
            self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {self.staged(name)} AS SELECT * FROM {quote(view)}")
        finally:
            self.connection.unregister(view)
        return name

    def stage_changes(self, product: str, suffix: str, changed: duckdb.DuckDBPyRelation, key: list[str], deleted: str) -> str:
        """An incremental build's changes, staged as `<product><suffix>`: the staged rows of the keys
        `changed` marks as changed, and the key alone of those it marks `deleted`; return that name."""
        staged, name = self.staged(product), f"{product}{suffix}"
        view = f"mesh_changed_{product}"
        self.connection.register(view, changed)
        types = dict(zip(self.connection.table(staged).columns, map(str, self.connection.table(staged).types)))
        matched = " AND ".join(f"s.{quote(k)} = c.{quote(k)}" for k in key)
        keys = ", ".join(f"CAST(c.{quote(k)} AS {types[k]}) AS {quote(k)}" for k in key)
        try:
            self.connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.staged(name)} AS "
                f"SELECT s.*, false AS {quote(deleted)} FROM {staged} AS s SEMI JOIN (SELECT * FROM {quote(view)} "
                f"WHERE NOT {quote(deleted)}) AS c ON {matched} "
                f"UNION ALL BY NAME SELECT {keys}, true AS {quote(deleted)} FROM {quote(view)} AS c WHERE c.{quote(deleted)}"
            )
        finally:
            self.connection.unregister(view)
        return name

    def keep(self, names: Iterable[str]) -> None:
        """After a failed build: what it staged as `names` copied into the domain's file (`kept`), for inspection."""
        for name in names:
            if self._staged_kind(name) is not None:
                self.connection.execute(f"CREATE OR REPLACE TABLE {self.kept(name)} AS SELECT * FROM {self.staged(name)}")

    def _staged_kind(self, name: str) -> str | None:
        """TABLE or VIEW (staged as files), as DROP names it; None when nothing is staged as `name`."""
        found = self.connection.execute(
            "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = $name "
            "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = $name",
            {"name": STAGED_PREFIX + name},
        ).fetchall()
        return found[0][0] if found else None

    def staged_table(self, name: str) -> pa.Table:
        """A small staged table (e.g. an incremental build's record of applied events) as Arrow data."""
        return self.connection.table(self.staged(name)).to_arrow_table()

    def staged_rows(self, product: str) -> int:
        return int(self.connection.execute(f"SELECT count(*) FROM {self.staged(product)}").fetchall()[0][0])

    def tokenized_batches(self, product: str, personal: tuple[str, ...], key: str) -> pa.RecordBatchReader:
        """The staged rows as the port publishes them, the `personal` columns as keyed tokens: a stream
        of Arrow record batches, never the whole table in Python's memory."""
        staged = self.connection.table(self.staged(product))
        columns = [f"{keyed_token(quote(c), key)} AS {quote(c)}" if c in personal else quote(c) for c in staged.columns]
        published = staged.project(", ".join(columns))
        return published.to_arrow_reader(batch_rows(published))

    def personal_values(self, product: str, personal: tuple[str, ...], key: str) -> dict[str, pa.Table]:
        """(token, value) of every distinct clear value of each of the staged `personal` columns, by column: for
        the vault, which keeps one table per column."""
        staged = self.staged(product)
        return {
            column: self.connection.sql(
                f"SELECT DISTINCT {keyed_token(quote(column), key)} AS token, CAST({quote(column)} AS VARCHAR) AS value "
                f"FROM {staged} WHERE {quote(column)} IS NOT NULL"
            ).to_arrow_table()
            for column in personal
        }

    def published(self, product: str) -> None:
        """After a publish: the staged table goes, and with it what an earlier failed build kept (and a former
        platform's second copy)."""
        if (kind := self._staged_kind(product)) is not None:
            self.connection.execute(f"DROP {kind} {self.staged(product)}")
        self.connection.execute(f"DROP TABLE IF EXISTS {self.kept(product)}")
        if self.connection.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [FORMER_COPIES]).fetchall()[0][
            0
        ]:
            self.connection.execute(f"DROP TABLE IF EXISTS {FORMER_COPIES}.{quote(product)}")
