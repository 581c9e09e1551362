"""A recipe's inputs as DuckDB tables, typed from their contracts as the product's domain reads them.

What a recipe needs to run, or to be described, without a materialized mesh: one TEMP table per input,
named by its alias, with the columns and types of the input's contract as the reading domain receives
it (`governance.access.contract_as_seen_by`) — a personal column masked for it is its keyed token
(text), a dropped one is gone — empty (enough for DuckDB to bind a query and say what it outputs:
`output_schema`), or holding the rows a unit test gives for that alias (`unit_tests`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mesh_platform.core.errors import MeshError
from mesh_platform.core.sql import quote
from mesh_platform.governance.access import contract_as_seen_by, decide
from mesh_platform.governance.agreements import within_agreements

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog
    from mesh_platform.contract.model import Contract
    from mesh_platform.core.inputs import ProductInput

Rows = Sequence[Mapping[str, Any]]


class InputRowsError(MeshError):
    """Given rows that do not fit their input; `path` says where: (alias,), (alias, row) or (alias, row, column)."""

    def __init__(self, message: str, path: tuple[str | int, ...]):
        super().__init__(message)
        self.path = path


def input_tables(
    connection: duckdb.DuckDBPyConnection,
    inputs: Iterable[ProductInput],
    catalog: Catalog,
    domain: str,
    rows: Mapping[str, Rows] | None = None,
    reader: str = "the product",
) -> dict[str, Contract]:
    """Create a TEMP table per input in `connection`, typed as `domain` reads the input, holding `rows` of its alias
    (columns a row leaves out are NULL; none given: empty). Returns each alias's contract as `domain` sees it.

    Raises `AddressError` for an input the catalog does not know, `AccessDeniedError` for one `domain` may not read,
    `InputRowsError` for rows that do not fit (`reader` names whose inputs they are)."""
    inputs, rows = list(inputs), rows or {}
    aliases = [item.alias for item in inputs]
    if unknown := [alias for alias in rows if alias not in aliases]:
        message = f"'{unknown[0]}' is no input of {reader} (its inputs: {', '.join(aliases) or 'none'})"
        raise InputRowsError(message, (unknown[0],))
    seen = {}
    for item in inputs:
        read = catalog.product(item.address).contract
        today = dt.datetime.now(dt.UTC).date()  # the consumer's agreements in force: the columns they cover, as today
        contract = contract_as_seen_by(read, domain, within_agreements(decide(read, domain), read, catalog.agreements, today))
        columns = ", ".join(f"{quote(c.name)} {c.physical_type}" for c in contract.columns)
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {quote(item.alias)} ({columns})")
        for index, row in enumerate(rows.get(item.alias) or ()):
            _insert(connection, item.alias, contract, index, row)
        seen[item.alias] = contract
    return seen


def _insert(connection: duckdb.DuckDBPyConnection, alias: str, contract: Contract, index: int, row: Mapping[str, Any]) -> None:
    import duckdb

    types = {c.name: c.physical_type for c in contract.columns}
    if unknown := [name for name in row if name not in types]:
        message = f"{contract.address} as read here has no column '{unknown[0]}' (its columns: {', '.join(types)})"
        raise InputRowsError(message, (alias, index, unknown[0]))
    if not row:
        connection.execute(f"INSERT INTO {quote(alias)} DEFAULT VALUES")
        return
    names = list(row)
    try:
        insert = f"INSERT INTO {quote(alias)} ({', '.join(map(quote, names))}) VALUES ({', '.join('?' for _ in names)})"
        connection.execute(insert, [row[n] for n in names])
    except duckdb.Error as error:
        for name in names:  # which value it was: DuckDB's message does not say
            try:
                connection.execute(f"SELECT CAST(? AS {types[name]})", [row[name]]).fetchall()
            except duckdb.Error as cast:
                message = f"{row[name]!r} is no {types[name]} ({str(cast).splitlines()[0]})"
                raise InputRowsError(message, (alias, index, name)) from None
        raise InputRowsError(f"the row does not fit {contract.address}: {str(error).splitlines()[0]}", (alias, index)) from None
