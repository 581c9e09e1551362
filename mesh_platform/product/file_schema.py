"""Delivered files as DuckDB reads them, and what they hold: columns, types, and what holds over every row.

`read_files` is how a `source` product reads its files (CSV, JSON lines, Parquet; several
files as one table, columns matched by name). `infer_file_schema` reads them the same way
and says, from the data: each column's DuckDB type (CSV through DuckDB's sniffer), how many
rows lack a value, and the first column — or small combination of columns — that is unique
and complete over every row (a primary key to propose). Column names the mesh does not
accept (spaces, capitals, reserved words) get a name it does, which the recipe's `rename`
maps.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh_platform.core.errors import MeshError
from mesh_platform.core.names import check_name
from mesh_platform.core.sql import quote

if TYPE_CHECKING:
    import duckdb

_DELIVERED = "mesh_delivered"
FILE_COLUMN = "mesh_file"  # the file each row came from, when asked for (`with_file`)
KEY_COLUMNS = 6  # a combination key is looked for among the first complete columns, this many at most
# Types a primary key is not proposed on: values that are not identifiers.
_NOT_KEYS = ("DOUBLE", "FLOAT", "REAL", "BOOLEAN", "STRUCT", "MAP", "UNION", "JSON")


def read_files(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[str],
    file_format: str,
    options: Mapping[str, Any],
    rename: Mapping[str, str] | None = None,
    with_file: bool = False,
) -> duckdb.DuckDBPyRelation:
    """The files as one relation, read with the recipe's reader `options`, columns renamed by `rename`
    (file column → product column); `with_file` adds the column `mesh_file` naming each row's file."""
    files = list(files)
    named: dict[str, Any] = {"filename": FILE_COLUMN} if with_file else {}
    match file_format:
        case "csv":
            relation = connection.read_csv(files, union_by_name=True, **options, **named)
        case "jsonl":
            relation = connection.read_json(files, format="newline_delimited", **options, **named)
        case _:
            relation = connection.read_parquet(files, union_by_name=True, filename=with_file, **options)
            if with_file:  # DuckDB's Parquet reader names the column `filename`
                relation = relation.project(f'* RENAME ("filename" AS {FILE_COLUMN})')
    if rename:
        renamed = ", ".join(f"{quote(old)} AS {quote(new)}" for old, new in rename.items() if old in relation.columns)
        if renamed:
            relation = relation.project(f"* RENAME ({renamed})")
    return relation


@dataclass(frozen=True)
class FileColumn:
    name: str  # the product's name for it (`source` the file's, when they differ)
    type: str  # DuckDB's
    missing: int  # rows without a value
    source: str  # the file's name for it

    @property
    def complete(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True)
class FileSchema:
    rows: int
    columns: tuple[FileColumn, ...]
    key: tuple[str, ...] = ()  # the first column, or combination, unique and complete over every row
    options: dict[str, Any] = field(default_factory=dict)  # reader options the files need (added to the recipe's)

    @property
    def rename(self) -> dict[str, str]:
        """File column → product column, for the names the mesh does not accept as they are."""
        return {c.source: c.name for c in self.columns if c.source.lower() != c.name}


def infer_file_schema(files: Sequence[Path], file_format: str, options: Mapping[str, Any] | None = None) -> FileSchema:
    """What the files hold, read as a build reads them; a file DuckDB cannot read is a one-line `MeshError` naming it."""
    import duckdb

    options = dict(options or {})
    with duckdb.connect() as connection:
        try:
            return _inferred(connection, files, file_format, options, {})
        except duckdb.ConversionException:
            if file_format != "csv" or "sample_size" in options:
                raise
        except duckdb.Error as error:
            raise MeshError(f"cannot read {', '.join(map(str, files))} as {file_format}: {str(error).splitlines()[0]}") from None
        # The sniffer guessed a type from the first rows that a later row contradicts: type from every row.
        try:
            return _inferred(connection, files, file_format, options, {"sample_size": -1})
        except duckdb.Error as error:
            raise MeshError(f"cannot read {', '.join(map(str, files))} as {file_format}: {str(error).splitlines()[0]}") from None


def _inferred(
    connection: duckdb.DuckDBPyConnection, files: Sequence[Path], file_format: str, options: dict, needed: dict
) -> FileSchema:
    relation = read_files(connection, [str(f) for f in files], file_format, {**options, **needed})
    connection.register(_DELIVERED, relation)
    names = _product_names(relation.columns)
    counts = ", ".join(f"count({quote(c)})" for c in relation.columns)
    total, *present = connection.sql(f"SELECT count(*), {counts} FROM {_DELIVERED}").fetchall()[0]
    found = zip(relation.columns, relation.types, present, strict=True)
    columns = tuple(FileColumn(names[c], _type(str(t)), total - n, c) for c, t, n in found)
    return FileSchema(total, columns, _key(connection, columns, total), needed)


def _type(duckdb_type: str) -> str:
    return "VARCHAR" if duckdb_type.upper() in ("NULL", '"NULL"') else duckdb_type  # a column with no value yet


def _key(connection: duckdb.DuckDBPyConnection, columns: tuple[FileColumn, ...], rows: int) -> tuple[str, ...]:
    """The first complete column unique over the rows; else the first pair, then triple, of the first complete columns."""
    if rows < 2:
        return ()  # one row proves nothing
    keys = [c for c in columns if c.complete and not c.type.upper().startswith(_NOT_KEYS) and not c.type.endswith("]")]
    candidates = keys[:KEY_COLUMNS]
    for size in (1, 2, 3):
        combinations = list(itertools.combinations(candidates, size))
        if not combinations:
            return ()
        distinct = ", ".join(f"count(DISTINCT {_tuple(combination)})" for combination in combinations)
        counts = connection.execute(f"SELECT {distinct} FROM {_DELIVERED}").fetchall()[0]
        for combination, count in zip(combinations, counts, strict=True):
            if count == rows:
                return tuple(c.name for c in combination)
    return ()


def _tuple(columns: Sequence[FileColumn]) -> str:
    names = [quote(c.source) for c in columns]
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def _product_names(file_names: Sequence[str]) -> dict[str, str]:
    """Each file column's name in the product: lowercased, and made a name the mesh accepts where it is not one."""
    names: dict[str, str] = {}
    for original in file_names:
        name = original.lower()
        try:
            check_name(name, "column")
        except MeshError:
            name = re.sub(r"[^a-z0-9]+", "_", name).strip("_") or "column"
            name = name if name[0].isalpha() else f"c_{name}"
            try:
                check_name(name, "column")
            except MeshError:
                name = f"{name}_value"  # a reserved word
        while name in names.values():
            name = f"{name}_2"
        names[original] = name
    return names
