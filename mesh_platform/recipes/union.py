"""The `union` recipe: the rows of several inputs with the same columns. No code, only configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.contract.model import Column
from mesh_platform.core.address import NAME_PATTERN
from mesh_platform.core.errors import MeshError
from mesh_platform.core.names import check_name
from mesh_platform.core.sql import literal, quote
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, inputs_as_given

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class UnionProduct(ProductRecipe):
    """The rows of several inputs with the same columns, stacked; no code."""

    template = "union"
    parameters = {"source_column": "Name of a column recording each row's source address (default none)."}
    kind = "sql"

    inputs: list[InputAddress] = inputs_field(min_inputs=2)
    distinct: bool = Field(default=False, description="Drop rows that are exactly the same (UNION instead of UNION ALL).")
    source_column: str | None = Field(
        default=None, pattern=f"^{NAME_PATTERN}$", description="Add a column of this name holding the address each row came from."
    )

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        first = request.inputs[0]
        names = {c.name for c in first.contract.columns}
        for other in request.inputs[1:]:
            other_names = {c.name for c in other.contract.columns}
            if other_names != names:
                differences = [f"{c} missing" for c in sorted(names - other_names)] + [
                    f"{c} extra" for c in sorted(other_names - names)
                ]
                raise MeshError(f"{other.address} cannot be unioned with {first.address}: {', '.join(differences)}")
        columns = list(first.contract.columns)
        source_column = request.parameters["source_column"]
        if source_column:
            check_name(source_column, "column")
            columns.append(
                Column.new(
                    source_column,
                    "string",
                    "VARCHAR",
                    "Address of the product the row came from.",
                    required=True,
                    classification="public",
                )
            )
        return Plan(columns, inputs_as_given(request), {"source_column": source_column})

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        derives: dict[str, list[tuple[str, str]]] = {}
        for alias, columns in inputs.items():
            for column in columns:
                derives.setdefault(column, []).append((alias, column))
        if self.source_column:
            derives[self.source_column] = []  # the address of the input: no column's value
        return RecipeLineage.of("configured", derives)

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        first = build.inputs[0]
        expected = set(build.input(first.alias).columns)
        parts = []
        for item in build.inputs:
            columns = set(build.input(item.alias).columns)
            if columns != expected:
                differences = [f"{c} missing" for c in sorted(expected - columns)] + [
                    f"{c} extra" for c in sorted(columns - expected)
                ]
                raise MeshError(
                    f"{build.contract.address}: {item.address} cannot be unioned with {first.address}: "
                    f"{', '.join(differences)} (use a projection first to align the columns)"
                )
            origin = f", {literal(str(item.address))} AS {quote(self.source_column)}" if self.source_column else ""
            parts.append(f"SELECT *{origin} FROM {quote(item.alias)}")
        operator = " UNION BY NAME " if self.distinct else " UNION ALL BY NAME "
        return build.connection.sql(operator.join(parts))
