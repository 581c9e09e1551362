"""Delta Lake tables: writing one as a stream of Arrow batches or from Parquet files already written, replacing
a part of one (a partition), reading one as Arrow data or as its Parquet files (what DuckDB scans). Each table
has a `Location`: a local folder or a prefix of an object store."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mesh_platform.core.errors import StoreRefusedError
from mesh_platform.storage.location import Location

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, RemoveAction


STORE_REFUSALS = (
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "403 Forbidden",
)  # what S3 answers a key it refuses


@contextlib.contextmanager
def refused_by_store(location: Location) -> Iterator[None]:
    """Turn the object store's refusal of the credentials in use into `StoreRefusedError`, naming the location."""
    try:
        yield
    except Exception as error:
        text = str(error)
        code = next((code for code in STORE_REFUSALS if code in text), None)
        if code is None or location.local:
            raise
        raise StoreRefusedError(
            f"the store refused the credentials in use ({code}) for {location.uri}: their principal's store policy does not "
            "grant it — if the contracts do, run mesh deploy access --apply; else ask the product's owner for the grant",
            code,
            location.uri,
        ) from None


def delta_table(location: Location, version: int | None = None) -> DeltaTable:
    """The Delta table at `location` (a past `version` of it when given)."""
    from deltalake import DeltaTable

    with refused_by_store(location):
        return DeltaTable(location.uri, version=version, storage_options=location.storage_options())


def is_delta_table(location: Location) -> bool:
    from deltalake import DeltaTable

    with refused_by_store(location):
        return DeltaTable.is_deltatable(location.uri, storage_options=location.storage_options())


def commit_location(location: Location, version: int) -> Location:
    """Where commit `version` of the Delta table at `location` is: the file `_delta_log/<version, 20 digits>.json`,
    written once by whoever makes that commit (the Delta protocol's own record of it)."""
    return location.child("_delta_log", f"{version:020d}.json")


def added_bytes(location: Location, version: int) -> int:
    """The size of the Parquet files commit `version` of the Delta table at `location` added: what that commit
    wrote (a whole table, the files of a replaced partition, the files a MERGE rewrote).

    The sizes of the `add` actions in the version's commit file (`_delta_log/<version>.json`, the Delta
    protocol's own record of a commit). deltalake has no API for one commit's actions (delta-rs records
    no bytes in its operationMetrics), and diffing two snapshots' add actions costs a log replay each:
    ~50 ms per build on a table of 200 versions, against 0.1 ms for the one file."""
    import json

    with location.filesystem().open_input_stream(commit_location(location, version).file_path()) as stream:
        actions = [json.loads(line) for line in stream.read().decode().splitlines() if line.strip()]
    return sum(int(action["add"].get("size") or 0) for action in actions if "add" in action)


def arrow_dataset(table: DeltaTable, location: Location) -> pads.Dataset:
    """A Delta table version as a lazy Arrow dataset: its Parquet files, in the table's schema.

    The files are read as plain Parquet, each file's own row-group statistics deciding what a
    filter may skip. Not through deltalake's `to_pyarrow_dataset`: that one turns the Delta log's
    per-file statistics into guarantees, and a file whose statistics name only some columns (the
    mesh writes bounds for a partitioned product's partition column alone) would be skipped by
    any filter on another column - rows would go missing. Arrow's own filesystem (local or S3), not
    deltalake's Rust one: with that one the process can abort at exit (delta-rs #2184)."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    schema = pa.schema(table.schema().to_arrow())
    files = [location.file_path(uri) for uri in table.file_uris()]
    return pads.dataset(files, schema=schema, format="parquet", filesystem=location.filesystem())


def local_files(table: DeltaTable, location: Location) -> list[str] | None:
    """The Parquet files of a Delta table version on this machine's file system; None on an object store."""
    return [location.file_path(uri) for uri in table.file_uris()] if location.local else None


