"""The `sql` recipe: the product is a DuckDB SQL query over its inputs.

Each input is a table named by its alias. The query runs inside the domain's
DuckDB file; rows never pass through pandas.

A new product's contract is the query's output as DuckDB describes it over the
inputs' contracts (`product.output_schema`): `mesh new --template sql [--from FILE]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from mesh_platform.catalog.workspace import RECIPE_FILE
from mesh_platform.core.errors import MeshError, RecipeError
from mesh_platform.core.sql import select_problem
from mesh_platform.core.user_files import UnreadableFileError, read_user_text
from mesh_platform.core.yaml_document import load_yaml_document
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.lineage.sql_lineage import sql_lineage
from mesh_platform.product.output_schema import OutputDescriptionError, describe_output, inferred_columns
from mesh_platform.recipes.base import ProductRecipe, SqlText, sql_macros
from mesh_platform.scaffold.plans import Plan, PlanRequest, inputs_as_given

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class SqlProduct(ProductRecipe):
    """A DuckDB SQL query over the product's inputs (each input is a table named after its product)."""

    template = "sql"
    kind = "sql"
    from_file = "a .sql file holding the query (copied as transform.sql): the contract is its output"

    sql: str | None = Field(default=None, description="The query, inline.")
    sql_file: str | None = Field(
        default=None, pattern=r"^[^/]+\.sql$", description="A .sql file beside defs.yaml holding the query."
    )

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
        # The macros files too: a changed macro is a changed query (its code version, its page's links).
        return [*([folder / self.sql_file] if self.sql_file else []), *sql_macros(folder).paths]

    def query(self, folder: Path) -> str:
        return self.sql if self.sql is not None else read_user_text(folder / str(self.sql_file), "SQL")

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        """The query (`--from FILE`'s, else every column of the first input), and its output as the contract."""
        inputs = inputs_as_given(request)
        if request.source_file is not None:
            file = request.source_file
            query = read_user_text(file, "SQL")  # a regular file of at most the limit: refused with its reason otherwise
            if problem := select_problem(query):
                raise MeshError(f"--from {file}: the file must hold one SELECT: {problem}")
        else:
            query = example_query(request)
        macros = sql_macros(
            request.catalog.domains[request.domain].defs_folder / request.name
        )  # the domain's, as its builds see them
        try:
            described = describe_output(
                lambda connection, _: connection.sql(query), inputs, request.catalog, request.domain, macros
            )
        except OutputDescriptionError as error:
            where = f"the query in {request.source_file}" if request.source_file else "the query"
            raise MeshError(f"{where} does not run over its inputs' contracts: {error}") from None
        columns = {alias: [c.name for c in contract.columns] for alias, contract in described.inputs.items()}
        inferred = inferred_columns(described.columns, sql_lineage(query, columns, macros.macros), described.inputs)
        notes = {i.column.name: i.review for i in inferred if i.review}
        note = [
            "Inferred from the query's output (DuckDB over the inputs' contracts): a column copied from an input carries",
            "its description, classification, term and `required`. Review the computed ones.",
        ]
        settings = {"query": query, "query_given": request.source_file is not None}
        return Plan([i.column for i in inferred], inputs, settings, column_notes=notes, schema_note=note)

    def output_location(self, folder: Path, column: str) -> tuple[Path, int | None, str]:
        """The line of the SELECT expression making `column` (of the `*` that brings it), in the .sql file or defs.yaml."""
        line = _select_line(self.query(folder), column)
        if self.sql_file:
            return folder / self.sql_file, line, "sql_file"
        document = load_yaml_document(folder / RECIPE_FILE, RecipeError)
        start = document.line_of(("attributes", "sql")) or 1
        inline = self.sql or ""
        return folder / RECIPE_FILE, start + line if "\n" in inline.strip() else start, "attributes.sql"

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        return sql_lineage(self.query(folder), inputs, sql_macros(folder).macros)

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        return build.connection.sql(self.query(build.folder))


def example_query(request: PlanRequest) -> str:
    """A new product's query: every column of its first input (as its domain reads it), else example rows."""
    if not request.inputs:
        return (
            "SELECT *\nFROM (\n    VALUES\n        (1, 'first example', TIMESTAMP '2026-01-01 09:00:00'),\n"
            "        (2, 'second example', TIMESTAMP '2026-01-02 10:30:00')\n) AS examples(id, name, updated_at)\n"
        )
    first = request.inputs[0]
    columns = ",\n".join(f"    {c.name}" for c in first.contract.columns)
    return f"SELECT\n{columns}\nFROM {first.address.product}\n"


def _select_line(query: str, column: str) -> int:
    """The line of the outermost SELECT's expression naming `column` (else of its `*`, else 1)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(query, dialect="duckdb")
    except SqlglotError:
        return 1
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is None:
        return 1
    named = [e for e in select.expressions if e.alias_or_name == column] or [e for e in select.expressions if e.is_star]
    lines = [node.meta["line"] for e in named[:1] for node in e.walk() if "line" in node.meta]
    return min(lines) if lines else 1
