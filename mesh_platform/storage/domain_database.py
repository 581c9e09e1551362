"""A domain's private DuckDB workspace, where its products are computed.

Schemas inside the file:
  staging   the output of the build in progress (kept after a failed build for inspection)
  products  the domain's copy of each product's last published version
DuckDB admits one writing process per file; the product assets of a domain share
a Dagster concurrency pool (`pool_name`) so only one step holds the file at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.storage.sql_functions import register_sql_functions

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

STAGING = "staging"
PRODUCTS = "products"


def pool_name(domain: str) -> str:
    """The Dagster concurrency pool guarding a domain's DuckDB file."""
    return f"mesh_duckdb_{domain}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class DomainDatabase:
    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(str(self.path))
        try:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {STAGING}; CREATE SCHEMA IF NOT EXISTS {PRODUCTS};")
            register_sql_functions(connection)
            yield connection
        finally:
            connection.close()

    @staticmethod
    def stage(connection: duckdb.DuckDBPyConnection, product: str, select_sql: str) -> str:
        """Write the build's output aside as `staging.<product>`; return the table name."""
        table = f"{STAGING}.{quote(product)}"
        connection.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
        return table

    @staticmethod
    def staged_arrow(connection: duckdb.DuckDBPyConnection, product: str) -> pa.Table:
        return connection.table(f"{STAGING}.{quote(product)}").to_arrow_table()

    @staticmethod
    def promote(connection: duckdb.DuckDBPyConnection, product: str) -> None:
        """After a publish: the staged table becomes the domain's copy of the product."""
        connection.execute("BEGIN TRANSACTION")
        connection.execute(f"CREATE OR REPLACE TABLE {PRODUCTS}.{quote(product)} AS FROM {STAGING}.{quote(product)}")
        connection.execute(f"DROP TABLE {STAGING}.{quote(product)}")
        connection.execute("COMMIT")
