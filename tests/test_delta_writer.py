"""Writing a port as a stream: every row arrives, every reader reads it, a failed stream leaves nothing."""

import decimal

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from mesh_platform.storage import delta
from mesh_platform.storage.delta import arrow_dataset, overwrite_table
from mesh_platform.storage.location import Location

TYPED = """
SELECT i AS id, 'name ' || i AS name, (i * 1.25)::DECIMAL(10, 2) AS amount, TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS at,
       DATE '2024-01-01' + i::INTEGER AS day, i % 2 = 0 AS even, NULL::INTEGER AS nothing, i / 3 AS ratio
FROM range({rows}) t(i)
"""


def _write(uri, sql, batch_rows=1000, **metadata):
    return overwrite_table(Location.of(uri), duckdb.sql(sql).to_arrow_reader(batch_rows), metadata, rows_key="mesh.rows")


def test_every_type_reads_back_the_same_through_deltalake_duckdb_and_polars_with_filters(tmp_path):
    uri = tmp_path / "port"
    assert _write(uri, TYPED.format(rows=50)) == 0
    expected = duckdb.sql(TYPED.format(rows=50)).to_arrow_table()
    table = DeltaTable(str(uri))
    dataset = arrow_dataset(table, Location.of(uri))
    assert dataset.to_table().sort_by("id").to_pylist() == expected.sort_by("id").to_pylist()
    # Filters on every kind of column: readers that use a file's statistics must never skip rows that match.
    threshold = pa.scalar(decimal.Decimal("30.00"), pa.decimal128(10, 2))
    assert dataset.to_table(filter=pads.field("amount") > threshold).num_rows == 25
    assert dataset.to_table(filter=pads.field("at") >= pa.scalar(0, pa.timestamp("us"))).num_rows == 50
    assert dataset.to_table(filter=pads.field("nothing").is_null()).num_rows == 50
    assert dataset.to_table(filter=pads.field("name") == "name 7").num_rows == 1
    assert duckdb.sql("SELECT count(*) FROM dataset WHERE amount > 30 AND even").fetchall() == [(12,)]
    assert pl.scan_delta(str(uri)).filter(pl.col("amount") > 30).collect().height == 25
    assert pl.read_delta(str(uri)).height == 50
    [commit] = table.history()
    assert commit["mesh.rows"] == "50"


def test_a_long_stream_is_split_into_files_and_committed_once(tmp_path, monkeypatch):
    monkeypatch.setattr(delta, "FILE_BYTES", 64 * 1024)  # a new file every ~64 KB of data
    uri = tmp_path / "port"
    _write(uri, TYPED.format(rows=20_000))
    table = DeltaTable(str(uri))
    assert len(table.file_uris()) > 3
    assert table.version() == 0 and len(table.history()) == 1
    assert arrow_dataset(table, Location.of(uri)).count_rows() == 20_000


def test_a_new_version_replaces_rows_and_schema_and_the_old_one_stays_readable(tmp_path):
    uri = tmp_path / "port"
    _write(uri, TYPED.format(rows=10))
    assert _write(uri, "SELECT i AS id, 'x' AS other FROM range(3) t(i)") == 1
    assert DeltaTable(str(uri)).schema().to_arrow().names == ["id", "other"]
    assert arrow_dataset(DeltaTable(str(uri)), Location.of(uri)).count_rows() == 3
    assert arrow_dataset(DeltaTable(str(uri), version=0), Location.of(uri)).count_rows() == 10
    assert _write(uri, "SELECT 1 AS id, 'x' AS other WHERE false") == 2  # an empty result is a version too
    assert arrow_dataset(DeltaTable(str(uri)), Location.of(uri)).count_rows() == 0


def test_a_stream_that_fails_midway_leaves_the_port_and_its_folder_as_they_were(tmp_path):
    uri = tmp_path / "port"
    _write(uri, TYPED.format(rows=10))
    before = sorted(p.name for p in uri.iterdir())
    schema = pa.schema([("id", pa.int64())])

    def failing():
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise OSError("the disk is full")

    with pytest.raises(OSError, match="the disk is full"):
        overwrite_table(Location.of(uri), pa.RecordBatchReader.from_batches(schema, failing()), {}, rows_key="mesh.rows")
    assert sorted(p.name for p in uri.iterdir()) == before
    assert DeltaTable(str(uri)).version() == 0 and arrow_dataset(DeltaTable(str(uri)), Location.of(uri)).count_rows() == 10


def test_a_commit_that_fails_leaves_no_files_behind(tmp_path):
    uri = tmp_path / "port"
    uri.mkdir()
    (uri / "_delta_log").write_text("not a folder")  # no commit can be written here
    with pytest.raises(OSError, match="Not a directory"):
        _write(uri, TYPED.format(rows=10))
    assert sorted(p.name for p in uri.iterdir()) == ["_delta_log"]


