"""The `mesh` CLI as a user runs it: one-line errors, exit codes (in-process through typer's CliRunner)."""

import hashlib
import json
import os

from .conftest import REPO, landing_beside, mesh_env, run_mesh


def test_help_lists_the_commands():
    result = run_mesh("--help")
    assert result.returncode == 0
    for command in ("seed", "materialize", "list", "status", "cost", "ui", "demo"):
        assert command in result.stdout


def test_list_json_shows_every_product_with_owner_access_and_inputs():
    result = run_mesh("list", "--json")
    assert result.returncode == 0, result.stderr
    products = {p["address"]: p for p in json.loads(result.stdout)["products"]}
    assert len(products) == 13
    audience = products["mesh://marketing/campaign_audience"]
    assert audience["owner"] == "team:marketing"
    assert audience["access"] == "restricted"
    assert audience["inputs"] == ["mesh://marketing/customer_360", "mesh://marketing/campaigns"]


def test_list_table_for_people():
    result = run_mesh("list")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == ["ADDRESS", "OWNER", "ACCESS", "STATUS", "VERSION", "INPUTS"]
    assert "mesh://planning/japan_sales_forecast" in result.stdout


def test_unknown_address_is_a_one_line_error(mesh_home):
    result = run_mesh("materialize", "mesh://sales/nope", env={**os.environ, "MESH_HOME": str(mesh_home.home)})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: mesh://sales/nope: domain 'sales' has no product 'nope'")


def test_materialize_needs_a_selection(mesh_home):
    result = run_mesh("materialize", env={**os.environ, "MESH_HOME": str(mesh_home.home)})
    assert result.returncode == 1
    assert "nothing selected; give addresses, --domain D or --all" in result.stderr


def test_outside_a_mesh_the_error_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MESH_ROOT"}
    result = run_mesh("list", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no workspace.yaml found" in result.stderr and "set MESH_ROOT" in result.stderr


def test_seed_is_deterministic_and_messy(tmp_path):
    def seeded(home):
        env = mesh_env(home)
        assert run_mesh("seed", "--rows", "60", env=env).returncode == 0
        landing = landing_beside(home)
        return {
            p.relative_to(landing): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(landing.rglob("*")) if p.is_file()
        }

    first, second = seeded(tmp_path / "a"), seeded(tmp_path / "b")
    assert first == second and len(first) == 5
    orders = "".join(p.read_text() for p in (landing_beside(tmp_path / "a") / "sales/orders").glob("*.csv"))
    assert {"U.S.", "Japan", "USA"} <= {field for line in orders.splitlines() for field in line.split(",")}
    lines = orders.splitlines()
    data = [line for line in lines if not line.startswith("order_id")]
    assert len(set(data)) < len(data), "the export repeats some orders"
    assert ",," in orders, "some values are missing"


def test_the_cli_starts_without_dagster_sqlglot_or_great_expectations():
    """Every `mesh` command starts light (~0.3 s): only the commands that run or read Dagster import it, when they run.
    (A command module importing a Dagster-bound one at its top made every command, `mesh list` included, pay ~0.6 s.)"""
    import subprocess
    import sys

    script = (
        "import sys, mesh_platform.cli.main; print(sorted(m for m in ('dagster', 'sqlglot', 'great_expectations') if "
        "m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    assert loaded == "[]", loaded
