"""Ports on an object store: with `port_store: {uri: s3://…}` every port, the vault and an incremental
product's record of applied events live in the bucket, builds read their inputs from there, and a
build needs no state on the machine that runs it (its DuckDB file is a scratch workspace). With
`landing: {uri: s3://…}` source files arrive in a bucket too, mirrored before each build.

Against moto's S3 emulator on 127.0.0.1 (tests/s3_server.py), with real deltalake commits.
"""

import json
import shutil

import polars as pl
import pytest
import yaml
from deltalake import DeltaTable

from mesh_platform import read_product
from mesh_platform.core.settings import MeshSettings
from mesh_platform.storage.ports import PortStore

from .conftest import column, contract_yaml, run_mesh
from .conftest import owner_read as read_as_owner
from .test_access import PEOPLE, personal
from .test_partitions import DAY_1, DAY_2, DAY_3, EVENTS
from .test_partitions import SOURCE as EVENTS_SOURCE

pytestmark = pytest.mark.slow

ITEMS = [column("item_id", "integer", "BIGINT", required=True), column("price", "number", "DOUBLE")]
TOTALS = [column("items", "integer", "BIGINT"), column("revenue", "number", "DOUBLE")]
SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {file}\n"
TOTALS_SQL = (
    "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/items]\n"
    "  sql: SELECT count(*) AS items, sum(price) AS revenue FROM items\n"
)


def owner_read(lab, address: str, **kwargs):
    """Read a product as its domain, with that domain's credentials: on an object store the principal is the key's."""
    with lab.s3.acting_as(address.split("/")[2], "LAB_S3_KEY_ID", "LAB_S3_SECRET"):
        return read_as_owner(address, **kwargs)


@pytest.fixture
def bucket_mesh(lab, s3, monkeypatch):
    """A lab mesh whose deployment `bucket` keeps its ports in a new bucket; credentials from the environment."""
    bucket = s3.deploy_bucket(lab.root, monkeypatch)
    monkeypatch.setenv("MESH_SECRET", "object-store-secret")
    lab.bucket, lab.s3 = bucket, s3
    lab.add_domain("shop")
    lab.add_product("shop", "items", SOURCE.format(file="items.csv"), contract_yaml("shop", "items", ITEMS))
    lab.add_product("shop", "totals", TOTALS_SQL, contract_yaml("shop", "totals", TOTALS))
    lab.land("shop", "items.csv", "item_id,price\n1,2.5\n2,4.0\n3,1.5\n")
    return lab


def test_ports_and_the_vault_are_published_to_the_bucket_and_read_from_it(bucket_mesh, s3):
    lab = bucket_mesh
    lab.add_domain("crm")
    lab.land("crm", "people.csv", PEOPLE)
    people = [column("id", "integer"), personal("name"), personal("email"), column("phone"), column("city")]
    lab.add_product("crm", "people", SOURCE.format(file="people.csv"), contract_yaml("crm", "people", people))
    assert lab.materialize("shop").success and lab.materialize("crm").success

    keys = s3.keys(lab.bucket)
    for table in (
        "mesh/ports/shop/items/v1",
        "mesh/ports/shop/totals/v1",
        "mesh/ports/crm/people/v1",
        "mesh/vault/crm/people/email",
    ):
        assert f"{table}/_delta_log/00000000000000000000.json" in keys, table
    assert not (lab.settings.home / "ports").exists() and not (lab.settings.home / "vault").exists()

    # The SQL product read its input from the bucket; consumers read the same way, masking applied.
    assert owner_read(lab, "mesh://shop/totals").to_dict("records") == [{"items": 3, "revenue": 8.0}]
    with s3.acting_as("crm", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):  # on an object store, the principal is the credentials'
        assert read_product("mesh://crm/people", consumer="crm")["email"].tolist() == ["ada@example.com", "grace@example.com"]
    with s3.acting_as("shop", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):
        masked = read_product("mesh://crm/people")["email"]
        queried = run_mesh("query", "SELECT count(*) AS people FROM crm.people", "--json", check=True)
    assert masked.str.fullmatch(r"[0-9a-f]{64}").all()
    assert json.loads(queried.stdout) == [{"people": 2}]

    # An outside engine reads the port from the bucket with the same storage options (tokens, never clear values).
    options = PortStore.of(MeshSettings.from_env()).root.storage_options()
    outside = pl.read_delta(f"s3://{lab.bucket}/mesh/ports/crm/people/v1", storage_options=options)
    assert outside.height == 2 and "ada@example.com" not in outside["email"].to_list()


def test_a_partition_rebuilt_on_the_bucket_is_one_commit_replacing_only_its_rows(bucket_mesh, s3):
    lab = bucket_mesh
    lab.add_product("shop", "events", EVENTS_SOURCE, contract_yaml("shop", "events", EVENTS))
    for day, rows in (("2026-01-01", DAY_1), ("2026-01-02", DAY_2), ("2026-01-03", DAY_3)):
        lab.land("shop", f"events/{day}.csv", rows)
    assert lab.materialize("shop", "events", partitions=("2026-01-01", "2026-01-03")).success
    lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,31\n")  # late data: one row left that day
    assert lab.materialize("shop", "events", partition="2026-01-02").success

    store = PortStore.of(MeshSettings.from_env())
    port = DeltaTable(f"s3://{lab.bucket}/mesh/ports/shop/events/v1", storage_options=store.root.storage_options())
    history = port.history()
    assert len(history) == 2 and history[0]["operation"] == "WRITE" and history[0]["mesh.partitions"] == "2026-01-02"
    rows = owner_read(lab, "mesh://shop/events").sort_values("event_id")
    assert rows["event_id"].tolist() == [1, 2, 3, 6] and rows.loc[rows.event_id == 3, "amount"].item() == 31


