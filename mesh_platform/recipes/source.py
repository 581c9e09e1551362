"""The `source` recipe: the product is read from files in the domain's landing folder.

Files arrive in the domain's folder of the landing zone (`landing/<domain>/` in the mesh's root
by default). CSV, JSON lines and Parquet are read by DuckDB; several files
matching the pattern are read as one table (columns matched by name).

`mesh new --template source --from FILE` starts the product from a real file: its
contract's columns, types and `required` come from the data, a primary key where one
holds, and a classification guessed from each column's name, marked for review.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from pydantic import Field, field_validator, model_validator

from mesh_platform.catalog.workspace import RECIPE_FILE
from mesh_platform.contract.model import Column
from mesh_platform.contract.types import logical_type_of
from mesh_platform.core.errors import DeliveryTypeError, MeshError
from mesh_platform.governance.classification import guess_classification
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.product.conformance import conversion_failures
from mesh_platform.product.file_schema import FILE_COLUMN, FileSchema, infer_file_schema, read_files
from mesh_platform.product.output_schema import InferredColumn, contract_type
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, example_columns
from mesh_platform.storage.sandbox import empty_table_sql

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog, Product
    from mesh_platform.governance.glossary import Glossary
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
    parameters = {"path": "File name or glob inside the landing zone's <domain>/ folder (default <name>/*.csv)."}
    checks_output_types = False  # typing raw file columns is what a source does
    describable = False  # its columns are in the delivered files (`inferred_output` reads them)
    from_file = "a data file (CSV, JSON lines, Parquet): the contract is inferred from it"

    inputs: list[InputAddress] = inputs_field(max_inputs=0)
    path: str = Field(description="File name or glob pattern inside the domain's landing folder, e.g. 'orders/*.csv'.")
    format: FileFormat | None = Field(default=None, description="csv, jsonl or parquet; by default from the file suffix.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Reader options passed to DuckDB (e.g. delimiter, header, dateformat for CSV).",
    )
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="File columns named otherwise in the contract: file column → contract column, e.g. {'Order ID': order_id}",
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
        if request.source_file is not None:
            return cls._plan_from_file(request, request.source_file)
        pattern = request.parameters["path"] or f"{request.name}/*.csv"
        if problem := landing_path_problem(pattern):
            raise MeshError(f"--set path: {problem}")
        example = pattern.replace("*", "example")
        delivery = (pattern, example) if "*" not in example and example.endswith(".csv") else None
        settings = {"path": pattern, "options": {}, "rename": {}, "example": delivery is not None}
        return Plan(example_columns(), settings=settings, purpose=DELIVERED, example_delivery=delivery)

    @classmethod
    def _plan_from_file(cls, request: PlanRequest, file: Path) -> Plan:
        """The product of a real file: in the landing folder it is read where it is; elsewhere it is copied into it."""
        if request.parameters["path"]:
            raise MeshError("give --from or --set path, not both: --from puts the file in the landing folder and names it")
        if not file.is_file():
            raise MeshError(f"--from {file}: there is no such file")
        suffix = file.suffix.lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            suffix_said = suffix or "no suffix"
            raise MeshError(f"--from {file}: cannot tell its format from '{suffix_said}'; name it .csv, .jsonl or .parquet")
        landing = (request.landing or Path()).resolve()
        if file.resolve().is_relative_to(landing):
            path, delivery = file.resolve().relative_to(landing).as_posix(), None
            if problem := landing_path_problem(path):
                raise MeshError(f"--from {file}: {problem}")
        else:  # the product's own folder of the landing zone: later deliveries go beside it
            path, delivery = f"{request.name}/*{suffix}", (file, f"{request.name}/{file.name}")
        schema = infer_file_schema([file], _FORMAT_BY_SUFFIX[suffix])
        columns, notes = inferred_file_columns(schema)
        if schema.key:
            key = f"the primary key ({', '.join(schema.key)}): the first column, or small combination, unique and complete."
        else:
            key = "no primary key: no column or small combination is unique and complete."
        note = [
            f"Inferred from the {schema.rows:,} rows of {file.name} (mesh new --from): `required` where no row lacks a value;",
            key,
            "Review them, and every classification.",
        ]
        settings = {"path": path, "options": schema.options, "rename": schema.rename, "example": False}
        return Plan(columns, settings=settings, purpose=DELIVERED, delivery=delivery, column_notes=notes, schema_note=note)

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

    def files(self, landing: Path, address: object) -> list[str]:
        """The delivered files the product reads: those matching `path` in the domain's landing folder."""
        inside = landing.resolve()
        matched = sorted(f for f in landing.glob(self.path) if f.is_file())
        if outside := [f for f in matched if not f.resolve().is_relative_to(inside)]:
            raise MeshError(f"{address}: {outside[0]} leads outside the landing folder {landing} (a link); deliver files into it")
        if not matched:
            raise MeshError(
                f"{address}: no files match '{self.path}' in {landing}; deliver the source files there (for the demo: mesh seed)"
            )
        return [str(f) for f in matched]

    def read(
        self, connection: duckdb.DuckDBPyConnection, files: list[str], with_file: bool = False, **options: Any
    ) -> duckdb.DuckDBPyRelation:
        """The files as this recipe reads them (`options` on top of its own)."""
        return read_files(connection, files, self.file_format(), {**self.options, **options}, self.rename, with_file=with_file)

    def inferred_output(self, product: Product, catalog: Catalog, glossary: Glossary, landing: Path) -> list[InferredColumn]:
        """Contract columns for the files delivered now (`mesh contract sync`)."""
        schema = infer_file_schema(
            [Path(f) for f in self.with_rows(self.files(landing, product.address))], self.file_format(), self.options
        )
        renamed = tuple(replace(c, name=self.rename.get(c.source, c.name)) for c in schema.columns)  # as the recipe names them
        columns, notes = inferred_file_columns(replace(schema, columns=renamed))
        return [InferredColumn(c, notes.get(c.name)) for c in columns]

    def with_rows(self, files: list[str]) -> list[str]:
        """The files that hold rows (`empty_delivery`: a 0-byte file, or a CSV header alone, holds none)."""
        return [f for f in files if not self.empty_delivery(Path(f))]

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        matched = self.files(build.landing, build.contract.address)
        files = self.with_rows(matched)
        if skipped := len(matched) - len(files):
            build.log.info(f"{skipped} empty file(s) (no bytes, or a CSV header only) hold no rows: not read")
        if not files:  # deliveries of nothing: no rows, in the contract's columns (its rules say whether that may publish)
            return build.connection.sql(empty_table_sql((c.name, c.physical_type) for c in build.contract.columns))
        build.log.info(f"reading {len(files)} {self.file_format()} file(s) from {build.landing}")
        return self.read(build.connection, files)

    def explain_failure(self, build: BuildContext, error: Exception) -> Exception | None:
        """A value that does not convert to the contract's type: every column with how many values fail, and a few."""
        import duckdb

        if not isinstance(error, duckdb.ConversionException):
            return None
        connection, contract = build.connection, build.contract
        files = self.with_rows(self.files(build.landing, contract.address))
        try:
            connection.register(DELIVERED_VIEW, self.read(connection, files, with_file=True))
            failures = conversion_failures(connection, DELIVERED_VIEW, contract, FILE_COLUMN)
        except duckdb.ConversionException:
            if self.file_format() != "csv":
                return None
            # The reader itself guessed a type the data contradicts: look at the text of every value.
            connection.register(DELIVERED_VIEW, self.read(connection, files, with_file=True, all_varchar=True))
            failures = conversion_failures(connection, DELIVERED_VIEW, contract, FILE_COLUMN)
            if not failures:
                return DeliveryTypeError(
                    f"{contract.address}: reading the delivered files failed: {str(error).splitlines()[0]}. DuckDB guessed "
                    f"a column's type from the first rows; set options: {{sample_size: -1}} in {RECIPE_FILE} "
                    "to type it from every row"
                )
        finally:
            connection.unregister(DELIVERED_VIEW)
        if not failures:
            return None
        landing = build.landing.resolve()
        shown = [replace(f, examples=tuple((v, _relative(file, landing)) for v, file in f.examples)) for f in failures]
        listed = "\n  - ".join(map(str, shown))
        name = contract.file.name
        return DeliveryTypeError(
            f"{contract.address}: not published: delivered values do not convert to the types of {name}:\n  - {listed}\n"
            f"Correct the files in {build.landing}, or the columns' physicalType in {name}; the port keeps its current version."
        )


