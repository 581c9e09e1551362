"""A build killed with SIGKILL never blocks its domain: the port keeps its version, the domain's DuckDB
file opens, the killed run is reported failed, and the next build starts at once. Two builds of one
domain at once: the second waits for the first, and versions follow the order they started."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import dagster as dg
import duckdb
import pytest

from mesh_platform import product_versions

from .conftest import column, contract_yaml, owner_read, run_mesh

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("warm_builds")]

SLOW_BUILD = """\
import time

import pandas as pd


def build(things: pd.DataFrame, context) -> pd.DataFrame:
    if (context.landing / "pause").exists():  # the test kills the build while it computes, or waits
        (context.landing / "computing").touch()
        deadline = time.monotonic() + 120
        while (context.landing / "pause").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    return things.assign(total=things["amount"] * 2)[["id", "total"]]
"""


@pytest.fixture
def shop(lab):
    return shop_lab(lab)


def shop_lab(lab):
    """`lab` with a domain shop: things (a source product, 2,000 rows) and totals (a Python product that waits
    while the landing zone holds a file `pause`), built once."""
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n",
        contract_yaml("shop", "things", [column("id", "integer"), column("amount", "number")]),
    )
    lab.add_product(
        "shop",
        "totals",
        "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: [mesh://shop/things]\n  function: totals.py:build\n",
        contract_yaml("shop", "totals", [column("id", "integer"), column("total", "number")]),
        files={"totals.py": SLOW_BUILD},
    )
    lab.land("shop", "things.csv", "id,amount\n" + "".join(f"{i},{i}.5\n" for i in range(2000)))
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    return lab


def start_build(lab) -> subprocess.Popen:
    """`mesh materialize --domain shop` as its own process group, as a user's shell starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "mesh_platform.cli.main", "materialize", "--domain", "shop"],
        cwd=lab.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(condition, build: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert build.poll() is None, f"the build ended before {what}: {build.stdout.read()}"
        assert time.monotonic() < deadline, f"no {what} in two minutes"
        time.sleep(0.02)


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def assert_intact(lab, versions: list[int]) -> None:
    """totals has exactly `versions`, each whole; things (built before it in the same run) is whole too."""
    assert [v.version for v in product_versions("mesh://shop/totals", settings=lab.settings)] == versions
    for version in versions:
        assert len(owner_read("mesh://shop/totals", version=version, settings=lab.settings)) == 2000
    assert len(owner_read("mesh://shop/things", settings=lab.settings)) == 2000
    with duckdb.connect(str(lab.settings.domain_database("shop"))) as database:  # opens: no lock left behind
        database.execute("SELECT 1").fetchall()


def test_a_build_killed_while_computing_leaves_everything_usable(shop):
    lab = shop
    pause = lab.settings.landing_dir("shop") / "pause"
    pause.touch()
    build = start_build(lab)
    wait_for((lab.settings.landing_dir("shop") / "computing").exists, build, "computing")
    kill(build)
    pause.unlink()
    assert_intact(lab, [0])

    status = run_mesh("status", "--domain", "shop", "--json")
    assert "Traceback" not in status.stdout + status.stderr
    totals = next(p for p in json.loads(status.stdout)["products"] if p["address"] == "mesh://shop/totals")
    assert "is gone: killed" in totals["last_failure"]["reason"]

    started = time.monotonic()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", "materialize", "--domain", "shop"],
        cwd=lab.root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert time.monotonic() - started < 90, "the next build waited on the killed run's slot"
    assert "materialized 2 products" in rebuilt.stdout
    assert_intact(lab, [1, 0])


KILL_POINTS = [
    ("while the run starts", None),
    ("while totals reads its input", r"input things: mesh://shop/things"),
    ("while totals' checks run", r"checking \S*totals\S* against contract.yaml"),
    ("after totals' checks, as it publishes", r"staged 2000 rows in .*totals"),
    ("just after totals' Delta commit", r"published mesh://shop/totals version"),
]


@pytest.mark.parametrize(("moment", "marker"), KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_a_build_killed_at_any_moment_never_blocks_the_domain(shop, moment, marker):
    """Killed at each phase of a build (the moment the run's log reaches it): whatever was done, the
    next build runs at once and every published version stays whole."""
    lab = shop
    logs = set(lab.settings.logs_dir.glob("*.log"))
    build = start_build(lab)
    if marker is None:
        time.sleep(1.0)
    else:

        def reached() -> bool:
            return any(
                re.search(marker, log.read_text(errors="replace")) for log in set(lab.settings.logs_dir.glob("*.log")) - logs
            )

        wait_for(reached, build, moment)
    kill(build)
    published = [v.version for v in product_versions("mesh://shop/totals", settings=lab.settings)]
    assert published in ([0], [1, 0])  # the killed build published its version whole, or not at all
    rebuilt = subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", "materialize", "--domain", "shop"],
        cwd=lab.root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert_intact(lab, [published[0] + 1, *published])


def test_two_builds_of_a_domain_at_once_publish_in_the_order_they_started(shop):
    """The domain's pool lets one step at a time write its DuckDB file: the second build waits, then
    publishes after the first, from the data delivered in between. Each command reports its own run."""
    lab = shop
    landing = lab.settings.landing_dir("shop")
    (landing / "pause").touch()
    first = start_build(lab)
    wait_for((landing / "computing").exists, first, "computing")  # first: things v1 published, totals computing
    # While a run is in flight, status and show work: totals' checks are planned, not yet evaluated.
    status = run_mesh("status", "--domain", "shop", "--json")
    assert "Traceback" not in status.stdout + status.stderr and json.loads(status.stdout)["products"], status.stderr
    shown = run_mesh("show", "mesh://shop/totals", "--json")
    assert shown.returncode == 0, shown.stderr
    states = {check["name"]: check["state"] for check in json.loads(shown.stdout)["checks"]}
    assert states.pop("governance") == "passed" and states and set(states.values()) == {"running"}, states  # policies run first
    lab.land("shop", "things.csv", "id,amount\n" + "".join(f"{i},{i}.5\n" for i in range(3000)))
    (landing / "computing").unlink()
    second = start_build(lab)
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        wait_for(lambda: len(instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))) == 2, second, "second run")
    time.sleep(3)  # the second run's things step waits for the pool's slot: nothing of it is published
    assert [v.version for v in product_versions("mesh://shop/things", settings=lab.settings)] == [1, 0]
    (landing / "pause").unlink()
    outputs = [build.communicate(timeout=180)[0] for build in (first, second)]
    assert [build.returncode for build in (first, second)] == [0, 0], outputs
    # Each command reports its own run's versions, never the other's.
    assert "mesh://shop/things  version 1," in outputs[0] and "mesh://shop/totals  version 1, 2,000 rows" in outputs[0], outputs[
        0
    ]
    assert "mesh://shop/things  version 2," in outputs[1] and "mesh://shop/totals  version 2, 3,000 rows" in outputs[1], outputs[
        1
    ]

    things = product_versions("mesh://shop/things", settings=lab.settings)
    totals = product_versions("mesh://shop/totals", settings=lab.settings)
    assert [v.version for v in things] == [2, 1, 0] and [v.version for v in totals] == [2, 1, 0]
    assert [v.rows for v in totals[:2]] == [3000, 2000]  # the later-started build holds the later delivery
    assert totals[1].published_at <= things[0].published_at  # the second started publishing after the first ended
    assert totals[0].started_at > totals[1].started_at and totals[0].run_id != totals[1].run_id
    assert {totals[0].run_id, totals[1].run_id} == {things[0].run_id, things[1].run_id}
