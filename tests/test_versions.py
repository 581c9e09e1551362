"""Major versions: a breaking change ships as a new port; pinned consumers keep reading the old one."""

import datetime as dt
import json
import os

import dagster as dg
import jsonschema
import pytest
import yaml

from mesh_platform import PortError, product_versions
from mesh_platform.contract.loading import odcs_json_schema
from mesh_platform.core.errors import DeprecatedPortWarning

from .conftest import REPO, column, contract_yaml, owner_read, run_mesh
from .test_recipes import rows

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
V1 = [column("id", "integer"), column("name")]
V2 = [column("id", "integer"), column("label")]


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", V1))
    lab.add_product(
        "shop",
        "names",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: ['mesh://shop/things@v1 as things']\n"
        "  sql: SELECT upper(name) AS name FROM things\n",
        contract_yaml("shop", "names", [column("name")]),
    )
    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,bucket\n")
    assert lab.materialize("shop").success
    return lab


def bump_to_v2(lab, served_until: dt.date) -> None:
    custom = [
        {"property": "access", "value": "public"},
        {"property": "servePreviousMajorUntil", "value": served_until.isoformat()},
    ]
    (lab.root / lab.package / "shop/defs/things/contract.yaml").write_text(
        contract_yaml("shop", "things", V2, version="2.0.0", customProperties=custom)
    )
    lab.land("shop", "things.csv", "id,label\n1,ANVIL\n2,BUCKET\n3,CRATE\n")


def test_a_new_major_version_is_a_new_port_and_v1_consumers_keep_working(shop):
    bump_to_v2(shop, dt.date.today() + dt.timedelta(days=30))
    result = shop.materialize("shop")
    assert result.success
    assert rows("mesh://shop/things") == [(1, "ANVIL"), (2, "BUCKET"), (3, "CRATE")]
    assert [v.version for v in product_versions("mesh://shop/things@v2")] == [0]
    with pytest.warns(
        DeprecatedPortWarning,
        match=r"mesh://shop/things@v1 is deprecated: version 2.0.0 is current \(served until .*\); move to mesh://shop/things@v2",
    ):
        assert rows("mesh://shop/things@v1") == [(1, "anvil"), (2, "bucket")]
    with pytest.warns(DeprecatedPortWarning):  # on every read
        owner_read("mesh://shop/things@v1")
    # The pinned consumer rebuilt from @v1, with the deprecation in its run's log.
    assert rows("mesh://shop/names") == [("ANVIL",), ("BUCKET",)]
    assert [v.version for v in product_versions("mesh://shop/names")] == [1, 0]
    with dg.DagsterInstance.from_config(str(shop.settings.dagster_home)) as instance:
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("input things: mesh://shop/things@v1 is deprecated" in m for m in messages)


def test_after_its_date_the_old_version_is_retired(shop):
    bump_to_v2(shop, dt.date.today() + dt.timedelta(days=30))
    assert shop.materialize("shop", "things").success
    bump_to_v2(shop, dt.date.today() - dt.timedelta(days=1))  # as if the 30 days had passed
    with pytest.raises(PortError, match=r"mesh://shop/things@v1 was retired on .*; read mesh://shop/things@v2 instead"):
        owner_read("mesh://shop/things@v1")
    result = shop.materialize("shop", "names", raise_on_error=False)
    assert not result.success
    assert [v.version for v in product_versions("mesh://shop/names")] == [0]


def test_every_repository_contract_validates_against_the_odcs_v31_json_schema():
    schema = odcs_json_schema()
    assert "v3.1.0" in schema["properties"]["apiVersion"]["enum"]
    validator = jsonschema.Draft201909Validator(schema)
    contracts = sorted(REPO.glob("domains/*/defs/*/contract.yaml"))
    assert len(contracts) >= 12
    for path in contracts:
        document = yaml.safe_load(path.read_text())
        assert document["apiVersion"] == "v3.1.0"
        errors = [e.message for e in validator.iter_errors(json.loads(json.dumps(document, default=str)))]
        assert not errors, f"{path}: {errors}"


@pytest.mark.slow
def test_export_is_a_valid_odcs_document_pointing_at_the_delta_port(demo_mesh):
    env = {**os.environ, "MESH_HOME": str(demo_mesh.settings.home)}
    result = run_mesh("contract", "export", "mesh://sales/orders", "--format", "json", env=env, check=True)
    document = json.loads(result.stdout)
    jsonschema.Draft201909Validator(odcs_json_schema()).validate(document)
    (server,) = document["servers"]
    assert (server["type"], server["format"]) == ("local", "delta")
    from deltalake import DeltaTable

    assert DeltaTable(server["path"]).to_pyarrow_table().num_rows == len(
        owner_read("mesh://sales/orders", settings=demo_mesh.settings)
    )
