"""The `source` recipe: the product is read from files in the domain's landing folder.

Files arrive in the domain's folder of the landing zone (`MESH_HOME/landing/<domain>/`
by default). CSV, JSON lines and Parquet are read by DuckDB; several files
matching the pattern are read as one table (columns matched by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from pydantic import Field, field_validator, model_validator

from mesh_platform.core.errors import MeshError
from mesh_platform.storage.sandbox import empty_table_sql
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, example_columns

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext

FileFormat = Literal["csv", "jsonl", "parquet"]


def landing_path_problem(path: str) -> str | None:
    """Why a file pattern does not stay inside the landing folder, or None."""
    if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts or "\\" in path:
        return f"path '{path}' must stay inside the landing folder (relative, no '..')"
    return None
_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")  # gzip, zstd: their bytes are no lines to count
_FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class SourceProduct(ProductRecipe):
    """Files delivered to the domain's landing folder (CSV, JSON lines or Parquet) as a product."""

    template = "source"
    parameters = {"path": "File name or glob inside MESH_HOME/landing/<domain>/ (default <name>/*.csv)."}
    checks_output_types = False  # typing raw file columns is what a source does

    inputs: list[InputAddress] = inputs_field(max_inputs=0)
    path: str = Field(description="File name or glob pattern inside the domain's landing folder, e.g. 'orders/*.csv'.")
    format: FileFormat | None = Field(default=None, description="csv, jsonl or parquet; by default from the file suffix.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Reader options passed to DuckDB (e.g. delimiter, header, dateformat for CSV).",
    )

    @field_validator("path")
    @classmethod
    def _inside_landing(cls, path: str) -> str:
        if problem := landing_path_problem(path):
            raise ValueError(problem)
        return path

    @model_validator(mode="after")
    def _known_format(self) -> SourceProduct:
        self.file_format()
        return self

    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = Path(self.path).suffix.lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            raise ValueError(f"cannot tell the format of '{self.path}'; set format: csv, jsonl or parquet")
        return _FORMAT_BY_SUFFIX[suffix]

    def recipe_kind(self) -> str:
        return {"jsonl": "json"}.get(self.file_format(), self.file_format())

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        pattern = request.parameters["path"] or f"{request.name}/*.csv"
        if problem := landing_path_problem(pattern):
            raise MeshError(f"--set path: {problem}")
        example = pattern.replace("*", "example")
        delivery = (pattern, example) if "*" not in example and example.endswith(".csv") else None
        return Plan(example_columns(), settings={"path": pattern}, purpose=", as delivered to its landing folder.", example_delivery=delivery)

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        return RecipeLineage("source")  # its columns start here, in the delivered files

    def empty_delivery(self, file: Path) -> bool:
        """Whether a delivered file holds no rows: nothing but blanks, or (a CSV with a header) one line only.

        Read so, DuckDB would take it for a table's shape (a 0-byte CSV as one column 'column0'); it is no rows instead."""
        if file.stat().st_size == 0:
            return True
        if self.file_format() == "parquet":
            return False  # a Parquet file of no rows still says its columns: read it
        header = self.file_format() == "csv" and self.options.get("header", True) is not False
        with file.open("rb") as stream:
            if stream.read(4).startswith(_COMPRESSED):
                return False
            stream.seek(0)
            rows_start = 2 if header else 1  # the line holding the first row
            return _lines_with_content(stream, stop_after=rows_start) < rows_start

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        landing = build.landing.resolve()
        matched = sorted(f for f in build.landing.glob(self.path) if f.is_file())
        if outside := [f for f in matched if not f.resolve().is_relative_to(landing)]:
            raise MeshError(f"{build.contract.address}: {outside[0]} leads outside the landing folder {build.landing} (a link); deliver files into it")
        if not matched:
            raise MeshError(
                f"{build.contract.address}: no files match '{self.path}' in {build.landing}; "
                "deliver the source files there (for the demo: mesh seed)"
            )
        files = [str(f) for f in matched if not self.empty_delivery(f)]
        if skipped := len(matched) - len(files):
            build.log.info(f"{skipped} empty file(s) (no bytes, or a CSV header only) hold no rows: not read")
        connection = build.connection
        if not files:  # deliveries of nothing: no rows, in the contract's columns (its rules say whether that may publish)
            return connection.sql(empty_table_sql((c.name, c.physical_type) for c in build.contract.columns))
        build.log.info(f"reading {len(files)} {self.file_format()} file(s) from {build.landing}")
        match self.file_format():
            case "csv":
                return connection.read_csv(files, union_by_name=True, **self.options)
            case "jsonl":
                return connection.read_json(files, format="newline_delimited", **self.options)
            case _:
                return connection.read_parquet(files, union_by_name=True, **self.options)


def _lines_with_content(stream: BinaryIO, stop_after: int) -> int:
    """How many lines of `stream` hold more than blanks, counted up to `stop_after` (read in chunks, never whole)."""
    found, counted = 0, False
    while chunk := stream.read(1 << 16):
        for index, part in enumerate(chunk.split(b"\n")):
            counted = counted and index == 0  # a piece after a newline starts a line
            if not counted and part.strip():
                found, counted = found + 1, True
                if found >= stop_after:
                    return found
    return found