def duckdb_columns(connection: duckdb.DuckDBPyConnection, table: DeltaTable) -> tuple[tuple[str, str], ...]:
    """The columns of a Delta table version's schema as DuckDB reads its Arrow form: (name, type), in order.

    Read through arro3, deltalake's own Arrow library: without the ~0.5 s that importing pyarrow.dataset costs a read."""
    import arro3.core

    expected = connection.from_arrow(arro3.core.Table.from_batches([], schema=table.schema().to_arrow()))
    return tuple(zip(expected.columns, (str(type_) for type_ in expected.types), strict=True))


def parquet_relation(
    connection: duckdb.DuckDBPyConnection, files: list[str], columns: tuple[tuple[str, str], ...]
) -> duckdb.DuckDBPyRelation | None:
    """A Delta table version's `files` scanned by DuckDB's own Parquet reader (each file's row groups skipped by
    their statistics, its threads), when that reads them as the table's schema says (`columns`, from
    `duckdb_columns`): the same columns, of the same types, in the same order (files without a column give NULLs,
    as in `arrow_dataset`). None when it would not (a file of another schema; no file at all): `arrow_dataset`
    reads them then."""
    import duckdb

    if not files:
        return None
    try:
        relation = connection.read_parquet(files, union_by_name=True)
    except duckdb.Error:
        return None
    if tuple(zip(relation.columns, (str(type_) for type_ in relation.types), strict=True)) != columns:
        return None
    return relation


@dataclass(frozen=True)
class FileSplit:
    """How a partitioned product's files are cut: each holds rows of one partition of `column` only (the
    partition's start as numpy's datetime in `unit`: h, D or M), with that column's bounds in the Delta log,
    so that replacing a partition removes whole files (Delta Lake skips the others by their bounds) and
    rewrites none."""

    column: str
    unit: str

    def runs(self, batch: pa.RecordBatch) -> Iterator[tuple[object, pa.RecordBatch]]:
        """(partition, rows) for each run of rows of one partition in `batch` (sorted rows give one run per partition)."""
        import numpy as np

        values = batch.column(self.column).to_numpy(zero_copy_only=False)
        keys = values.astype(f"datetime64[{self.unit}]")
        cuts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), batch.num_rows]
        for start, end in itertools.pairwise(cuts):
            yield keys[start], batch.slice(start, end - start)

    def bounds(self, rows: pa.RecordBatch) -> tuple[object, object]:
        import pyarrow.compute as pc

        found = pc.min_max(rows.column(self.column)).as_py()
        return found["min"], found["max"]


FILE_BYTES = 256 * 1024 * 1024  # a new Parquet file after about this much Arrow data (~50–120 MB on disk)
WRITERS = min(4, os.cpu_count() or 1)  # Parquet files written side by side (encoding releases the GIL)


