"""Each demo domain's real code location: every asset carries what its contract says."""

import importlib

import dagster as dg
import pytest

from mesh_platform import Catalog

from .conftest import REPO

CATALOG = Catalog.load(REPO)
DOMAINS = ["customers", "sales", "web_analytics", "marketing", "planning"]


def test_the_demo_mesh_has_five_domains_and_cross_domain_inputs():
    assert list(CATALOG.domains) == DOMAINS
    assert not CATALOG.broken
    cross = {
        (p.address.domain, i.address.domain)
        for p in CATALOG.products.values()
        for i in p.inputs
        if i.address.domain != p.address.domain
    }
    assert len(cross) >= 3
    assert ("marketing", "customers") in cross and ("planning", "sales") in cross


@pytest.mark.parametrize("domain", DOMAINS)
def test_domain_code_location_loads_with_full_product_metadata(domain):
    defs: dg.Definitions = importlib.import_module(f"domains.{domain}.definitions").defs
    assets = list(defs.assets or [])
    products = CATALOG.in_domain(domain)
    assert {a.key for a in assets} == {dg.AssetKey(p.address.asset_key_path) for p in products}
    for assets_def in assets:
        spec = next(iter(assets_def.specs))
        product = CATALOG.product(f"mesh://{domain}/{spec.key.path[1]}")
        contract = product.contract
        assert spec.group_name == domain
        assert spec.owners == contract.owners and spec.owners[0] == f"team:{contract.team_name}"
        assert contract.purpose in spec.description and str(contract.address) in spec.description
        assert spec.tags["mesh/access"] == contract.settings.access
        assert spec.tags["mesh/classification"] == contract.classification
        assert spec.tags["mesh/contract-version"] == contract.version
        assert {"duckdb", "delta"} <= spec.kinds and len(spec.kinds) == 3
        schema = spec.metadata["dagster/column_schema"]
        assert [(c.name, c.type) for c in schema.columns] == [(c.name, c.physical_type) for c in contract.columns]
        assert spec.metadata["mesh/address"] == str(contract.address)
        assert spec.code_version
        assert spec.freshness_policy is not None
        assert spec.automation_condition is not None
        assert assets_def.op.pool == f"mesh_duckdb_{domain}"
        assert {d.asset_key for d in spec.deps} == {dg.AssetKey(i.address.asset_key_path) for i in product.inputs}
    assert [s.name for s in defs.sensors] == [f"{domain}_products_on_schedule"]


def test_freshness_policy_and_schedule_follow_the_sla():
    defs = importlib.import_module("domains.sales.definitions").defs
    spec = next(iter(next(a for a in defs.assets if a.key == dg.AssetKey(["sales", "orders"])).specs))
    # frequency 1 day + latency 4 hours
    assert spec.freshness_policy.fail_window.to_timedelta().total_seconds() == 28 * 3600
    assert "0 2 * * *" in str(spec.automation_condition)


@pytest.mark.slow
def test_dagster_validates_every_code_location_of_the_workspace(mesh_home):
    import os
    import subprocess
    import sys

    env = {**os.environ, **mesh_home.environment()}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for domain in DOMAINS:
        assert f"Validation successful for code location {domain}." in output
    assert "All code locations passed validation." in output
