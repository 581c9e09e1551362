"""Schema conformance: a build's output must have exactly the contract's columns.

Columns are matched by name, never by position. A missing or extra column is
drift and fails the build with every difference listed; matching columns are
cast to the contract's physical type and put in the contract's order.
"""

from __future__ import annotations

from collections.abc import Sequence

from mesh_platform.contract import Contract
from mesh_platform.errors import SchemaDriftError
from mesh_platform.storage.domain_database import quote


def schema_differences(actual: Sequence[str], contract: Contract) -> list[str]:
    """Each way the output's column names differ from the contract's."""
    have = {name.lower() for name in actual}
    want = {column.name.lower() for column in contract.columns}
    differences = [f"missing column '{c.name}' ({c.physical_type})" for c in contract.columns if c.name.lower() not in have]
    differences += [f"extra column '{name}' not in the contract" for name in actual if name.lower() not in want]
    return differences


def conformed_select(source: str, actual: Sequence[str], contract: Contract) -> str:
    """SQL selecting the contract's columns from `source`, by name, cast to their types."""
    if differences := schema_differences(actual, contract):
        listed = "\n  - ".join(differences)
        raise SchemaDriftError(
            f"{contract.address}: the build's output does not match {contract.file.name} "
            f"(version {contract.version}):\n  - {listed}\n"
            "Change the recipe's output or the contract so that they agree."
        )
    by_name = {name.lower(): name for name in actual}
    columns = ", ".join(
        f"CAST({quote(by_name[c.name.lower()])} AS {c.physical_type}) AS {quote(c.name)}" for c in contract.columns
    )
    return f"SELECT {columns} FROM {source}"