def test_a_build_needs_no_state_on_the_machine_that_runs_it(bucket_mesh):
    """The domain's DuckDB file is a scratch workspace: deleted between builds (a new worker), nothing is lost."""
    lab = bucket_mesh
    assert lab.materialize("shop").success
    database = lab.settings.domain_database("shop")
    assert database.exists()
    database.unlink()
    lab.land("shop", "items.csv", "item_id,price\n1,2.5\n2,4.0\n3,1.5\n4,10.0\n")
    assert lab.materialize("shop").success
    assert owner_read(lab, "mesh://shop/totals").to_dict("records") == [{"items": 4, "revenue": 18.0}]
    assert [v.version for v in PortStore.of(MeshSettings.from_env()).port(_address("mesh://shop/totals@v1")).versions()] == [1, 0]

    database.unlink()  # and a build of the reading product alone, on yet another worker, reads its input from the bucket
    assert lab.materialize("shop", "totals").success
    assert owner_read(lab, "mesh://shop/totals").to_dict("records") == [{"items": 4, "revenue": 18.0}]


def _address(text: str):
    from mesh_platform import Address

    return Address.parse(text)


def test_source_files_arriving_in_a_bucket_are_mirrored_for_each_build_on_any_worker(bucket_mesh, s3):
    lab = bucket_mesh
    deploy_file = lab.root / "deploy" / "bucket.yaml"
    deployment = yaml.safe_load(deploy_file.read_text())
    deployment["landing"] = {"uri": f"s3://{lab.bucket}/raw", "storage_options": deployment["port_store"]["storage_options"]}
    deploy_file.write_text(yaml.safe_dump(deployment))
    lab.add_product("shop", "deliveries", SOURCE.format(file="deliveries/*.csv"), contract_yaml("shop", "deliveries", ITEMS))
    shutil.rmtree(lab.settings.landing_root)  # nothing local: the files arrive in the bucket
    client = s3.client()
    client.put_object(Bucket=lab.bucket, Key="raw/shop/items.csv", Body=b"item_id,price\n1,2.5\n2,4.0\n")
    client.put_object(Bucket=lab.bucket, Key="raw/shop/deliveries/monday.csv", Body=b"item_id,price\n10,1.0\n11,2.0\n")
    client.put_object(Bucket=lab.bucket, Key="raw/shop/deliveries/tuesday.csv", Body=b"item_id,price\n12,3.0\n")
    assert lab.materialize("shop").success
    assert owner_read(lab, "mesh://shop/totals").to_dict("records") == [{"items": 2, "revenue": 6.5}]
    assert sorted(owner_read(lab, "mesh://shop/deliveries")["item_id"]) == [10, 11, 12]
    assert not lab.settings.landing_root.exists()

    # Monday's file is withdrawn and Tuesday's corrected: the next build sees exactly what the bucket holds.
    client.delete_object(Bucket=lab.bucket, Key="raw/shop/deliveries/monday.csv")
    client.put_object(Bucket=lab.bucket, Key="raw/shop/deliveries/tuesday.csv", Body=b"item_id,price\n12,3.5\n13,4.0\n")
    assert lab.materialize("shop", "deliveries").success
    assert owner_read(lab, "mesh://shop/deliveries").sort_values("item_id").to_dict("records") == [
        {"item_id": 12, "price": 3.5},
        {"item_id": 13, "price": 4.0},
    ]

    # A new worker, with no cache and no DuckDB file, builds the same.
    shutil.rmtree(lab.settings.landing_cache)
    lab.settings.domain_database("shop").unlink()
    assert lab.materialize("shop", "deliveries").success
    assert len(owner_read(lab, "mesh://shop/deliveries")) == 2


def test_mesh_seed_refuses_a_landing_zone_on_an_object_store(bucket_mesh):
    deploy_file = bucket_mesh.root / "deploy" / "bucket.yaml"
    deploy_file.write_text(deploy_file.read_text() + f"landing:\n  uri: s3://{bucket_mesh.bucket}/raw\n")
    result = run_mesh("seed", "--rows", "20", cwd=bucket_mesh.root)
    assert result.returncode == 1 and f"reads them from s3://{bucket_mesh.bucket}/raw" in result.stderr, result.stderr


def test_commits_racing_on_the_bucket_lose_nothing(bucket_mesh, s3):
    """deltalake commits to S3 with conditional writes: of two writers committing the same version, one
    wins and the other retries on top of it — no commit overwrites another (no lock service involved)."""
    import threading

    import pyarrow as pa
    from deltalake import write_deltalake

    options = PortStore.of(MeshSettings.from_env()).root.storage_options()
    uri = f"s3://{bucket_mesh.bucket}/race"
    write_deltalake(uri, pa.table({"writer": pa.array([], pa.int64()), "n": pa.array([], pa.int64())}), storage_options=options)
    errors = []

    def writer(number: int) -> None:
        try:
            for n in range(8):
                write_deltalake(uri, pa.table({"writer": [number], "n": [n]}), mode="append", storage_options=options)
        except Exception as error:  # a commit that gave up is reported, never silently lost
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    table = DeltaTable(uri, storage_options=options)
    rows = table.to_pyarrow_table().num_rows
    assert rows == 24 - len(errors) and table.version() == rows  # one commit per row, none overwritten
    assert not errors, errors
