"""A recipe's inputs as DuckDB tables, typed from their contracts as the product's domain reads them.

Each input becomes a table named by its alias, with the columns its contract promises as
`domain` receives them (`governance.access.contract_as_seen_by`): a masked personal
column is its keyed token (text), a dropped one is gone. The tables are empty: enough for
DuckDB to bind a query and say what it outputs, with no row read; temporary, so they
belong to the connection (a cursor) that made them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mesh_platform.core.sql import quote
from mesh_platform.governance.access import contract_as_seen_by

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog
    from mesh_platform.contract.model import Contract
    from mesh_platform.core.inputs import ProductInput


def input_tables(
    connection: duckdb.DuckDBPyConnection, inputs: Iterable[ProductInput], catalog: Catalog, domain: str
) -> dict[str, Contract]:
    """Create each input as an empty table named by its alias; return each alias's contract as `domain` reads it.

    An input the catalog does not know raises `AddressError`; one `domain` may not read, `AccessDeniedError`."""
    seen = {}
    for item in inputs:
        contract = contract_as_seen_by(catalog.product(item.address).contract, domain)
        columns = ", ".join(f"{quote(c.name)} {c.physical_type}" for c in contract.columns)
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {quote(item.alias)} ({columns})")
        seen[item.alias] = contract
    return seen
