"""The `filter` recipe: the rows of one input that meet every condition. No code, only configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.recipes.base import ProductRecipe

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class FilterProduct(ProductRecipe):
    """Keeps the rows of its one input that meet every condition (DuckDB SQL expressions)."""

    kind = "sql"

    where: str | list[str] = Field(
        description="A condition, or a list of conditions that must all hold, e.g. \"status = 'completed'\"."
    )

    def conditions(self) -> list[str]:
        return [self.where] if isinstance(self.where, str) else list(self.where)

    def check_recipe(self, folder: Path) -> list[str]:
        problems = [] if len(self.inputs) == 1 else ["a filter reads exactly one input"]
        if not any(c.strip() for c in self.conditions()):
            problems.append("where: give at least one condition")
        return problems

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        condition = " AND ".join(f"({c})" for c in self.conditions())
        return build.input(build.inputs[0].alias).filter(condition)
