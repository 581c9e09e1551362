"""Schema conformance: a build's output must have exactly the contract's columns.

Columns are matched by name, never by position. A missing or extra column, or
a column of another kind of type than the contract's (text where it says a
number, a number where it says a date…), is drift and fails the build with
every difference listed. Matching columns are cast to the contract's exact
physical type (BIGINT → DECIMAL(12,2) is fine) and put in the contract's order.
Source products are exempt from the type-kind test: reading typed columns out
of files is what they are for, and a value that does not convert still fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mesh_platform.contract.model import Contract
from mesh_platform.contract.types import type_family
from mesh_platform.core.errors import SchemaDriftError
from mesh_platform.core.sql import quote

if TYPE_CHECKING:
    from mesh_platform.governance.value_mappings import ValueMapping


def schema_differences(actual: Sequence[tuple[str, str]], contract: Contract, check_types: bool = True) -> list[str]:
    """Each way the output's columns (name, DuckDB type) differ from the contract's."""
    have = {name.lower(): type_ for name, type_ in actual}
    want = {column.name.lower() for column in contract.columns}
    differences = [f"missing column '{c.name}' ({c.physical_type})" for c in contract.columns if c.name.lower() not in have]
    differences += [f"extra column '{name}' ({type_}) not in the contract" for name, type_ in actual if name.lower() not in want]
    if check_types:
        for column in contract.columns:
            type_ = have.get(column.name.lower())
            if type_ is not None and type_family(type_) != type_family(column.physical_type):
                differences.append(f"column '{column.name}' is {type_}, the contract says {column.physical_type}")
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
        listed = "\n  - ".join(differences)
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
