"""`mesh materialize` on a mesh with a broken product: a clear error, other domains keep working."""

import os

import pytest

from mesh_platform import product_versions

from .conftest import column, contract_yaml, run_mesh
from .test_recipes import THINGS

pytestmark = pytest.mark.slow


def test_broken_contract_fails_its_domain_with_the_reason_and_other_domains_run(lab):
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
    assert "✗ mesh://finance/ledger  failed: the finance code location cannot load:" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 of 2 products not materialized; first: mesh://finance/ledger")
    assert [v.version for v in product_versions("mesh://shop/things")] == [0]