def overwrite_table(
    location: Location,
    batches: pa.RecordBatchReader,
    custom_metadata: dict[str, str],
    rows_key: str,
    split: FileSplit | None = None,
) -> int:
    """Make `batches` the whole content of the Delta table at `location` (created if new), in one commit; the new version.
    The commit carries `custom_metadata`, and the number of rows written under `rows_key`. With `split`
    (a partitioned product), each file holds one partition's rows.

    The Parquet files are written as the stream comes (pyarrow's ParquetWriter, `WRITERS` files at a
    time, each batch handed to the next free writer: a few batches in memory at once), then committed
    with Delta Lake's own transaction API. Delta Lake's `write_deltalake` would take the same stream,
    but it collects the whole stream in memory before it writes (delta-rs issues #2968 and #3578, open
    as of deltalake 1.6): a build's memory would grow with its output. Rows keep no order across files
    (as in any Delta table: a reader orders with ORDER BY). The table's schema is the stream's, in
    Delta's types (its Arrow form is what the files hold), so a schema change replaces the old one,
    as `schema_mode="overwrite"` does.
    """
    import pyarrow as pa
    from deltalake import Schema

    schema = Schema.from_arrow(batches.schema)
    file_schema = pa.schema(schema.to_arrow())  # e.g. dictionaries decoded, unsigned integers signed
    filesystem, folder = location.filesystem(), location.file_path()
    if location.local:  # an object store has no folders: creating one would ask for the bucket (HeadBucket), which a
        filesystem.create_dir(folder, recursive=True)  # principal's key needs no right to
    prefix = f"part-{uuid.uuid4()}"
    handed: queue.Queue[tuple[object, pa.RecordBatch] | None] = queue.Queue(maxsize=2 * WRITERS)
    writers = [_FileWriter(filesystem, folder, f"{prefix}-{index}", file_schema, handed, split) for index in range(WRITERS)]
    threads = [
        threading.Thread(target=writer.run, name=f"parquet-writer-{index}", daemon=True) for index, writer in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    try:
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if any(writer.error for writer in writers):
                    break  # a writer failed: stop reading, its error is raised below
                batch = batch if batch.schema == file_schema else batch.cast(file_schema)
                for item in split.runs(batch) if split else [(None, batch)]:
                    handed.put(item)
        finally:
            for _ in threads:
                handed.put(None)
            for thread in threads:
                thread.join()
        if errors := [writer.error for writer in writers if writer.error]:
            raise errors[0]
        _commit_whole(location, schema, [action for writer in writers for action in writer.actions], custom_metadata, rows_key)
    except BaseException:
        _remove_unless_referenced(location, prefix)  # the stream or the commit failed: no reader can see these files
        raise
    return delta_table(location).version()


def commit_files(
    location: Location, files: Iterable[tuple[Path, int, int]], schema: Schema, custom_metadata: dict[str, str], rows_key: str
) -> int:
    """Make the Parquet `files` (path, rows, bytes: written on this machine, holding `schema`) the whole content of
    the local Delta table at `location` (created if new), in one commit; the new version. Each is moved into the
    table's folder first (a rename: the same file system), named as the table's own files are but for the ending
    it was written with (`.zstd.parquet`); a file of no rows is left out. As `overwrite_table`, the commit carries
    `custom_metadata` and the rows under `rows_key`."""
    folder = location.path
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"part-{uuid.uuid4()}"
    actions = []
    try:
        for index, (path, rows, size) in enumerate(file for file in files if file[1] > 0):
            name = f"{prefix}-{index:05d}{''.join(path.suffixes) or '.parquet'}"
            path.rename(folder / name)
            actions.append(_add_action(name, size, (folder / name).stat().st_mtime_ns, rows))
        _commit_whole(location, schema, actions, custom_metadata, rows_key)
    except BaseException:
        _remove_unless_referenced(location, prefix)
        raise
    return delta_table(location).version()


def _commit_whole(
    location: Location, schema: Schema, actions: list[AddAction], custom_metadata: dict[str, str], rows_key: str
) -> None:
    """One commit making the files `actions` add the whole table (Delta Lake's transaction API), of `schema`
    (replacing the old one, as `schema_mode="overwrite"` does), its metadata with the rows under `rows_key`."""
    from deltalake import CommitProperties
    from deltalake.exceptions import TableNotFoundError
    from deltalake.transaction import create_table_with_add_actions

    rows = sum(json.loads(action.stats)["numRecords"] for action in actions)
    commit = CommitProperties(custom_metadata={**custom_metadata, rows_key: str(rows)})
    try:
        table = delta_table(location)
    except TableNotFoundError:
        create_table_with_add_actions(
            location.uri,
            schema,
            actions,
            mode="overwrite",
            storage_options=location.storage_options(),
            commit_properties=commit,
        )
    else:
        changes: list[AddAction | RemoveAction] = [*actions]
        table.create_write_transaction(changes, "overwrite", schema, commit_properties=commit)


def _remove_unless_referenced(location: Location, prefix: str) -> None:
    """After a failed write or commit: the table's files named `prefix…` go, unless its current version holds
    them (a commit that happened keeps them)."""
    import pyarrow.fs as pafs

    if _references(location, prefix):
        return
    filesystem, folder = location.filesystem(), location.file_path()
    for file in filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
        if PurePosixPath(file.path).name.startswith(prefix):
            filesystem.delete_file(file.path)


def replace_rows(
    location: Location, batches: pa.RecordBatchReader, predicate: str, custom_metadata: dict[str, str], rows_key: str
) -> int:
    """Replace the rows of the Delta table at `location` that match `predicate` by `batches`, in one commit; the new version.

    Delta Lake's own predicate overwrite (`write_deltalake(..., predicate=...)`): files holding only matching
    rows are removed, files mixing both kinds are rewritten without the matching rows, and every row of
    `batches` must match `predicate` (Delta Lake refuses the commit otherwise). It takes the rows in
    memory before it writes (delta-rs #2968), which for one partition of a product is a small part of
    it; a whole table goes through `overwrite_table`, which streams.
    """
    import pyarrow as pa
    from deltalake import CommitProperties, Schema, write_deltalake

    table = delta_table(location)
    rows = batches.read_all()
    file_schema = pa.schema(Schema.from_arrow(rows.schema).to_arrow())
    current = pa.schema(table.schema().to_arrow())
    if not file_schema.equals(current):
        raise SchemaChangeError(_schema_difference(current, file_schema))
    commit = CommitProperties(custom_metadata={**custom_metadata, rows_key: str(rows.num_rows)})
    write_deltalake(table, rows.cast(file_schema), mode="overwrite", predicate=predicate, commit_properties=commit)
    return delta_table(location).version()


def merge_rows(location: Location, changes: pa.Table, key: list[str], delete_column: str, custom_metadata: dict[str, str]) -> int:
    """Apply `changes` to the Delta table at `location` by `key`, in one commit (Delta Lake's MERGE); the new version.

    A change whose `delete_column` is true deletes its key's row; any other replaces it, or adds it when the
    key is new. Only the files holding changed keys are rewritten."""
    import pyarrow as pa
    from deltalake import CommitProperties, Schema

    table = delta_table(location)
    current = pa.schema(table.schema().to_arrow())
    columns = [name for name in changes.column_names if name != delete_column]
    new = pa.schema(Schema.from_arrow(changes.select(columns).schema).to_arrow())
    if not new.equals(current):
        raise SchemaChangeError(_schema_difference(current, new))
    changes = changes.select(columns).cast(new).append_column(delete_column, changes[delete_column])
    values = {f'"{name}"': f'source."{name}"' for name in columns}
    matched = " AND ".join(f'target."{name}" = source."{name}"' for name in key)
    removed, kept = f'source."{delete_column}"', f'NOT source."{delete_column}"'
    (
        table.merge(
            changes,
            matched,
            source_alias="source",
            target_alias="target",
            commit_properties=CommitProperties(custom_metadata=custom_metadata),
        )
        .when_matched_delete(removed)
        .when_matched_update(values, kept)
        .when_not_matched_insert(values, kept)
        .execute()
    )
    return delta_table(location).version()


class SchemaChangeError(ValueError):
    """A part of a table cannot be replaced by rows of other columns or types: the whole table must be."""


def _schema_difference(current: pa.Schema, new: pa.Schema) -> str:
    gone = [f.name for f in current if f.name not in new.names]
    added = [f.name for f in new if f.name not in current.names]
    retyped = [
        f"{f.name} ({current.field(f.name).type} → {f.type})"
        for f in new
        if f.name in current.names and current.field(f.name).type != f.type
    ]
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("columns gone", gone), ("columns added", added), ("retyped", retyped))
        if names
    ]
    return "; ".join(parts) or "the column order changed"


