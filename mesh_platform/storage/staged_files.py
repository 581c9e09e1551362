"""A build's output staged as Parquet files beside its port, before they are part of it.

DuckDB writes the build's SELECT straight to Parquet (`COPY … TO`: its own parallel writer, streaming, no copy
of the rows in memory) into a folder of the port that Delta Lake's readers and VACUUM skip (`_mesh_staged/`:
hidden by its leading underscore). The checks scan those files (write–audit–publish); publishing moves them into
the table's folder and names them in one Delta commit (`delta.commit_files`); a failed build removes them. No
reader sees them before the commit: a Delta table is the files its log names.

Only where the files are exactly what the port's Delta schema says: columns of the plain types below (a
nested, unsigned, huge or nanosecond value is written by DuckDB in a form of its own), checked again on the
written files' own schema; otherwise the build stages a temporary table (`storage.domain_database`), as it does
for what this cannot take (`build`: a port on an object store, personal columns, partitions, incremental builds).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.sql import literal

if TYPE_CHECKING:
    import duckdb
    from deltalake import Schema

STAGED_FOLDER = "_mesh_staged"  # in the port's folder: hidden from Delta Lake (a leading underscore)
FILE_SIZE = "128MB"  # DuckDB starts a new file past about this much Parquet
# and a new row group past about this much data (not DuckDB's default of 122,880 rows, whatever their width): its
# writer holds a few row groups per thread, which at 122,880 rows of 100-byte text overran a 128 MB memory limit
# (tests/test_build_memory.py) and at 2,000 BIGINT columns would be 2 GB each.
ROW_GROUP_SIZE = "8MB"
# Zstandard at its fastest level: on the jaffle shop's 20M order items (three UUID-like text columns) DuckDB wrote
# them in 4.8 s against 5.7-6.8 s with Snappy, half the bytes (0.64 against 1.41 GB), and scanned them back faster
# (3.5 against 3.9-4.0 s); its default level 3 took 7.1 s. Every Parquet reader a port has (deltalake, Arrow,
# DuckDB, polars, Spark) reads it. The file names say it (`part_0.zstd.parquet`), as Spark's and delta-rs' do.
COMPRESSION, COMPRESSION_LEVEL = "zstd", 1
# DuckDB types whose Parquet form is the Delta type of their Arrow form.
PLAIN_TYPES = re.compile(
    r"(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|FLOAT|DOUBLE|VARCHAR|BLOB|DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE"
    r"|DECIMAL\(\d+,\d+\))"
)


def staging_root(port_folder: Path) -> Path:
    """Where builds of the port at `port_folder` stage their files (one folder each)."""
    return port_folder / STAGED_FOLDER


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int
    bytes: int


@dataclass(frozen=True)
class StagedFiles:
    """The Parquet files one build wrote, not yet part of its port, and the Delta schema they hold."""

    folder: Path
    files: tuple[WrittenFile, ...]
    schema: Schema
    made: Path  # the outermost folder the staging made (its port's own, for a product never published)

    @property
    def rows(self) -> int:
        return sum(file.rows for file in self.files)

    def scan_sql(self) -> str:
        """SQL reading the staged rows with DuckDB's Parquet reader (no rows: DuckDB still writes a file, of none)."""
        return f"read_parquet([{', '.join(literal(str(file.path)) for file in self.files)}])"

    def discard(self) -> None:
        """Remove whatever of the files is still staged (those a commit moved into the port are not here)."""
        _remove(self.folder, self.made)


def write(connection: duckdb.DuckDBPyConnection, select_sql: str, port_folder: Path) -> StagedFiles | None:
    """Write the rows of `select_sql` as Parquet files into a new folder of `port_folder`'s staging root (the
    connection's sandbox allows that root); None, with nothing left behind, when the rows are not of plain
    types, and the build must stage them otherwise. What earlier builds left there (a killed one) goes first:
    a domain's builds hold its DuckDB file one at a time, so none is staging now."""
    from deltalake import Schema

    relation = connection.sql(select_sql)
    if not all(PLAIN_TYPES.fullmatch(str(type_)) for type_ in relation.types):
        return None
    try:
        schema = Schema.from_arrow(relation.limit(0).to_arrow_table().schema)
    except Exception:  # no Delta form (a time zone Delta Lake does not take): the other staging says why
        return None
    root = staging_root(port_folder)
    shutil.rmtree(root, ignore_errors=True)
    folder = root / uuid.uuid4().hex
    made = next(parent for parent in [*reversed(folder.parents), folder] if not parent.exists())
    folder.mkdir(parents=True)
    try:
        written = connection.execute(
            f"COPY ({select_sql}) TO {literal(str(folder))} "
            f"(FORMAT parquet, COMPRESSION {COMPRESSION}, COMPRESSION_LEVEL {COMPRESSION_LEVEL}, "
            f"FILE_SIZE_BYTES {literal(FILE_SIZE)}, ROW_GROUP_SIZE_BYTES {literal(ROW_GROUP_SIZE)}, "
            f"FILENAME_PATTERN {literal('part_{i}.' + COMPRESSION)}, RETURN_STATS)"
        ).fetchall()
        files = tuple(WrittenFile(Path(row[0]), int(row[1]), int(row[2])) for row in written)
        if not files or not _holds(files[0].path, schema):
            _remove(folder, made)
            return None
        return StagedFiles(folder, files, schema, made)
    except BaseException:
        _remove(folder, made)
        raise


def _remove(folder: Path, made: Path) -> None:
    """`folder` and what it holds, then each folder up to `made` left empty (the staging root, a port's that
    holds no table yet): a build that publishes nothing leaves nothing."""
    shutil.rmtree(folder, ignore_errors=True)
    for parent in folder.parents:
        if not parent.is_relative_to(made):
            break
        with contextlib.suppress(OSError):  # not empty: a table, or another build's files
            parent.rmdir()


def _holds(file: Path, schema: Schema) -> bool:
    """Whether the Parquet `file` holds the columns of `schema` with its Delta types (nullability aside: DuckDB
    marks a column it knows has no empty value required, which a nullable Delta column reads the same)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import Schema

    found = pq.read_schema(file)
    nullable = pa.schema([field.with_nullable(True) for field in found])
    try:
        return Schema.from_arrow(nullable).to_json() == schema.to_json()
    except Exception:
        return False
