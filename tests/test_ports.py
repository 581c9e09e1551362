"""Ports: every publish is a new Delta version; a failed build never replaces the current one."""

import datetime as dt

import pytest

from mesh_platform import Catalog, PortError, SupersededBuildError, product_versions, resolve

from .conftest import column, contract_yaml, owner_read
from .test_recipes import THINGS, rows


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n",
        contract_yaml("shop", "things", THINGS),
    )
    lab.add_product(
        "shop",
        "priced",
        """\
        type: mesh_platform.recipes.PythonProduct
        attributes:
          inputs: [mesh://shop/things]
          function: price.py:build
        """,
        contract_yaml("shop", "priced", [column("id", "integer"), column("price", "number", "DOUBLE")]),
        files={
            "price.py": """\
            import pandas as pd

            def build(things: pd.DataFrame) -> pd.DataFrame:
                if (things["amount"].astype(float) > 1000).any():
                    raise ValueError("prices above 1000 need approval")
                return pd.DataFrame({"id": things["id"], "price": things["amount"].astype(float) * 1.2})
            """
        },
    )
    lab.land("shop", "things.csv", "id,name,amount\n1,anvil,10\n2,bucket,20\n")
    assert lab.materialize("shop").success
    return lab


def test_rerun_publishes_a_new_version_and_keeps_the_old_one_readable(shop):
    shop.land("shop", "things.csv", "id,name,amount\n1,anvil,10\n2,bucket,20\n3,crate,30\n")
    assert shop.materialize("shop", "things").success
    versions = product_versions("mesh://shop/things")
    assert [v.version for v in versions] == [1, 0]
    assert versions[0].rows == 3 and versions[0].contract_version == "1.0.0" and versions[0].run_id
    assert len(owner_read("mesh://shop/things")) == 3
    assert len(owner_read("mesh://shop/things", version=0)) == 2
    assert resolve("mesh://shop/things").port.published_contract(0)["name"] == "things"


def test_versions_follow_the_order_builds_started(shop):
    """A build overtaken by one that started later is refused and changes nothing: the later one wins."""
    port = resolve("mesh://shop/things").port
    current = port.latest()
    assert current.version == 0 and current.started_at < current.published_at
    data = port.dataset().to_table()
    contract = Catalog.load().product("mesh://shop/things").contract
    with pytest.raises(
        SupersededBuildError,
        match=r"mesh://shop/things@v1: not published: a build that started later .* already published version 0",
    ):
        port.publish(data.slice(0, 1), contract, "older-run", started_at=current.started_at - dt.timedelta(seconds=1))
    assert [v.version for v in product_versions("mesh://shop/things")] == [0] and len(owner_read("mesh://shop/things")) == 2
    assert port.publish(data.slice(0, 1), contract, "newer-run", started_at=dt.datetime.now(dt.UTC)) == 1
    assert port.latest().run_id == "newer-run"
    # Each version read is described by its own commit (deltalake's history of a version read
    # back in time numbers its commits from that version: the newest would pass for it).
    assert port.snapshot(1).version.run_id == "newer-run" and port.snapshot().version.version == 1
    assert port.snapshot(0).version.run_id == current.run_id and port.snapshot(0).version.rows == 2


def test_failing_build_leaves_the_previous_version_current_and_readable(shop):
    before = rows("mesh://shop/priced")
    shop.land("shop", "things.csv", "id,name,amount\n1,anvil,10\n2,bucket,5000\n")
    result = shop.materialize("shop", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "priced"
    assert "prices above 1000 need approval" in str(failure.step_failure_data.error)
    # `things` built fine and published its new version; `priced` failed midway and kept its own.
    assert [v.version for v in product_versions("mesh://shop/things")] == [1, 0]
    assert [v.version for v in product_versions("mesh://shop/priced")] == [0]
    assert rows("mesh://shop/priced") == before == [(1, 12.0), (2, 24.0)]


def test_bad_source_data_fails_before_publishing(shop):
    shop.land("shop", "things.csv", "id,name,amount\n1,anvil,ten\n")
    result = shop.materialize("shop", "things", raise_on_error=False)
    assert not result.success
    assert [v.version for v in product_versions("mesh://shop/things")] == [0]
    assert rows("mesh://shop/things") == [(1, "anvil", 10.0), (2, "bucket", 20.0)]


def test_schema_drift_lists_every_difference(shop):
    shop.land("shop", "things.csv", "id,label,amount,colour\n1,anvil,10,red\n")
    result = shop.materialize("shop", "things", raise_on_error=False)
    error = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert "missing column 'name' (VARCHAR)" in error
    assert "extra column 'label' (VARCHAR) not in the contract" in error
    assert "extra column 'colour' (VARCHAR) not in the contract" in error
    assert [v.version for v in product_versions("mesh://shop/things")] == [0]


def test_missing_source_files_say_where_to_put_them(shop):
    (shop.settings.landing_dir("shop") / "things.csv").unlink()
    result = shop.materialize("shop", "things", raise_on_error=False)
    error = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert "no files match 'things.csv'" in error and str(shop.settings.landing_dir("shop")) in error


def test_reading_an_unpublished_product_says_how_to_publish_it(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: t.csv\n",
        contract_yaml("shop", "things", THINGS),
    )
    with pytest.raises(PortError, match="has not been published yet; materialize it first: mesh materialize mesh://shop/things"):
        owner_read("mesh://shop/things")


def test_reading_a_missing_version_lists_the_published_ones(shop):
    with pytest.raises(PortError, match=r"has no version 7 \(published versions: 0\)"):
        owner_read("mesh://shop/things", version=7)