def _references(location: Location, prefix: str) -> bool:
    """Whether the table's current version holds a file whose name starts with `prefix`."""
    try:
        return any(PurePosixPath(file).name.startswith(prefix) for file in delta_table(location).file_uris())
    except Exception:  # no table, or none readable: nothing references the files
        return False


class _FileWriter:
    """One writer thread: the batches it takes go to its own Parquet files, a new one every `FILE_BYTES`
    and, with a `split`, whenever a batch of another partition comes."""

    def __init__(
        self,
        filesystem: pafs.FileSystem,
        folder: str,
        prefix: str,
        schema: pa.Schema,
        handed: queue.Queue,
        split: FileSplit | None = None,
    ):
        self.filesystem, self.folder, self.prefix, self.schema, self.handed, self.split = (
            filesystem,
            folder,
            prefix,
            schema,
            handed,
            split,
        )
        self.actions: list[AddAction] = []
        self.error: BaseException | None = None
        self._writer: pq.ParquetWriter | None = None
        self._name, self._written, self._rows = "", 0, 0
        self._partition: object = None
        self._bounds: tuple[Any, Any] | None = None

    def run(self) -> None:
        while (item := self.handed.get()) is not None:
            if self.error is not None:
                continue  # keep taking batches, so the reading side never waits on a failed writer
            try:
                self._write(*item)
            except BaseException as error:  # raised by overwrite_table once every writer has stopped
                self.error = error
        try:
            self._close()
        except BaseException as error:
            self.error = self.error or error

    def _write(self, partition: object, batch: pa.RecordBatch) -> None:
        import pyarrow.parquet as pq

        if self._writer is not None and partition != self._partition:
            self._close()
        if self._writer is None:
            self._name = f"{self.prefix}-{len(self.actions):05d}.snappy.parquet"
            writer = pq.ParquetWriter(
                f"{self.folder}/{self._name}", self.schema, compression="snappy", filesystem=self.filesystem
            )
            self._writer, self._written, self._rows, self._partition, self._bounds = writer, 0, 0, partition, None
        self._writer.write_batch(batch)
        self._written += batch.nbytes
        self._rows += batch.num_rows
        if self.split is not None:
            low, high = self.split.bounds(batch)
            self._bounds = (low, high) if self._bounds is None else (min(self._bounds[0], low), max(self._bounds[1], high))
        if self._written >= FILE_BYTES:
            self._close()

    def _close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        if self.error is None:
            bounds: dict[str, tuple[Any, Any]] = (
                {self.split.column: self._bounds} if self.split is not None and self._bounds is not None else {}
            )
            written = self.filesystem.get_file_info(f"{self.folder}/{self._name}")
            self.actions.append(_add_action(self._name, written.size, written.mtime_ns, self._rows, bounds))


