"""`mesh materialize` on a mesh with a broken product: a clear error, the other products keep working."""

import os

import pytest

from mesh_platform import Catalog, product_versions

from .conftest import column, contract_yaml, owner_read, run_mesh
from .test_recipes import THINGS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("warm_builds")]


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
        recipe = (
            f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://finance/{reads}]\n"
            f"  sql: SELECT id FROM {reads}\n"
        )
        lab.add_product("finance", name, recipe, contract_yaml("finance", name, [column("id", "integer")]))
    for domain in ("shop", "finance"):
        lab.land(domain, "things.csv", "id,name,amount\n1,anvil,10\n")

    result = run_mesh("materialize", "--all", env={**os.environ})
    assert result.returncode == 1
    assert "✓ mesh://shop/things" in result.stdout and "✓ mesh://finance/ledger" in result.stdout
    loop = "mesh://finance/ping → mesh://finance/pong → mesh://finance/ping"
    assert f"✗ mesh://finance/ping  failed: no build order: its inputs lead back to it ({loop})" in result.stdout, result.stdout
    assert "– mesh://finance/report  skipped: not run: an input failed (mesh://finance/ping)" in result.stdout, result.stdout
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: 3 of 5 products not materialized; first: mesh://finance/ping")
    )
    assert [v.version for v in product_versions("mesh://finance/ledger")] == [0]


def _three_domain_lab(lab):
    """shop/things and crm/people (independent sources), finance/report reading shop/things."""
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
    for domain, name in (("shop", "things"), ("crm", "people")):
        lab.add_domain(domain)
        lab.add_product(domain, name, source, contract_yaml(domain, name, THINGS))
        lab.land(domain, "things.csv", "id,name,amount\n1,anvil,10\n")
    lab.add_domain("finance")
    recipe = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/things]\n  sql: SELECT id FROM things\n"
    lab.add_product("finance", "report", recipe, contract_yaml("finance", "report", [column("id", "integer")]))


def _runs_by_domain(lab):
    """Each domain's run as (start, end) from the instance's run records."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        records = instance.get_run_records()
        return {
            next(iter(record.dagster_run.asset_selection)).path[0]: (record.start_time, record.end_time) for record in records
        }


# A product that meets the other domain's: it leaves a mark and waits (up to a minute) for the other's, so both
# build only when their runs go side by side; each row says whether it met the other.
MEETING = """\
import time
from pathlib import Path

import pandas as pd

def build() -> pd.DataFrame:
    folder = Path({folder!r})
    folder.mkdir(exist_ok=True)
    (folder / {me!r}).touch()
    deadline = time.monotonic() + 60
    while not (folder / {other!r}).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    met = "met" if (folder / {other!r}).exists() else "alone"
    return pd.DataFrame({{"id": [1], "name": [met], "amount": [10]}})
"""


def test_independent_domains_run_side_by_side_and_readers_wait_for_their_inputs(lab):
    _three_domain_lab(lab)
    for me, name, other in (("shop", "things", "crm"), ("crm", "people", "shop")):
        recipe = "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: []\n  function: meet.py:build\n"
        code = MEETING.format(folder=str(lab.root / "meeting"), me=me, other=other)
        folder = lab.root / lab.package / me / "defs" / name  # the source product made a meeting one
        (folder / "defs.yaml").write_text(recipe)
        (folder / "meet.py").write_text(code)
    result = run_mesh("materialize", "--all", "--jobs", "2", env={**os.environ}, check=True)
    assert result.stdout.strip().splitlines()[-1] == "materialized 3 products"
    # shop and crm read nothing of each other: their runs went side by side, each product met the other's.
    assert owner_read("mesh://shop/things")["name"].tolist() == ["met"]
    assert owner_read("mesh://crm/people")["name"].tolist() == ["met"]
    runs = _runs_by_domain(lab)
    (_, shop_end), (finance_start, _) = runs["shop"], runs["finance"]
    assert finance_start >= shop_end, "finance reads shop: its run starts after shop's ended"


def test_one_job_runs_one_domain_at_a_time(lab):
    _three_domain_lab(lab)
    run_mesh("materialize", "--all", "--jobs", "1", env={**os.environ}, check=True)
    spans = sorted(_runs_by_domain(lab).values())
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:])), spans


def test_an_input_never_published_is_refused_before_any_run_and_plus_builds_upstream(lab):
    _three_domain_lab(lab)
    refused = run_mesh("materialize", "mesh://finance/report", env={**os.environ})
    assert refused.returncode == 1
    assert (
        "✗ mesh://finance/report  failed: not run: its input mesh://shop/things@v1 was never published; build it first, "
        "or run mesh materialize +mesh://finance/report to build everything it reads"
    ) in refused.stdout, refused.stdout
    assert "▶" not in refused.stdout and _runs_by_domain(lab) == {}, "no run was started"

    built = run_mesh("materialize", "+mesh://finance/report", env={**os.environ}, check=True)
    assert built.stdout.strip().splitlines()[-1] == "materialized 2 products"
    assert set(_runs_by_domain(lab)) == {"shop", "finance"}
    assert run_mesh("materialize", "mesh://finance/report", env={**os.environ}).returncode == 0  # published now


def test_a_new_instance_is_created_before_any_run_starts(lab):
    # Processes creating the same SQLite storage at once leave two schema versions in it
    # ("Version table 'alembic_version' has more than one head present"): when the instance
    # is new, mesh materialize creates its storage before it starts the runs side by side.
    import shutil

    from mesh_platform.runtime.materialize import materialize
    from mesh_platform.runtime.progress import BatchStarted

    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
    for domain in ("shop", "crm", "stock"):
        lab.add_domain(domain)
        lab.add_product(domain, "things", source, contract_yaml(domain, "things", THINGS))
        lab.land(domain, "things.csv", "id,name,amount\n1,anvil,10\n")
    shutil.rmtree(lab.settings.dagster_home)
    storage_when_a_run_started = []

    def progress(event):
        if isinstance(event, BatchStarted):
            storage_when_a_run_started.append((lab.settings.dagster_home / "history" / "runs.db").exists())

    report = materialize([a for a in Catalog.load().products], lab.settings, progress, jobs=3)
    assert report.ok, report.failures
    assert storage_when_a_run_started == [True, True, True]
