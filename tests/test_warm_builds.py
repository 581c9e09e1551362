"""Warm builds: `mesh materialize` asks a domain's worker (runtime.worker) to fork its run. A run killed in the
worker's hands leaves the worker serving, a changed contract gets a new worker, and a broken product folder
still fails with its own message. (The killed-run and concurrency tests run with warm builds too.)"""

import os
import shutil
import signal
import time

import dagster as dg
import psutil
import pytest

from mesh_platform import product_versions
from mesh_platform.runtime import worker

from .conftest import run_mesh
from .test_killed_runs import shop_lab, start_build, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not worker.available(), reason="warm workers need Linux"),
    pytest.mark.usefixtures("warm_builds"),
]


@pytest.fixture
def shop(lab):
    return shop_lab(lab)


def workers_of(lab) -> list[psutil.Process]:
    """The warm workers serving the lab's mesh (their command line names the domain's definitions module)."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        with_mesh = (process.info["environ"] or {}).get("MESH_HOME") == str(lab.settings.home)
        if with_mesh and "mesh_platform.runtime.worker" in (process.info["cmdline"] or []):
            found.append(process)
    return found


def run_processes(lab) -> dict[str, int]:
    """Each run's process (the pid its engine events name), by run id."""
    from mesh_platform.runtime.recovery import _run_pid

    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        return {r.run_id: _run_pid(instance, r.run_id) for r in instance.get_runs()}


def test_runs_are_forked_by_one_worker_per_domain_which_outlives_a_run_killed_in_its_hands(shop):
    lab = shop
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    (first_worker,) = workers_of(lab)
    first_run_pids = set(run_processes(lab).values())
    assert first_worker.pid not in first_run_pids and all(p not in (os.getpid(), None) for p in first_run_pids)

    # A second build is forked by the same worker: a new process per run, a child of the worker.
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    assert [w.pid for w in workers_of(lab)] == [first_worker.pid]

    # The run killed with SIGKILL while it computes: the command reports it, the worker lives on.
    pause = lab.settings.landing_dir("shop") / "pause"
    pause.touch()
    build = start_build(lab)
    wait_for((lab.settings.landing_dir("shop") / "computing").exists, build, "computing")
    (child,) = [c for c in first_worker.children() if c.is_running()]
    child.send_signal(signal.SIGKILL)
    output, _ = build.communicate(timeout=120)
    pause.unlink()
    assert build.returncode == 1, output
    assert "killed by signal 9" in output or "is gone" in output, output
    assert [w.pid for w in workers_of(lab)] == [first_worker.pid], "the worker died with its run"

    # The domain is not blocked: the next build runs at once, in the same worker, and publishes.
    before = [v.version for v in product_versions("mesh://shop/totals", settings=lab.settings)]
    rebuilt = run_mesh("materialize", "--domain", "shop")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    after = [v.version for v in product_versions("mesh://shop/totals", settings=lab.settings)]
    assert len(after) == len(before) + 1
    assert [w.pid for w in workers_of(lab)] == [first_worker.pid]


def test_a_changed_contract_gets_a_new_worker_and_a_broken_one_its_own_message(shop):
    lab = shop
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    (old,) = workers_of(lab)

    folder = lab.root / lab.package / "shop" / "defs" / "totals"
    contract = folder / "contract.yaml"
    contract.write_text(contract.read_text().replace("one row each.", "one row each, doubled.", 1))
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    old.wait(timeout=30)  # told it is stale, it ends once its runs have
    (new,) = workers_of(lab)
    assert new.pid != old.pid

    (folder / "defs.yaml").write_text("type: [unclosed\n")
    broken = run_mesh("materialize", "--domain", "shop")
    assert broken.returncode == 1
    said = broken.stdout + broken.stderr
    assert "defs.yaml" in said and "fix the YAML syntax" in said and "Traceback" not in said
    assert "✓ mesh://shop/things" in broken.stdout  # the domain's other product still builds


def test_a_worker_outlives_its_mesh_state_reset_and_builds_into_the_new_instance(shop):
    """The worker keeps its Dagster instance open between runs; `mesh reset` makes a new state folder under it, and
    the next build (forked by the same worker) is recorded in the new instance, not in files that are gone."""
    lab = shop
    (first_worker,) = workers_of(lab)
    assert run_mesh("reset", "--yes").returncode == 0
    rebuilt = run_mesh("materialize", "--domain", "shop")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "✓ mesh://shop/totals" in rebuilt.stdout and "version 0" in rebuilt.stdout, rebuilt.stdout
    assert [w.pid for w in workers_of(lab)] == [first_worker.pid]
    runs = run_processes(lab)
    assert len(runs) == 1 and first_worker.pid not in runs.values(), runs
    # And again, the worker having reopened its instance on the new storage when this command asked.
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    assert len(run_processes(lab)) == 2
    # A worker opens the storage only for a command that holds it made, never on its own: the state folder deleted
    # the moment a build into new storage returns stays gone (a worker reopening it then made Dagster's tables again
    # in the folder being deleted, beside the next command making them: two alembic heads).
    assert run_mesh("reset", "--yes").returncode == 0
    assert run_mesh("materialize", "--domain", "shop").returncode == 0
    shutil.rmtree(lab.settings.home)
    time.sleep(1)
    assert not lab.settings.home.exists() and [w.pid for w in workers_of(lab)] == [first_worker.pid]
    assert run_mesh("materialize", "--domain", "shop").returncode == 0 and len(run_processes(lab)) == 1
