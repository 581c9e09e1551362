"""A domain's private DuckDB workspace, where its products are computed.

The file holds one schema, `staging`: the output of the build in progress — the only
materialized copy a build makes. Checks scan it, the port's Delta commit streams it out
in record batches, and it is dropped once published (the port is the product's one
copy); after a failed build it stays for inspection. DuckDB admits one writing process
per file; the product assets of a domain share a Dagster concurrency pool (`pool_name`)
so only one step holds the file at a time. The connection itself comes from the
platform's `DomainDuckDB` resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.sql import keyed_token, quote
from mesh_platform.storage.sandbox import lock_down
from mesh_platform.storage.sql_functions import register_sql_functions

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

STAGING = "staging"
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

    def stage(self, product: str, select_sql: str) -> str:
        """Write the build's output aside as `staging.<product>`; return the table name."""
        table = f"{STAGING}.{quote(product)}"
        self.connection.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
        return table

    def stage_relation(self, name: str, relation: duckdb.DuckDBPyRelation) -> str:
        """Write `relation` aside as `staging.<name>` (what it reads may change before it is used); return `name`."""
        view = f"mesh_staging_{name}"
        self.connection.register(view, relation)
        try:
            self.connection.execute(f"CREATE OR REPLACE TABLE {STAGING}.{quote(name)} AS SELECT * FROM {quote(view)}")
        finally:
            self.connection.unregister(view)
        return name

    def stage_changes(self, product: str, suffix: str, changed: duckdb.DuckDBPyRelation, key: list[str], deleted: str) -> str:
        """An incremental build's changes, staged as `staging.<product><suffix>`: the staged rows of the keys
        `changed` marks as changed, and the key alone of those it marks `deleted`; return that name."""
        staged, name = f"{STAGING}.{quote(product)}", f"{product}{suffix}"
        view = f"mesh_changed_{product}"
        self.connection.register(view, changed)
        types = dict(zip(self.connection.table(staged).columns, map(str, self.connection.table(staged).types)))
        matched = " AND ".join(f"s.{quote(k)} = c.{quote(k)}" for k in key)
        keys = ", ".join(f"CAST(c.{quote(k)} AS {types[k]}) AS {quote(k)}" for k in key)
        try:
            self.connection.execute(
                f"CREATE OR REPLACE TABLE {STAGING}.{quote(name)} AS "
                f"SELECT s.*, false AS {quote(deleted)} FROM {staged} AS s SEMI JOIN (SELECT * FROM {quote(view)} "
                f"WHERE NOT {quote(deleted)}) AS c ON {matched} "
                f"UNION ALL BY NAME SELECT {keys}, true AS {quote(deleted)} FROM {quote(view)} AS c WHERE c.{quote(deleted)}"
            )
        finally:
            self.connection.unregister(view)
        return name

    def staged_table(self, name: str) -> pa.Table:
        """A small staged table (e.g. an incremental build's record of applied events) as Arrow data."""
        return self.connection.table(f"{STAGING}.{quote(name)}").to_arrow_table()

    def staged_rows(self, product: str) -> int:
        return int(self.connection.execute(f"SELECT count(*) FROM {STAGING}.{quote(product)}").fetchall()[0][0])

    def tokenized_batches(self, product: str, personal: tuple[str, ...], key: str) -> pa.RecordBatchReader:
        """The staged rows as the port publishes them, the `personal` columns as keyed tokens: a stream
        of Arrow record batches, never the whole table in Python's memory."""
        staged = self.connection.table(f"{STAGING}.{quote(product)}")
        columns = [f"{keyed_token(quote(c), key)} AS {quote(c)}" if c in personal else quote(c) for c in staged.columns]
        published = staged.project(", ".join(columns))
        return published.to_arrow_reader(batch_rows(published))

    def personal_values(self, product: str, personal: tuple[str, ...], key: str) -> dict[str, pa.Table]:
        """(token, value) of every distinct clear value of each of the staged `personal` columns, by column: for
        the vault, which keeps one table per column."""
        staged = f"{STAGING}.{quote(product)}"
        return {
            column: self.connection.sql(
                f"SELECT DISTINCT {keyed_token(quote(column), key)} AS token, CAST({quote(column)} AS VARCHAR) AS value "
                f"FROM {staged} WHERE {quote(column)} IS NOT NULL"
            ).to_arrow_table()
            for column in personal
        }

    def published(self, product: str) -> None:
        """After a publish: the staged table goes (and a former platform's second copy with it)."""
        self.connection.execute(f"DROP TABLE IF EXISTS {STAGING}.{quote(product)}")
        if self.connection.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [FORMER_COPIES]).fetchall()[0][
            0
        ]:
            self.connection.execute(f"DROP TABLE IF EXISTS {FORMER_COPIES}.{quote(product)}")
