"""The `sql` recipe: the product is a DuckDB SQL query over its inputs.

Each input is a table named by its alias. The query runs inside the domain's
DuckDB file; rows never pass through pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.recipes.base import ProductRecipe

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class SqlProduct(ProductRecipe):
    """A product computed by a SQL query over its inputs, in DuckDB."""

    kind = "sql"

    sql: str | None = Field(default=None, description="The query, inline.")
    sql_file: str | None = Field(default=None, description="A file holding the query, relative to this folder.")

    def check_recipe(self, folder: Path) -> list[str]:
        if (self.sql is None) == (self.sql_file is None):
            return ["give exactly one of sql (inline query) or sql_file (a .sql file beside defs.yaml)"]
        if self.sql_file and not (folder / self.sql_file).is_file():
            return [f"sql_file '{self.sql_file}' does not exist in {folder}"]
        return []

    def code_files(self, folder: Path) -> list[Path]:
        return [folder / self.sql_file] if self.sql_file else []

    def query(self, folder: Path) -> str:
        return self.sql if self.sql is not None else (folder / str(self.sql_file)).read_text()

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        return build.connection.sql(self.query(build.folder))
