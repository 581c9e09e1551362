"""A build's output staged as Parquet files beside its port: committed as written, read back the same by every
reader, invisible and then gone when the build fails; columns whose Parquet form is DuckDB's own stage otherwise."""

from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from mesh_platform.storage import staged_files
from mesh_platform.storage.delta import arrow_dataset, commit_files, overwrite_table
from mesh_platform.storage.location import Location
from mesh_platform.storage.sandbox import sandbox

from .test_delta_writer import TYPED


def _staged(port, sql):
    """`sql` staged beside `port` by a build's sandboxed connection (allowed the staging root only)."""
    connection = sandbox([staged_files.staging_root(port)])
    return connection, staged_files.write(connection, sql, port)


def _commit(port, staged):
    files = [(file.path, file.rows, file.bytes) for file in staged.files]
    return commit_files(Location.of(port), files, staged.schema, {"mesh.run": "r1"}, rows_key="mesh.rows")


def test_staged_files_are_committed_as_written_and_read_back_as_the_streamed_table_is(tmp_path, monkeypatch):
    monkeypatch.setattr(staged_files, "FILE_SIZE", "64KB")  # a file per row group (122,880 rows)
    port, streamed = tmp_path / "port", tmp_path / "streamed"
    sql = TYPED.format(rows=250_000)
    connection, staged = _staged(port, sql)
    assert staged is not None and len(staged.files) > 2 and staged.rows == 250_000
    # Before the commit no reader sees them: there is no table, and the folder is one Delta Lake hides.
    assert all(staged_files.STAGED_FOLDER in file.path.parts for file in staged.files)
    assert connection.sql(f"SELECT count(*) FROM {staged.scan_sql()}").fetchall() == [(250_000,)]
    assert _commit(port, staged) == 0
    staged.discard()
    assert not staged_files.staging_root(port).exists()  # the files moved into the table, the folder went
    table = DeltaTable(str(port))
    files = [Path(uri).name for uri in table.file_uris()]
    assert all(name.startswith("part-") and name.endswith(".zstd.parquet") for name in files) and len(files) == len(staged.files)
    codecs = {pq.ParquetFile(uri).metadata.row_group(0).column(0).compression for uri in table.file_uris()}
    assert codecs == {"ZSTD"}  # as the names say (staged_files.COMPRESSION)
    # The same schema (every column nullable) and rows as the same SQL streamed through Arrow.
    overwrite_table(Location.of(streamed), duckdb.sql(sql).to_arrow_reader(1000), {}, rows_key="mesh.rows")
    assert table.schema().to_json() == DeltaTable(str(streamed)).schema().to_json()
    expected = duckdb.sql(sql).to_arrow_table().sort_by("id")
    assert arrow_dataset(table, Location.of(port)).to_table().sort_by("id").equals(expected)
    assert pl.read_delta(str(port)).height == 250_000
    [commit] = table.history()
    assert commit["mesh.rows"] == "250000" and commit["mesh.run"] == "r1"


def test_a_new_version_from_staged_files_replaces_the_rows_and_keeps_the_old_version_readable(tmp_path):
    port = tmp_path / "port"
    _commit(port, _staged(port, TYPED.format(rows=10))[1])
    _, staged = _staged(port, "SELECT i AS id, 'new' AS name FROM range(3) t(i)")
    assert _commit(port, staged) == 1
    assert DeltaTable(str(port)).to_pyarrow_table().sort_by("id").to_pylist() == [{"id": i, "name": "new"} for i in range(3)]
    assert DeltaTable(str(port), version=0).to_pyarrow_table().num_rows == 10


def test_no_rows_make_a_table_of_the_columns_and_no_file(tmp_path):
    port = tmp_path / "port"
    connection, staged = _staged(port, TYPED.format(rows=0))
    assert staged.rows == 0 and connection.sql(f"SELECT * FROM {staged.scan_sql()}").columns[:2] == ["id", "name"]
    _commit(port, staged)
    table = DeltaTable(str(port))
    assert table.file_uris() == [] and [field.name for field in table.schema().fields][:2] == ["id", "name"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT uuid() AS id",
        "SELECT 1::HUGEINT AS big",
        "SELECT [1, 2] AS items",
        "SELECT 1::UBIGINT AS unsigned",
        "SELECT TIMESTAMP_NS '2024-01-01 00:00:00.000000001' AS at",
    ],
    ids=["uuid", "hugeint", "list", "unsigned", "nanoseconds"],
)
def test_columns_duckdb_writes_in_a_form_of_its_own_are_not_staged_as_files(tmp_path, sql):
    port = tmp_path / "port"
    _, staged = _staged(port, sql)
    assert staged is None and not staged_files.staging_root(port).exists()


def test_what_a_killed_build_left_staged_goes_with_the_next_build(tmp_path):
    port = tmp_path / "port"
    left = staged_files.staging_root(port) / "a-killed-build"
    left.mkdir(parents=True)
    (left / "data_0.parquet").write_bytes(b"half a file")
    _, staged = _staged(port, TYPED.format(rows=5))
    assert not left.exists() and [p.name for p in staged_files.staging_root(port).iterdir()] == [staged.folder.name]


def test_a_commit_that_fails_leaves_the_staged_files_to_their_discard_and_none_in_the_table(tmp_path):
    port = tmp_path / "port"
    port.mkdir()
    (port / "_delta_log").write_text("not a folder")  # no commit can be written here
    _, staged = _staged(port, TYPED.format(rows=10))
    with pytest.raises(OSError, match="Not a directory"):
        _commit(port, staged)
    staged.discard()
    assert sorted(p.name for p in port.iterdir()) == ["_delta_log"]
