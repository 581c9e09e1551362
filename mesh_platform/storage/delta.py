"""Delta Lake tables: writing one as a stream of Arrow batches, reading one as Arrow data (what DuckDB scans)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction


def arrow_dataset(table: DeltaTable, uri: str) -> pads.Dataset:
    """A Delta table version as a lazy Arrow dataset."""
    import pyarrow.fs as pafs

    # Arrow's own local filesystem, not deltalake's default Rust-backed one: with that one the
    # process can abort at exit ("terminate called without an active exception", delta-rs #2184).
    return table.to_pyarrow_dataset(filesystem=pafs.SubTreeFileSystem(uri, pafs.LocalFileSystem()))


FILE_BYTES = 256 * 1024 * 1024  # a new Parquet file after about this much Arrow data (~50–120 MB on disk)


def overwrite_table(uri: str, batches: pa.RecordBatchReader, custom_metadata: dict[str, str], rows_key: str) -> int:
    """Make `batches` the whole content of the Delta table at `uri` (created if new), in one commit; the new version.
    The commit carries `custom_metadata`, and the number of rows written under `rows_key`.

    The Parquet files are written batch by batch as the stream comes (pyarrow's ParquetWriter: one
    batch in memory at a time), then committed with Delta Lake's own transaction API. Delta Lake's
    `write_deltalake` would take the same stream, but it collects the whole stream in memory before it
    writes (delta-rs issues #2968 and #3578, open as of deltalake 1.6): a build's memory would grow
    with its output. The table's schema is the stream's, in Delta's types (its Arrow form is what
    the files hold), so a schema change replaces the old one, as `schema_mode="overwrite"` does.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import CommitProperties, DeltaTable, Schema
    from deltalake.exceptions import TableNotFoundError
    from deltalake.transaction import AddAction, create_table_with_add_actions

    schema = Schema.from_arrow(batches.schema)
    file_schema = pa.schema(schema.to_arrow())  # e.g. dictionaries decoded, unsigned integers signed
    folder = Path(uri)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"part-{uuid.uuid4()}"
    actions: list[AddAction] = []
    writer: pq.ParquetWriter | None = None
    path = Path()
    written = 0

    def close() -> None:
        nonlocal writer
        if writer is not None:
            writer.close()
            actions.append(_add_action(path, folder, pq.read_metadata(path)))
            writer = None

    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if batch.schema != file_schema:
                batch = batch.cast(file_schema)
            if writer is None:
                path = folder / f"{prefix}-{len(actions):05d}.snappy.parquet"
                writer, written = pq.ParquetWriter(path, file_schema, compression="snappy"), 0
            writer.write_batch(batch)
            written += batch.nbytes
            if written >= FILE_BYTES:
                close()
        close()
    except BaseException:
        if writer is not None:
            writer.close()
        for file in folder.glob(f"{prefix}-*.parquet"):  # never committed: no reader can see them
            file.unlink(missing_ok=True)
        raise
    rows = sum(json.loads(action.stats)["numRecords"] for action in actions)
    commit = CommitProperties(custom_metadata={**custom_metadata, rows_key: str(rows)})
    try:
        table = DeltaTable(uri)
    except TableNotFoundError:
        create_table_with_add_actions(uri, schema, actions, mode="overwrite", commit_properties=commit)
    else:
        table.create_write_transaction(actions, "overwrite", schema, commit_properties=commit)
    return DeltaTable(uri).version()


def _add_action(path: Path, folder: Path, metadata: pq.FileMetaData) -> AddAction:
    """The Delta log entry adding one written Parquet file, with its row count as statistics.

    No column bounds: deltalake's own reader turns a column without bounds into a guarantee no
    row can meet (the file is skipped, rows go missing), so bounds would have to be written for
    every type exactly as delta-rs spells them. A build's port has few files (one per ~256 MB of
    data): skipping files would save little, and each reader reads every file correctly."""
    from deltalake.transaction import AddAction

    return AddAction(
        path=path.relative_to(folder).as_posix(),
        size=path.stat().st_size,
        partition_values={},
        modification_time=int(path.stat().st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": metadata.num_rows}),
    )
