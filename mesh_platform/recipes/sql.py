"""The `sql` recipe: the product is a DuckDB SQL query over its inputs.

Each input is a table named by its alias. The query runs inside the domain's
DuckDB file; rows never pass through pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from mesh_platform.core.sql import select_problem
from mesh_platform.core.user_files import UnreadableFileError, read_user_text
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.lineage.sql_lineage import sql_lineage
from mesh_platform.recipes.base import ProductRecipe, SqlText

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class SqlProduct(ProductRecipe):
    """A DuckDB SQL query over the product's inputs (each input is a table named after its product)."""

    template = "sql"
    kind = "sql"

    sql: str | None = Field(default=None, description="The query, inline.")
    sql_file: str | None = Field(default=None, pattern=r"^[^/]+\.sql$", description="A .sql file beside defs.yaml holding the query.")

    @field_validator("sql")
    @classmethod
    def _one_select(cls, sql: str | None) -> str | None:
        if sql is not None and (problem := select_problem(sql)):
            raise ValueError(f"the query must be one SELECT: {problem}")
        return sql

    @model_validator(mode="after")
    def _one_query(self) -> SqlProduct:
        if (self.sql is None) == (self.sql_file is None):
            raise ValueError("give exactly one of sql (inline query) or sql_file (a .sql file beside defs.yaml)")
        return self

    def check_files(self, folder: Path) -> list[tuple[str, str]]:
        if not self.sql_file:
            return []
        if problem := self.file_problem(folder, self.sql_file, "sql_file", "SQL"):
            return [("sql_file", problem)]
        try:
            query = self.query(folder)
        except UnreadableFileError as error:
            return [("sql_file", f"sql_file '{self.sql_file}': {error.message}")]
        if problem := select_problem(query):
            return [("sql_file", f"{self.sql_file} must hold one SELECT: {problem}")]
        return []

    def sql_texts(self, folder: Path) -> list[SqlText]:
        if self.sql is not None:
            return [SqlText(("sql",), self.sql)]
        return [SqlText(("sql_file",), self.query(folder), folder / str(self.sql_file))]

    def code_files(self, folder: Path) -> list[Path]:
        return [folder / self.sql_file] if self.sql_file else []

    def query(self, folder: Path) -> str:
        return self.sql if self.sql is not None else read_user_text(folder / str(self.sql_file), "SQL")

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        return sql_lineage(self.query(folder), inputs)

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        return build.connection.sql(self.query(build.folder))
