"""The `source` recipe: the product is read from files in the domain's landing folder.

Files arrive in `MESH_HOME/landing/<domain>/`. CSV, JSON lines and Parquet are
read by DuckDB; several files matching the pattern are read as one table
(columns matched by name).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.recipes.base import ProductRecipe

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext

FileFormat = Literal["csv", "jsonl", "parquet"]
_FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class SourceProduct(ProductRecipe):
    """A product read from files that land in the domain's landing folder."""

    checks_output_types = False  # typing raw file columns is what a source does

    path: str = Field(description="File name or glob pattern inside the domain's landing folder, e.g. 'orders/*.csv'.")
    format: FileFormat | None = Field(default=None, description="csv, jsonl or parquet; by default from the file suffix.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Reader options passed to DuckDB (e.g. delimiter, header, dateformat for CSV).",
    )

    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = Path(self.path).suffix.lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            raise MeshError(f"cannot tell the format of '{self.path}'; set format: csv, jsonl or parquet")
        return _FORMAT_BY_SUFFIX[suffix]

    def recipe_kind(self) -> str:
        return {"jsonl": "json"}.get(self.file_format(), self.file_format())

    def check_recipe(self, folder: Path) -> list[str]:
        if Path(self.path).is_absolute() or ".." in Path(self.path).parts:
            return [f"path '{self.path}' must stay inside the landing folder (relative, no '..')"]
        try:
            self.file_format()
        except MeshError as error:
            return [str(error)]
        return []

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        files = sorted(str(f) for f in build.landing.glob(self.path) if f.is_file())
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
