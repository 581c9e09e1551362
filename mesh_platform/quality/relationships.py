"""A foreign key checked in DuckDB: the staged rows anti-joined with the rows of the product they reference.

The referenced rows are that product's current port as the checking product's domain may read it,
registered in the build's connection (`product.build` reads it through `governance.reads`); only the
counts and a few orphan values come back to Python. A row with an empty referencing column is not
checked (SQL's MATCH SIMPLE). A referenced column the domain sees as keyed tokens is compared as
tokens: the value itself when it is a token already (a column the product received hashed from an
input), else its token, made once per distinct value. Tokens are the same for the same value, so the
comparison is exact. An explicit ANTI JOIN: DuckDB runs NOT EXISTS as a slower mark join.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh_platform.contract.model import Relationship
from mesh_platform.core.sql import keyed_token, quote
from mesh_platform.quality.in_engine import Counts

if TYPE_CHECKING:
    import duckdb

SAMPLE_SIZE = 5
_ROWS = "mesh_rows"  # how many staged rows a referencing value stands for


@dataclass(frozen=True)
class ReferencedRows:
    """What a relationship check compares with: a table of the build's connection, or why there is none."""

    table: str | None = None  # its SQL name in the connection
    label: str = ""  # what was read, for the check's message: `mesh://customers/profiles version 3`
    tokens: frozenset[str] = frozenset()  # referenced columns that hold keyed tokens for this reader
    key: str = ""  # the key tokens are made with, when there are `tokens`
    error: str | None = None  # the read was refused (access denied…): the check fails and says why
    missing: str | None = None  # nothing is published to compare with yet: the check is not made


def count_orphans(
    relationship: Relationship, connection: duckdb.DuckDBPyConnection, table: str, referenced: ReferencedRows
) -> Counts:
    """The rows of `table` whose filled referencing columns match no row of the referenced table, in Great
    Expectations' terms: the count, its share of the rows with a value, and a few orphan values (distinct)."""
    columns = ", ".join(map(quote, relationship.columns))
    filled = " AND ".join(f"s.{quote(c)} IS NOT NULL" for c in relationship.columns)
    rows, considered = connection.execute(f"SELECT count(*), count(*) FILTER (WHERE {filled}) FROM {table} AS s").fetchall()[0]
    if referenced.tokens.intersection(relationship.references):  # a token costs a SHA-256: one per value, not per row
        keyed = f"SELECT {columns}, count(*) AS {_ROWS} FROM {table} AS s WHERE {filled} GROUP BY ALL"
        orphans = _orphans(relationship, keyed, referenced)
        counted = f"SELECT coalesce(sum({_ROWS}), 0) FROM ({orphans})"
    else:  # a row with an empty value matches nothing and is left out after the join, not filtered before it:
        # DuckDB anti-joins the whole column faster (1.5 s against 2.3 s for 20M rows against 10M)
        orphans = f"SELECT * FROM ({_orphans(relationship, f'SELECT {columns} FROM {table}', referenced)}) AS s WHERE {filled}"
        counted = f"SELECT count(*) FROM ({orphans})"
    count = connection.execute(counted).fetchall()[0][0]
    found = []
    if count:  # a few of them, distinct, only where there are some
        found = connection.execute(f"SELECT DISTINCT {columns} FROM ({orphans}) ORDER BY ALL LIMIT {SAMPLE_SIZE}").fetchall()
    share = count / considered * 100 if considered else None
    many = len(relationship.columns) > 1
    sample: tuple[Any, ...] = tuple(dict(zip(relationship.columns, row, strict=True)) if many else row[0] for row in found)
    return Counts(rows, int(count), share, sample)


def _orphans(relationship: Relationship, rows: str, referenced: ReferencedRows) -> str:
    """SQL of the `rows` (the referencing columns) that no referenced row matches: an anti-join, and for columns
    compared as tokens one more per way of comparing (the value, or its token), each on what the last one left."""
    pairs = list(zip(relationship.columns, relationship.references, strict=True))
    hashed = [index for index, (_, target) in enumerate(pairs) if target in referenced.tokens]
    for as_token in itertools.product((False, True), repeat=len(hashed)):
        tokenized = {index for index, token in zip(hashed, as_token, strict=True) if token}
        condition = " AND ".join(
            f"r.{quote(target)} = {_compared(f's.{quote(column)}', index, hashed, tokenized, referenced.key)}"
            for index, (column, target) in enumerate(pairs)
        )
        rows = f"SELECT s.* FROM ({rows}) AS s ANTI JOIN {referenced.table} AS r ON {condition}"
    return rows


def _compared(value: str, index: int, hashed: list[int], tokenized: set[int], key: str) -> str:
    """A staged value as it meets a referenced column: itself, or as text (a token already), or its token."""
    if index in tokenized:
        return keyed_token(value, key)
    return f"CAST({value} AS VARCHAR)" if index in hashed else value