@pytest.mark.parametrize(
    ("column", "unit", "partitions"),
    [("day", "D", 50), ("at", "D", 3), ("at", "h", 50)],
    ids=["days of a date", "days of a timestamp", "hours"],
)
def test_a_partitioned_stream_writes_one_partition_per_file_and_a_partition_is_replaced_without_rewriting(
    tmp_path, column, unit, partitions
):
    from deltalake import write_deltalake

    uri = tmp_path / "port"
    sql = TYPED.format(rows=50) + f' ORDER BY "{column}"'
    overwrite_table(
        Location.of(uri), duckdb.sql(sql).to_arrow_reader(7), {}, rows_key="mesh.rows", split=delta.FileSplit(column, unit)
    )
    table = DeltaTable(str(uri))
    # Each file holds one partition (writers side by side may give a partition several files), and every
    # filter still finds every row (the other columns have no bounds in the log).
    partition_of = {}
    for path in table.file_uris():
        values = (
            pa.compute.unique(pa.parquet.read_table(path).column(column).cast(pa.timestamp("us")))
            .to_numpy()
            .astype(f"datetime64[{unit}]")
        )
        assert len(set(values.tolist())) == 1
        partition_of[path] = values[0]
    assert len(set(partition_of.values())) == partitions
    first_files = sum(1 for key in partition_of.values() if key == min(partition_of.values()))
    dataset = arrow_dataset(table, Location.of(uri))
    assert (
        dataset.to_table(filter=pads.field("amount") > pa.scalar(decimal.Decimal("30.00"), pa.decimal128(10, 2))).num_rows == 25
    )
    assert pl.scan_delta(str(uri)).filter(pl.col("amount") > 30).collect().height == 25

    # The first partition again: Delta Lake removes its files by their bounds, and rewrites no other.
    ends = {"D": "2024-01-02T00:00:00", "h": "2024-01-01T01:00:00"}
    predicate = (
        f"\"{column}\" >= '2024-01-01T00:00:00' AND \"{column}\" < '{ends[unit]}'" if column == "at" else "\"day\" = '2024-01-01'"
    )
    condition = f"\"{column}\" < TIMESTAMP '{ends[unit]}'" if column == "at" else "day = DATE '2024-01-01'"
    first = (
        duckdb.sql(f"SELECT * FROM ({TYPED.format(rows=50)}) WHERE {condition}")
        .to_arrow_table()
        .cast(pa.schema(table.schema().to_arrow()))
    )
    write_deltalake(str(uri), first, mode="overwrite", predicate=predicate)
    metrics = DeltaTable(str(uri)).history(1)[0]["operationMetrics"]
    assert metrics["num_removed_files"] == first_files and metrics["num_added_files"] == 1  # nothing else rewritten
    assert arrow_dataset(DeltaTable(str(uri)), Location.of(uri)).count_rows() == 50


def test_duckdb_scans_a_version_whose_older_files_lack_a_column_as_the_arrow_dataset_reads_it(tmp_path):
    from deltalake import write_deltalake

    from mesh_platform.storage.sandbox import sandbox

    location = Location.of(tmp_path / "table")
    write_deltalake(location.uri, pa.table({"id": pa.array([1, 2], pa.int64())}))
    write_deltalake(location.uri, pa.table({"id": [3], "label": ["c"]}), mode="append", schema_mode="merge")
    table = delta.delta_table(location)
    files = delta.local_files(table, location)
    assert files is not None and len(files) == 2
    connection = sandbox(files=files)
    relation = delta.parquet_relation(connection, files, delta.duckdb_columns(connection, table))
    assert relation is not None and "PARQUET_SCAN" in relation.explain()
    as_arrow = connection.from_arrow(arrow_dataset(table, location))
    assert sorted(relation.fetchall()) == sorted(as_arrow.fetchall()) == [(1, None), (2, None), (3, "c")]
    assert relation.types == as_arrow.types


def test_a_version_whose_file_holds_another_type_than_the_table_is_left_to_the_arrow_dataset(tmp_path):
    from deltalake import write_deltalake

    from mesh_platform.storage.sandbox import sandbox

    location = Location.of(tmp_path / "table")
    write_deltalake(location.uri, pa.table({"id": pa.array([1, 2], pa.int64())}))
    table = delta.delta_table(location)
    [file] = delta.local_files(table, location) or []
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32())}), file)  # as another writer may have
    connection = sandbox(files=[file])
    assert delta.parquet_relation(connection, [file], delta.duckdb_columns(connection, table)) is None
    assert delta.local_files(table, Location.of("s3://bucket/table")) is None  # on an object store: Arrow's