def _add_action(
    name: str, size: int, mtime_ns: int | None, rows: int, bounds: dict[str, tuple[object, object]] | None = None
) -> AddAction:
    """The Delta log entry adding one written Parquet file, with its row count as statistics, and the
    `bounds` (min, max) of the columns given (a partitioned product's partition column).

    No bounds for the other columns: delta-rs would need them written for every type exactly as it
    spells them, and the mesh reads its ports as plain Parquet (`arrow_dataset`), whose own row-group
    statistics skip what a filter excludes. The partition column's bounds let Delta Lake replace a
    partition by removing whole files."""
    from deltalake.transaction import AddAction

    stats: dict[str, object] = {"numRecords": rows}
    if bounds:
        stats |= {
            "minValues": {column: _stat(low) for column, (low, _) in bounds.items()},
            "maxValues": {column: _stat(high) for column, (_, high) in bounds.items()},
            "nullCount": dict.fromkeys(bounds, 0),  # partition columns are required
        }
    return AddAction(
        path=name,
        size=size,
        partition_values={},
        modification_time=(mtime_ns // 1_000_000) if mtime_ns else int(dt.datetime.now(dt.UTC).timestamp() * 1000),
        data_change=True,
        stats=json.dumps(stats),
    )


def _stat(value: object) -> str:
    """A date or timestamp as delta-rs writes it in statistics (milliseconds: a bound cut down stays inside its partition)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"no Delta statistics form for {value!r}")
