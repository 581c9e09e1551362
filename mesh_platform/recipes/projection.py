"""The `projection` recipe: chosen columns of one input, renamed and cast. No code, only configuration."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field, field_validator

from mesh_platform.core.errors import MeshError
from mesh_platform.core.sql import quote
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import InputAddress, ProductRecipe, SqlText, inputs_field

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class ProjectedColumn(dg.Model):
    name: str = Field(description="The column's name in this product.")
    source: str | None = Field(default=None, description="The input column it comes from (default: the same name).")
    cast: str | None = Field(default=None, description="A DuckDB type to convert it to, e.g. DATE or DECIMAL(12,2).")


class ProjectionProduct(ProductRecipe):
    """Chosen columns of one input, renamed and cast; no code."""

    template = "projection"
    kind = "sql"

    inputs: list[InputAddress] = inputs_field(min_inputs=1, max_inputs=1)
    columns: list[str | ProjectedColumn] = Field(
        min_length=1, description="Columns to keep, in order: a name, or {name, source, cast} to rename or convert."
    )

    @field_validator("columns")
    @classmethod
    def _each_once(cls, columns: list[str | ProjectedColumn]) -> list[str | ProjectedColumn]:
        counts = Counter(c if isinstance(c, str) else c.name for c in columns)  # one pass: a wide projection lists thousands
        if duplicates := sorted(n for n, count in counts.items() if count > 1):
            raise ValueError(f"{', '.join(duplicates)} listed twice")
        return columns

    def projected(self) -> list[ProjectedColumn]:
        return [ProjectedColumn(name=c) if isinstance(c, str) else c for c in self.columns]

    def sql_texts(self, folder: Path) -> list[SqlText]:
        """The casts: each a DuckDB type, written into the projection's SQL."""
        return [SqlText(("columns", index, "cast"), column.cast) for index, column in enumerate(self.projected()) if column.cast]

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        alias = next(iter(inputs))
        copies = {c.name: (alias, c.source or c.name) for c in self.projected() if not c.cast}
        return RecipeLineage.of("configured", {c.name: [(alias, c.source or c.name)] for c in self.projected()}, copies=copies)

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