DELIVERED = ", as delivered to its landing folder."  # how a source's purpose ends
DELIVERED_VIEW = "mesh_delivered_files"


def _relative(file: str | None, landing: Path) -> str | None:
    if file is None:
        return None
    path = Path(file).resolve()
    return path.relative_to(landing).as_posix() if path.is_relative_to(landing) else str(path)


def inferred_file_columns(schema: FileSchema) -> tuple[list[Column], dict[str, str]]:
    """Contract columns for delivered files: their types, `required` where no row lacks a value, the proposed
    primary key, and a classification guessed from the name; with each guess's reason, by column."""
    columns, notes = [], {}
    for file_column in schema.columns:
        guess = guess_classification(file_column.name)
        position = schema.key.index(file_column.name) + 1 if file_column.name in schema.key else None
        physical = contract_type(file_column.type)
        required = file_column.complete and schema.rows > 0
        columns.append(
            Column.new(
                file_column.name,
                logical_type_of(physical),
                physical,
                required=required,
                primary_key=position is not None,
                primary_key_position=position,
                classification=guess.classification,
            )
        )
        notes[file_column.name] = guess.reason
    return columns, notes


def _csv_value(value: Any) -> str:
    """A value as a CSV file holds it: empty for NULL, true/false for booleans."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


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
