"""A port's current files, recorded at each commit, spare a first read opening the Delta log; a commit made
after the record (by another tool, a VACUUM) makes readers open the table again, never read a stale version."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pytest

from mesh_platform.contract.loading import load_contract
from mesh_platform.core.address import Address
from mesh_platform.storage import current_files
from mesh_platform.storage.location import Location
from mesh_platform.storage.ports import Port

from .conftest import column, contract_yaml

ADDRESS = Address.parse("mesh://shop/things@v1")


@pytest.fixture
def port(tmp_path):
    return Port(Location.of(tmp_path / "ports"), ADDRESS)


@pytest.fixture
def contract(tmp_path):
    file = tmp_path / "contract.yaml"
    file.write_text(contract_yaml("shop", "things", [column("id", "integer", "BIGINT"), column("name")]))
    return load_contract(file)


def _rows(snapshot) -> list[tuple]:
    connection = duckdb.connect()
    relation = snapshot.parquet_relation(connection)
    assert relation is not None
    return sorted(relation.fetchall())


def _things(*ids: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"thing {i}" for i in ids]})


def test_the_current_version_is_read_from_the_record_its_commit_left_without_opening_the_table(port, contract):
    port.publish(_things(1, 2), contract, "run-1")
    port.publish(_things(1, 2, 3), contract, "run-2")
    snapshot = port.snapshot()
    assert snapshot.recorded is not None and "table" not in snapshot.__dict__  # the Delta table was not opened
    assert (snapshot.version.version, snapshot.version.run_id, snapshot.version.rows) == (1, "run-2", 3)
    assert _rows(snapshot) == [(1, "thing 1"), (2, "thing 2"), (3, "thing 3")]
    # What the record says is what Delta Lake says.
    opened = port.snapshot(1)
    assert opened.recorded is None and sorted(opened.files) == sorted(snapshot.files)
    assert opened.version == snapshot.version
    assert sorted(opened.dataset.to_table().to_pylist(), key=lambda row: row["id"]) == [
        {"id": i, "name": f"thing {i}"} for i in (1, 2, 3)
    ]


def test_a_commit_after_the_record_sends_readers_to_the_table(port, contract):
    from deltalake import write_deltalake

    port.publish(_things(1), contract, "run-1")
    write_deltalake(port.uri, _things(9), mode="append")  # another tool: no record of its commit
    snapshot = port.snapshot()
    assert snapshot.recorded is None and snapshot.table_version == 1
    assert _rows(snapshot) == [(1, "thing 1"), (9, "thing 9")]
    assert (snapshot.version.version, snapshot.version.run_id) == (1, None)  # the other tool's commit: no run of ours


def test_a_vacuum_by_retention_records_the_table_again(port, contract):
    for run in range(3):
        port.publish(_things(*range(run + 1)), contract, f"run-{run}")
    removal = port.remove_before(2, dt.timedelta(days=7), "7 days")
    assert removal.files  # versions 0 and 1's files went: a commit of table properties, then a VACUUM's two
    snapshot = port.snapshot()
    assert snapshot.recorded is not None and snapshot.table_version == 5
    assert (snapshot.version.version, snapshot.version.run_id) == (2, "run-2")
    assert all(os.path.exists(file) for file in snapshot.files) and len(_rows(snapshot)) == 3


def test_a_port_moved_elsewhere_is_read_from_its_new_folder(tmp_path, port, contract):
    port.publish(_things(1, 2), contract, "run-1")
    moved = Port(Location.of(tmp_path / "moved"), ADDRESS)
    shutil.copytree(tmp_path / "ports", tmp_path / "moved")
    shutil.rmtree(tmp_path / "ports")
    snapshot = moved.snapshot()
    assert snapshot.recorded is not None and all(file.startswith(str(tmp_path / "moved")) for file in snapshot.files)
    assert _rows(snapshot) == [(1, "thing 1"), (2, "thing 2")]


@pytest.mark.parametrize("damage", ["not json", json.dumps({"format": 0}), json.dumps({"format": 1, "files": []})])
def test_a_damaged_record_is_ignored(port, contract, damage):
    port.publish(_things(1, 2), contract, "run-1")
    (port.location.path / current_files.RECORD_FILE).write_text(damage)
    snapshot = port.snapshot()
    assert snapshot.recorded is None and _rows(snapshot) == [(1, "thing 1"), (2, "thing 2")]


def test_a_record_naming_a_commit_the_log_lacks_is_ignored(port, contract):
    port.publish(_things(1), contract, "run-1")
    record = port.location.path / current_files.RECORD_FILE
    document = json.loads(record.read_text())
    record.write_text(json.dumps({**document, "table_version": 7}))
    assert port.snapshot().recorded is None


def test_a_first_read_in_a_process_does_not_import_deltalake(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n",
        contract_yaml("shop", "things", [column("id", "integer", "BIGINT"), column("name")]),
    )
    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,bucket\n")
    assert lab.materialize("shop").success
    script = (
        "import sys; from mesh_platform import read_product_relation; "
        "rows = read_product_relation('mesh://shop/things', consumer='shop').order('id').fetchall(); "
        "print(rows, 'deltalake' in sys.modules)"
    )
    read = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=lab.root, check=False)
    assert read.stdout.strip() == "[(1, 'anvil'), (2, 'bucket')] False", read.stderr
