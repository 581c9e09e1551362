"""A foreign key checked in DuckDB: the staged rows anti-joined with the rows of the product they reference.

The referenced rows are that product's current port as the checking product's domain may read it,
registered in the build's connection (`product.build` reads it through `governance.reads`); only the
counts and a few orphan values come back to Python. A row with an empty referencing column is not
checked (SQL's MATCH SIMPLE). A referenced column the domain sees as keyed tokens is compared as
tokens: the staged value's token, or the value itself when it is a token already (a column the product
received hashed from an input). Tokens are the same for the same value, so the comparison is exact.
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
    filled = " AND ".join(f"s.{quote(c)} IS NOT NULL" for c in relationship.columns)
    orphan = _orphan(relationship, referenced)
    rows, considered = connection.execute(f"SELECT count(*), count(*) FILTER (WHERE {filled}) FROM {table} AS s").fetchall()[0]
    orphans = connection.execute(f"SELECT count(*) FROM {table} AS s WHERE {filled} AND {orphan}").fetchall()[0][0]
    share = orphans / considered * 100 if considered else None
    sample: tuple[Any, ...] = ()
    if orphans:
        columns = ", ".join(f"s.{quote(c)}" for c in relationship.columns)
        some = f"SELECT DISTINCT {columns} FROM {table} AS s WHERE {filled} AND {orphan} ORDER BY ALL LIMIT {SAMPLE_SIZE}"
        found = connection.execute(some).fetchall()
        many = len(relationship.columns) > 1
        sample = tuple(dict(zip(relationship.columns, row, strict=True)) if many else row[0] for row in found)
    return Counts(rows, orphans, share, sample)


def _orphan(relationship: Relationship, referenced: ReferencedRows) -> str:
    """SQL true for a staged row (`s`) that no referenced row (`r`) matches. A column compared as tokens
    matches on its value or on its value's token: one NOT EXISTS (an anti-join) per way of comparing."""
    pairs = list(zip(relationship.columns, relationship.references, strict=True))
    hashed = [index for index, (_, target) in enumerate(pairs) if target in referenced.tokens]
    clauses = []
    for as_token in itertools.product((False, True), repeat=len(hashed)):
        tokenized = {index for index, token in zip(hashed, as_token, strict=True) if token}
        compared = [keyed_token(f"s.{quote(c)}", referenced.key) if i in tokenized else f"s.{quote(c)}"
                    for i, (c, _) in enumerate(pairs)]
        condition = " AND ".join(f"r.{quote(target)} = {value}" for (_, target), value in zip(pairs, compared, strict=True))
        clauses.append(f"NOT EXISTS (SELECT 1 FROM {referenced.table} AS r WHERE {condition})")
    return " AND ".join(clauses)
