"""The `filter` recipe: the rows of one input that meet every condition. No code, only configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from mesh_platform.core.sql import expression_problem
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.lineage.sql_lineage import expression_columns
from mesh_platform.recipes.base import InputAddress, ProductRecipe, SqlText, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, inputs_as_given

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class FilterProduct(ProductRecipe):
    """The rows of one input that meet conditions (SQL expressions); no code."""

    template = "filter"
    parameters = {
        "where": "The condition rows must meet, e.g. \"status = 'completed'\" (default <first required column> IS NOT NULL)."
    }
    kind = "sql"

    inputs: list[InputAddress] = inputs_field(min_inputs=1, max_inputs=1)
    where: str | list[str] = Field(
        description="A condition, or a list of conditions that must all hold, e.g. \"status = 'completed'\"."
    )

    @field_validator("where")
    @classmethod
    def _some_condition(cls, where: str | list[str]) -> str | list[str]:
        conditions = [where] if isinstance(where, str) else where
        if not any(c.strip() for c in conditions):
            raise ValueError("give at least one condition")
        for condition in conditions:
            if problem := expression_problem(condition):
                raise ValueError(f"{problem}; each condition is one SQL expression over the input's columns")
        return where

    def conditions(self) -> list[str]:
        return [self.where] if isinstance(self.where, str) else list(self.where)

    def sql_texts(self, folder: Path) -> list[SqlText]:
        if isinstance(self.where, str):
            return [SqlText(("where",), self.where)]
        return [SqlText(("where", index), condition) for index, condition in enumerate(self.where)]

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        columns = list(request.inputs[0].contract.columns)
        anchor = next((c for c in columns if c.required), columns[0])
        where = request.parameters["where"] or f"{anchor.name} IS NOT NULL"
        return Plan(columns, inputs_as_given(request), {"where": where})

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        alias, columns = next(iter(inputs.items()))
        conditions = {c for condition in self.conditions() for c in expression_columns(condition, columns)}
        return RecipeLineage.identity(alias, columns, [(alias, c) for c in conditions])

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        condition = " AND ".join(f"({c})" for c in self.conditions())
        return build.input(build.inputs[0].alias).filter(condition)
