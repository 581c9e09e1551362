"""The `union` recipe: the rows of several inputs with the same columns. No code, only configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.recipes.base import ProductRecipe
from mesh_platform.storage.domain_database import quote

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class UnionProduct(ProductRecipe):
    """Stacks the rows of its inputs; columns are matched by name and must be the same in every input."""

    kind = "sql"

    distinct: bool = Field(default=False, description="Drop rows that are exactly the same (UNION instead of UNION ALL).")
    source_column: str | None = Field(
        default=None, description="Add a column of this name holding the address each row came from."
    )

    def check_recipe(self, folder: Path) -> list[str]:
        return [] if len(self.inputs) >= 2 else ["a union reads two or more inputs"]

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        first = build.inputs[0]
        expected = set(build.input(first.alias).columns)
        parts = []
        for item in build.inputs:
            columns = set(build.input(item.alias).columns)
            if columns != expected:
                differences = [f"{c} missing" for c in sorted(expected - columns)] + [f"{c} extra" for c in sorted(columns - expected)]
                raise MeshError(
                    f"{build.contract.address}: {item.address} cannot be unioned with {first.address}: "
                    f"{', '.join(differences)} (use a projection first to align the columns)"
                )
            origin = f", '{item.address}' AS {quote(self.source_column)}" if self.source_column else ""
            parts.append(f"SELECT *{origin} FROM {quote(item.alias)}")
        operator = " UNION BY NAME " if self.distinct else " UNION ALL BY NAME "
        return build.connection.sql(operator.join(parts))
