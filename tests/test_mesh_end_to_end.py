"""The whole demo mesh, materialized through the real CLI and Dagster into a temporary MESH_HOME."""

import os

import dagster as dg
import pytest

from mesh_platform import Catalog, product_versions
from mesh_platform.storage import PortStore

from .conftest import landing_beside, mesh_env, owner_read, owner_relation, run_mesh

pytestmark = pytest.mark.slow


def test_every_product_of_every_domain_is_published(demo_mesh):
    catalog = Catalog.load(demo_mesh.settings.root)
    assert len(catalog.products) == 13
    for address, product in catalog.products.items():
        assert f"✓ {address}" in demo_mesh.materialize_output
        versions = product_versions(address)
        assert [v.version for v in versions] == [0], address
        assert len(owner_read(address)) > 0, address
        assert (
            PortStore.of(demo_mesh.settings)
            .port(product.port_address)
            .location.path.is_relative_to(demo_mesh.settings.home / "ports")
        )
    for domain in catalog.domains:
        assert demo_mesh.settings.domain_database(domain).is_file()


def test_runs_and_materializations_are_recorded_in_the_instance(demo_mesh):
    with dg.DagsterInstance.from_config(str(demo_mesh.settings.dagster_home)) as instance:
        for address in Catalog.load(demo_mesh.settings.root).products:
            event = instance.get_latest_materialization_event(dg.AssetKey(address.asset_key_path))
            assert event is not None, address
            metadata = event.asset_materialization.metadata
            assert metadata["mesh/port_version"].value == 0
            assert metadata["dagster/row_count"].value == len(owner_read(address))
        runs = instance.get_runs()
        assert len(runs) == 5 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)


def test_cross_domain_products_read_other_domains_ports(demo_mesh):
    profiles = owner_read("mesh://customers/profiles")
    customer_360 = owner_read("mesh://marketing/customer_360")
    assert set(customer_360["customer_id"]) == set(profiles["customer_id"])
    orders = owner_read("mesh://sales/orders")
    keys = owner_read("mesh://customers/customer_keys")
    completed = orders[orders["status"] == "completed"].merge(keys, on="customer_number")
    expected = completed.groupby("customer_id").size()
    got = customer_360.set_index("customer_id")["lifetime_orders"]
    current = expected[expected.index.isin(got.index)]  # deleted customers have orders but no profile
    assert len(current) > 0 and (got[current.index] == current).all()
    forecast = owner_read("mesh://planning/japan_sales_forecast")
    assert len(forecast) == 28 and set(forecast["country_code"]) == {"JP"}
    assert (forecast["lower_usd"] <= forecast["expected_revenue_usd"]).all()


def test_messy_source_data_is_cleaned_downstream(demo_mesh):
    raw = owner_read("mesh://sales/raw_orders")
    orders = owner_read("mesh://sales/orders")
    assert raw["order_id"].duplicated().any() and not orders["order_id"].duplicated().any()
    assert {"USA", "U.S."} & set(raw["country"]) and set(orders["country_code"].dropna()) <= {"US", "JP", "DE", "GB", "FR", "BR"}
    events = owner_read("mesh://customers/change_events")
    assert set(events["op"]) == {"insert", "update", "delete"}
    deleted = set(events.loc[events["op"] == "delete", "customer_id"])
    assert not deleted & set(owner_read("mesh://customers/profiles")["customer_id"])


def test_duckdb_relation_reads_push_work_into_duckdb(demo_mesh):
    relation = owner_relation("mesh://sales/daily_revenue")
    japan = relation.filter("country_code = 'JP'").aggregate("sum(orders) AS orders").fetchall()[0][0]
    frame = owner_read("mesh://sales/daily_revenue")
    assert japan == frame.loc[frame["country_code"] == "JP", "orders"].sum()


def test_failed_product_keeps_its_port_and_other_domains_keep_working(tmp_path):
    env = mesh_env(tmp_path / "home")
    run_mesh("seed", "--rows", "100", env=env, check=True)
    run_mesh("materialize", "--domain", "sales", env=env, check=True)
    export = landing_beside(tmp_path / "home") / "sales/orders/export_0002.csv"
    export.write_text(export.read_text().replace("completed", "completed,surprise", 1))

    result = run_mesh("materialize", "--domain", "sales", "--domain", "web_analytics", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: 3 of 6 products not materialized; first: mesh://sales/raw_orders:")
    assert "✗ mesh://sales/raw_orders  failed:" in result.stdout
    assert "– mesh://sales/orders  skipped: not run: an input failed (mesh://sales/raw_orders)" in result.stdout
    assert "✓ mesh://web_analytics/sessions" in result.stdout

    os.environ["MESH_HOME"], saved = env["MESH_HOME"], os.environ.get("MESH_HOME")
    try:
        for address in ("mesh://sales/raw_orders", "mesh://sales/orders", "mesh://sales/daily_revenue"):
            assert [v.version for v in product_versions(address)] == [0]
            assert len(owner_read(address)) > 0
    finally:
        os.environ.pop("MESH_HOME") if saved is None else os.environ.__setitem__("MESH_HOME", saved)
