"""The `source` recipe: the product is read from files in the domain's landing folder.

Files arrive in the domain's folder of the landing zone (`MESH_HOME/landing/<domain>/`
by default). CSV, JSON lines and Parquet are read by DuckDB; several files
matching the pattern are read as one table (columns matched by name).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from mesh_platform.core.errors import MeshError
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

    def deliver(self, rows: list[dict[str, Any]], landing: Path) -> Path:
        """Write `rows` into `landing` as one delivered file matching `path`, in the source's format (unit tests)."""
        file = landing / re.sub(r"\[[^\]]*\]|\*\*|\*|\?", "test", self.path)
        file.parent.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(name for row in rows for name in row))
        match self.file_format():
            case "csv":
                delimiter = str(self.options.get("delim") or self.options.get("delimiter") or self.options.get("sep") or ",")
                with file.open("w", newline="", encoding="utf-8") as out:
                    writer = csv.writer(out, delimiter=delimiter)
                    if self.options.get("header", True):
                        writer.writerow(columns)
                    writer.writerows([_csv_value(row.get(c)) for c in columns] for row in rows)
            case "jsonl":
                file.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows), encoding="utf-8")
            case _:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]), file)
        if file not in set(landing.glob(self.path)):
            raise MeshError(f"cannot name a delivered file matching '{self.path}' for the test; give path a plainer pattern")
        return file

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        landing = build.landing.resolve()
        matched = sorted(f for f in build.landing.glob(self.path) if f.is_file())
        if outside := [f for f in matched if not f.resolve().is_relative_to(landing)]:
            raise MeshError(f"{build.contract.address}: {outside[0]} leads outside the landing folder {build.landing} (a link); deliver files into it")
        files = [str(f) for f in matched]
        if not files:
            raise MeshError(
                f"{build.contract.address}: no files match '{self.path}' in {build.landing}; "
                "deliver the source files there (for the demo: mesh seed)"
            )
        build.log.info(f"reading {len(files)} {self.file_format()} file(s) from {build.landing}")
        connection = build.connection
        match self.file_format():
            case "csv":
                return connection.read_csv(files, union_by_name=True, **self.options)
            case "jsonl":
                return connection.read_json(files, format="newline_delimited", **self.options)
            case _:
                return connection.read_parquet(files, union_by_name=True, **self.options)


def _csv_value(value: Any) -> str:
    """A value as a CSV file holds it: empty for NULL, true/false for booleans."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)
