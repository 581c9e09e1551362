"""The `projection` recipe: chosen columns of one input, renamed and cast. No code, only configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.recipes.base import ProductRecipe
from mesh_platform.storage.domain_database import quote

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class ProjectedColumn(dg.Model):
    name: str = Field(description="The column's name in this product.")
    source: str | None = Field(default=None, description="The input column it comes from (default: the same name).")
    cast: str | None = Field(default=None, description="A DuckDB type to convert it to, e.g. DATE or DECIMAL(12,2).")


class ProjectionProduct(ProductRecipe):
    """Selects, renames and casts the columns of its one input."""

    kind = "sql"

    columns: list[str | ProjectedColumn] = Field(
        description="Columns to keep, in order: a name, or {name, source, cast} to rename or convert."
    )

    def projected(self) -> list[ProjectedColumn]:
        return [ProjectedColumn(name=c) if isinstance(c, str) else c for c in self.columns]

    def check_recipe(self, folder: Path) -> list[str]:
        problems = [] if len(self.inputs) == 1 else ["a projection reads exactly one input"]
        names = [c.name for c in self.projected()]
        if not names:
            problems.append("columns: list at least one column")
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"columns: {', '.join(duplicates)} listed twice")
        return problems

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        source = build.input(build.inputs[0].alias)
        available = set(source.columns)
        missing = [c.source or c.name for c in self.projected() if (c.source or c.name) not in available]
        if missing:
            raise MeshError(
                f"{build.contract.address}: projection columns {', '.join(missing)} are not in "
                f"{build.inputs[0].address} (its columns: {', '.join(source.columns)})"
            )
        select = []
        for column in self.projected():
            expression = quote(column.source or column.name)
            if column.cast:
                expression = f"CAST({expression} AS {column.cast})"
            select.append(f"{expression} AS {quote(column.name)}")
        return source.project(", ".join(select))
