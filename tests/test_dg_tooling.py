"""Recipe types are Dagster components: teams using Dagster's `dg` CLI scaffold and check products with it."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import owner_read

pytestmark = pytest.mark.slow

DG = str(Path(sys.executable).parent / "dg")


def test_dg_scaffolds_and_checks_a_product(mesh_copy):
    def dg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DG, *args], cwd=mesh_copy.root, env=mesh_copy.env, capture_output=True, text=True, timeout=300)

    scaffolded = dg(
        "scaffold",
        "defs",
        "mesh_platform.recipes.FilterProduct",
        "sales/defs/big_orders",
        "--json-params",
        '{"inputs": ["mesh://sales/orders"], "parameters": {"where": "amount_usd > 100"}}',
    )
    assert scaffolded.returncode == 0, scaffolded.stderr
    folder = mesh_copy.root / "domains/sales/defs/big_orders"
    assert sorted(p.name for p in folder.iterdir()) == ["contract.yaml", "defs.yaml"]

    checked = dg("check", "yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All component YAML validated successfully." in checked.stdout

    recipe = folder / "defs.yaml"
    good = recipe.read_text()
    recipe.write_text(good.replace("  where:\n", "  wher:\n"))
    checked = dg("check", "yaml")
    assert checked.returncode == 1
    assert "big_orders/defs.yaml" in checked.stdout and "'where' is a required property" in checked.stdout

    recipe.write_text(good)
    mesh_copy.mesh("materialize", "mesh://sales/big_orders", check=True)
    orders = owner_read("mesh://sales/orders", settings=mesh_copy.settings)
    big = owner_read("mesh://sales/big_orders", settings=mesh_copy.settings)
    assert sorted(big["order_id"]) == sorted(orders.loc[orders["amount_usd"].astype(float) > 100, "order_id"])
