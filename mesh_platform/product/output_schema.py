"""What a recipe outputs, described by DuckDB without building, and what a contract makes of it.

`describe_output` runs a recipe's relation over its inputs as empty tables typed from
their contracts (`recipe_inputs.input_tables`), in a sandboxed in-memory database where
the SQL functions a build registers are declared: DuckDB binds it and says each output
column's type, and no row is read. `inferred_columns` turns described columns into
contract columns, carrying over from the input column the lineage says each one copies
its description, classification, glossary term and `required`; a column computed from a
personal column stays personal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.contract.model import CLASSIFICATIONS, Column
from mesh_platform.contract.types import logical_type_of, servable_type, type_family
from mesh_platform.core.errors import MacroError, MeshError
from mesh_platform.governance.glossary import TERM_PARAMETER
from mesh_platform.product.recipe_inputs import input_tables
from mesh_platform.storage.sandbox import binding_sandbox

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog
    from mesh_platform.contract.model import Contract
    from mesh_platform.core.inputs import ProductInput
    from mesh_platform.core.sql_macros import SqlMacros
    from mesh_platform.lineage.recipe_lineage import RecipeLineage

# What a recipe computes its rows with: (a connection holding its inputs, their contracts by alias) → its relation.
RelationOf = Callable[["duckdb.DuckDBPyConnection", Mapping[str, "Contract"]], "duckdb.DuckDBPyRelation"]
# DuckDB's sum of BIGINTs is a HUGEINT, which a port serves as DECIMAL(38,0): an inferred contract says BIGINT (a build
# then fails on a value beyond it, rather than every reader getting decimals).
INFERRED_INSTEAD = {"HUGEINT": "BIGINT"}
NO_SOURCE = "computed from no input column: review"  # said beside the classification of such a column


class OutputDescriptionError(MeshError):
    """A recipe DuckDB cannot describe over its inputs' contracts (a column it names is not there, a syntax error…)."""


class RefusedFileError(OutputDescriptionError):
    """A recipe whose SQL reads a file a build's sandbox refuses (`mesh check` reports it as such: `recipes.validation`)."""


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str  # DuckDB's


@dataclass(frozen=True)
class DescribedOutput:
    columns: list[OutputColumn]
    inputs: dict[str, Contract]  # each input's contract as the product's domain reads it, by alias


@dataclass(frozen=True)
class InferredColumn:
    """A contract column made from a described one; `review` says why its classification is a guess."""

    column: Column
    review: str | None = None


def describe_output(
    relation_of: RelationOf,
    inputs: Iterable[ProductInput],
    catalog: Catalog,
    domain: str,
    macros: SqlMacros | None = None,
    readable: Iterable[Path] = (),
) -> DescribedOutput:
    """The columns the relation outputs over empty `inputs` as `domain` reads them, with the domain's SQL `macros`, in
    a build's sandbox (`readable`: the folders its SQL may read, its landing folder); `OutputDescriptionError` when
    DuckDB refuses it (`RefusedFileError` when the sandbox refuses a file it reads)."""
    import duckdb

    connection = binding_sandbox(readable, TERM_PARAMETER.declare)  # its own temporary tables, views and macros
    try:
        contracts = input_tables(connection, inputs, catalog, domain)
        try:
            unavailable = macros.install(connection) if macros is not None else []  # after the tables, as a build does
        except MacroError as error:
            raise OutputDescriptionError(f"the domain's SQL macros cannot be installed: {error.problems[0]}") from None
        try:
            relation = relation_of(connection, contracts)
            columns = [OutputColumn(name, str(type_)) for name, type_ in zip(relation.columns, relation.types, strict=True)]
        except MeshError as error:  # a configured recipe's own check (a column it names is missing)
            raise OutputDescriptionError(str(error)) from None
        except duckdb.PermissionException as error:
            raise RefusedFileError(str(error).splitlines()[0]) from None
        except duckdb.Error as error:
            why = macros.explain(error, unavailable) if macros is not None else None
            raise OutputDescriptionError(why or str(error).splitlines()[0]) from None
    finally:
        connection.close()
    return DescribedOutput(columns, contracts)


def contract_type(duckdb_type: str) -> str:
    """The type an inferred contract gives a DuckDB type: the same where a port serves it as it is, else the nearest
    one it does (`types.servable_type`), text where no port type holds it (a time of day, an interval)."""
    return INFERRED_INSTEAD.get(duckdb_type.upper()) or servable_type(duckdb_type) or "VARCHAR"


def inferred_columns(
    described: Sequence[OutputColumn], lineage: RecipeLineage, inputs: Mapping[str, Contract]
) -> list[InferredColumn]:
    """Contract columns for a described output: a copy of an input column carries its description, classification,
    term and `required` (unless an outer join may leave it empty; its key too when the recipe reads one input);
    a computed column is classified as its most sensitive source, and marked for review."""
    single_input = len(inputs) == 1
    found = []
    for output in described:
        physical = contract_type(output.type)
        copied = _input_column(inputs, lineage.copies.get(output.name))
        if copied is not None:
            keeps_key = single_input and output.name not in lineage.nullable_copies
            same_kind = type_family(copied.physical_type) == type_family(physical)
            column = copied.changed(
                name=output.name,
                physical_type=physical,
                logical_type=copied.logical_type if same_kind else logical_type_of(physical),
                required=copied.required and output.name not in lineage.nullable_copies,
                unique=copied.unique and keeps_key,
                primary_key=copied.primary_key and keeps_key,
                primary_key_position=copied.spec.primaryKeyPosition if copied.primary_key and keeps_key else None,
                classification=copied.classification or "internal",
                quality=None,
            )
            found.append(InferredColumn(column, None if copied.classification else "unclassified in its input: review"))
            continue
        sources = [s for s in lineage.derives.get(output.name, ()) if _input_column(inputs, s) is not None]
        given = [c.classification for s in sources if (c := _input_column(inputs, s)) is not None]
        ranks = [CLASSIFICATIONS.index(c) for c in given if c in CLASSIFICATIONS]
        classification = CLASSIFICATIONS[max(ranks)] if ranks else "internal"
        named = ", ".join(f"{alias}.{name}" for alias, name in sources)
        description = f"Computed from {named}." if named else ""
        review = f"from {named}, the most sensitive of which is {classification}: review" if named else NO_SOURCE
        column = Column.new(output.name, logical_type_of(physical), physical, description, classification=classification)
        found.append(InferredColumn(column, review))
    return found


def _input_column(inputs: Mapping[str, Contract], source: tuple[str, str] | None) -> Column | None:
    if source is None or source[0] not in inputs:
        return None
    return next((c for c in inputs[source[0]].columns if c.name == source[1]), None)
