"""Schema conformance: a build's output must have exactly the contract's columns.

Columns are matched by name, never by position. A missing or extra column, or
a column of another kind of type than the contract's (text where it says a
number, a number where it says a date…), is drift and fails the build with
every difference listed. Matching columns are cast to the contract's exact
physical type (BIGINT → DECIMAL(12,2) is fine) and put in the contract's order.
Source products are exempt from the type-kind test: reading typed columns out
of files is what they are for, and a value that does not convert still fails —
with every column listed, how many of its values fail and a few of them
(`conversion_failures`), not DuckDB's first conversion error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mesh_platform.contract.model import Column, Contract
from mesh_platform.contract.types import type_family
from mesh_platform.core.errors import SchemaDriftError
from mesh_platform.core.sql import quote

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.governance.value_mappings import ValueMapping


@dataclass(frozen=True)
class SchemaDifference:
    """One way an output's columns differ from the contract's: `missing` (the contract has it), `extra`, or `type`."""

    kind: str
    column: str
    message: str

    def __str__(self) -> str:
        return self.message


def schema_differences(actual: Sequence[tuple[str, str]], contract: Contract, check_types: bool = True) -> list[SchemaDifference]:
    """Each way the output's columns (name, DuckDB type) differ from the contract's."""
    have = {name.lower(): type_ for name, type_ in actual}
    want = {column.name.lower() for column in contract.columns}
    differences = [
        SchemaDifference("missing", c.name, f"missing column '{c.name}' ({c.physical_type})")
        for c in contract.columns
        if c.name.lower() not in have
    ]
    differences += [
        SchemaDifference("extra", name, f"extra column '{name}' ({type_}) not in the contract")
        for name, type_ in actual
        if name.lower() not in want
    ]
    if check_types:
        for column in contract.columns:
            type_ = have.get(column.name.lower())
            if type_ is not None and type_family(type_) != type_family(column.physical_type):
                message = f"column '{column.name}' is {type_}, the contract says {column.physical_type}"
                differences.append(SchemaDifference("type", column.name, message))
    return differences


def conformed_select(
    source: str,
    actual: Sequence[tuple[str, str]],
    contract: Contract,
    check_types: bool = True,
    normalize: Mapping[str, ValueMapping] | None = None,
) -> str:
    """SQL selecting the contract's columns from `source`, by name, cast to their types.

    A column named in `normalize` (a glossary term's value mapping) is mapped to its canonical values first."""
    if differences := schema_differences(actual, contract, check_types):
        listed = "\n  - ".join(map(str, differences))
        raise SchemaDriftError(
            f"{contract.address}: the build's output does not match {contract.file.name} "
            f"(version {contract.version}):\n  - {listed}\n"
            "Change the recipe's output or the contract so that they agree."
        )
    by_name = {name.lower(): name for name, _ in actual}
    normalize = normalize or {}

    def value(column_name: str) -> str:
        expression = quote(by_name[column_name.lower()])
        return normalize[column_name].sql(expression) if column_name in normalize else expression

    columns = ", ".join(f"CAST({value(c.name)} AS {c.physical_type}) AS {quote(c.name)}" for c in contract.columns)
    return f"SELECT {columns} FROM {source}"


@dataclass(frozen=True)
class ConversionFailure:
    """A contract column some of whose delivered values do not convert to its type."""

    column: str
    type: str
    failing: int
    values: int  # values given (not empty)
    examples: tuple[tuple[str, str | None], ...]  # (value, the file it is in)

    def __str__(self) -> str:
        by_file: dict[str | None, list[str]] = {}
        for value, file in self.examples:
            by_file.setdefault(file, []).append(f"'{value}'")
        shown = "; ".join(", ".join(values) + (f" in {file}" if file else "") for file, values in by_file.items())
        values = "value does" if self.failing == 1 else "values do"
        return f"{self.column} ({self.type}): {self.failing:,} {values} not convert (of {self.values:,}), e.g. {shown}"


def conversion_failures(
    connection: duckdb.DuckDBPyConnection, source: str, contract: Contract, file_column: str | None = None, examples: int = 3
) -> list[ConversionFailure]:
    """Each contract column whose values in the table `source` do not all convert to the contract's type, with how many
    fail and a few of them (and, with `file_column`, the file each is in); matched by name, as conformance does."""
    columns = {name.lower(): name for name in connection.table(source).columns}
    present = [(c, columns[c.name.lower()]) for c in contract.columns if c.name.lower() in columns]
    if not present:
        return []

    def failing(column: Column, name: str) -> str:
        return f"{quote(name)} IS NOT NULL AND TRY_CAST({quote(name)} AS {column.physical_type}) IS NULL"

    counts = ", ".join(f"count(*) FILTER (WHERE {failing(c, n)}), count({quote(n)})" for c, n in present)
    row = connection.execute(f"SELECT {counts} FROM {source}").fetchall()[0]
    found = []
    for index, (column, name) in enumerate(present):
        bad, given = row[2 * index], row[2 * index + 1]
        if not bad:
            continue
        file = quote(file_column) if file_column else "NULL"
        shown = connection.execute(
            f"SELECT DISTINCT CAST({quote(name)} AS VARCHAR), {file} FROM {source} "
            f"WHERE {failing(column, name)} ORDER BY ALL LIMIT {examples}"
        ).fetchall()
        found.append(ConversionFailure(column.name, column.physical_type, bad, given, tuple((v, f) for v, f in shown)))
    return found
