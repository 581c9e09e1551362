"""`mesh materialize` on a mesh with a broken product: a clear error, the other products keep working."""

import os

import pytest

from mesh_platform import product_versions

from .conftest import column, contract_yaml, run_mesh
from .test_recipes import THINGS

pytestmark = pytest.mark.slow


def test_a_broken_contract_breaks_its_product_only(lab):
    lab.add_domain("shop")
    lab.add_domain("finance")
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
    lab.add_product("shop", "things", source, contract_yaml("shop", "things", THINGS))
    lab.add_product("finance", "ledger", source, contract_yaml("finance", "ledger", THINGS))
    broken = contract_yaml("finance", "budget", [column("a", "text")])
    lab.add_product("finance", "budget", source, broken)
    for domain in ("shop", "finance"):
        lab.land(domain, "things.csv", "id,name,amount\n1,anvil,10\n")

    result = run_mesh("materialize", "--all", env={**os.environ})
    assert result.returncode == 1
    assert "✓ mesh://shop/things" in result.stdout
    line = broken.splitlines().index("    logicalType: text") + 1
    assert f"budget/contract.yaml:{line}: schema[0].properties[0].logicalType: 'text' is not allowed" in result.stderr
    assert "✓ mesh://finance/ledger" in result.stdout  # the same domain's good product builds
    assert result.stderr.strip().splitlines()[-1] == "error: materialized 2 products; 1 product folders are broken (listed above)"
    assert [v.version for v in product_versions("mesh://shop/things")] == [0]
    assert [v.version for v in product_versions("mesh://finance/ledger")] == [0]


def test_a_dependency_loop_fails_its_products_only(lab):
    lab.add_domain("shop")
    lab.add_domain("finance")
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
    lab.add_product("shop", "things", source, contract_yaml("shop", "things", THINGS))
    lab.add_product("finance", "ledger", source, contract_yaml("finance", "ledger", THINGS))
    for name, reads in (("ping", "pong"), ("pong", "ping"), ("report", "ping")):
        recipe = f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://finance/{reads}]\n  sql: SELECT id FROM {reads}\n"
        lab.add_product("finance", name, recipe, contract_yaml("finance", name, [column("id", "integer")]))
    for domain in ("shop", "finance"):
        lab.land(domain, "things.csv", "id,name,amount\n1,anvil,10\n")

    result = run_mesh("materialize", "--all", env={**os.environ})
    assert result.returncode == 1
    assert "✓ mesh://shop/things" in result.stdout and "✓ mesh://finance/ledger" in result.stdout
    loop = "mesh://finance/ping → mesh://finance/pong → mesh://finance/ping"
    assert f"✗ mesh://finance/ping  failed: no build order: its inputs lead back to it ({loop})" in result.stdout, result.stdout
    assert "– mesh://finance/report  skipped: not run: an input failed (mesh://finance/ping)" in result.stdout, result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error: 3 of 5 products not materialized; first: mesh://finance/ping")
    assert [v.version for v in product_versions("mesh://finance/ledger")] == [0]
