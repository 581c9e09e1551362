"""The benchmark's own arithmetic and what it reads from Dagster (the figures themselves are measured, never asserted)."""

import os

import dagster as dg
import duckdb
import pytest

from bench.harness import Helpers, Run, in_turn, measure, pair
from bench.run import table
from bench.scenarios import newest_build_seconds, wide_linearity, wide_scenarios

from .conftest import contract_yaml
from .test_recipes import THINGS
from .test_recipes_configured import SOURCE


def runs(*figures: tuple[float, float, float | None]):
    """A command whose successive runs report these (wall, peak, build) figures."""
    queue = list(figures)
    return lambda: Run(*queue.pop(0))


def test_a_pairing_of_two_runs_that_read_their_build_time_reports_the_build_ratio_beside_the_wall_ratio():
    pairing = pair(
        runs((3.0, 500, 1.0), (4.0, 500, 1.5), (3.5, 500, 1.2)), runs((60, 8000, 50), (80, 8000, 50), (70, 8000, 60)), 3
    )
    summary = pairing.summary()
    assert summary["wall_ratio_median"] == pytest.approx(0.05)  # 3/60, 4/80, 3.5/70
    assert summary["build_ratio_median"] == pytest.approx(0.02)  # 1/50, 1.5/50 = 0.03, 1.2/60
    assert summary["mesh"]["build_s_median"] == 1.2 and summary["reference"]["build_s_median"] == 50
    line = table(
        {"scenarios": {"partition": {"what": "one day", "against": "a year", "goal": "≤ 0.05", **summary}}}
    ).splitlines()[-1]
    assert line == (
        "| one day | 3.50 s, 500 MB (inside 1.20 s) | a year | 70.00 s, 8000 MB (inside 50.00 s) | 0.05× | 0.0625× "
        "| 0.02× | ≤ 0.05 |"
    )


def test_a_pairing_whose_runs_do_not_read_their_build_time_has_no_build_ratio():
    summary = pair(runs((2.0, 100, None)), runs((1.0, 100, None)), 1).summary()
    assert "build_ratio_median" not in summary and "build_s_median" not in summary["mesh"]
    assert summary["wall_ratio_median"] == 2.0


def test_commands_measured_in_turn_run_round_by_round_each_beside_its_reference():
    order = []

    def command(name, wall):
        return lambda: order.append(name) or Run(wall, 100)

    first = (command("a", 1.0), command("a ref", 0.5), lambda: None)
    pairings = in_turn([first, (command("b", 4.0), None, lambda: order.append("reset"))], 2)
    assert order == ["a", "a ref", "reset", "b", "a", "a ref", "reset", "b"]
    assert pairings[0].summary()["wall_ratio_median"] == 2.0 and pairings[1].reference is None
    assert [run.wall_s for run in pairings[1].mesh.runs] == [4.0, 4.0]


def test_the_wide_scenario_reports_how_each_figure_grows_from_one_width_to_the_next():
    def figures(wall, peak):
        return {"wall_s_median": wall, "peak_mb_median": peak}

    results = {
        **{f"wide_check_{w}": {"mesh": figures(s, 100)} for w, s in ((500, 2.0), (2000, 4.0), (5000, 8.0))},
        **{f"wide_load_{w}": {"mesh": figures(s, 100)} for w, s in ((500, 3.0), (2000, 6.0), (5000, 15.0))},
        **{
            f"wide_build_{w}": {"mesh": figures(s, p), "reference": figures(s / 4, p / 2)}
            for w, s, p in ((500, 4.0, 400), (2000, 8.0, 800), (5000, 20.0, 1000))
        },
    }
    linearity = wide_linearity(results, [500, 2000, 5000])
    assert linearity["growth"]["mesh check"] == {"2000/500": 2.0, "5000/2000": 2.0}
    assert linearity["growth"]["definitions load"] == {"2000/500": 2.0, "5000/2000": 2.5}
    assert linearity["growth"]["mesh materialize"] == {"2000/500": 2.0, "5000/2000": 2.5}
    assert linearity["growth"]["DuckDB, the same SQL"] == {"2000/500": 2.0, "5000/2000": 2.5}
    assert linearity["growth"]["mesh materialize, peak memory"] == {"2000/500": 2.0, "5000/2000": 1.25}
    assert linearity["goal"] == "no more than the width: 2000/500 columns = 4×, 5000/2000 columns = 2.5×"
    rows = table({"scenarios": {"wide_linearity": linearity}}).splitlines()[2:]
    assert rows[0] == "| wide tables: mesh check grows | 2000/500: 2×, 5000/2000: 2× | | | | | | " + linearity["goal"] + " |"
    assert len(rows) == 6
    del results["wide_load_5000"]  # a width not measured: that figure has no growth to report
    assert "definitions load" not in wide_linearity(results, [500, 2000, 5000])["growth"]
    assert wide_linearity(results, [500]) is None


@pytest.mark.slow
def test_the_build_time_read_from_dagster_is_the_newest_runs_step(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(path="things.csv"), contract_yaml("shop", "things", THINGS))
    lab.land("shop", "things.csv", "id,name,amount\n1,anvil,12.50\n2,bucket,3.25\n")
    older = lab.materialize("shop", "things")
    newest = lab.materialize("shop", "things")
    seconds = newest_build_seconds(lab.settings.dagster_home)
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        (step,) = instance.get_run_step_stats(newest.run_id)
        (older_step,) = instance.get_run_step_stats(older.run_id)
        run = instance.get_run_stats(newest.run_id)
    assert seconds == pytest.approx(step.end_time - step.start_time)
    assert seconds != older_step.end_time - older_step.start_time
    assert 0 < seconds < run.end_time - run.start_time  # the step, inside the run


@pytest.mark.slow
def test_the_wide_scenarios_commands_run_on_their_meshes(tmp_path):
    log = tmp_path / "bench.log"
    scenarios = wide_scenarios(tmp_path, [3, 6], 50, log)
    assert [s.name for s in scenarios] == [
        f"wide_{m}_{w}" for m in ("check", "load", "build") for w in (3, 6)
    ]  # each measure's widths in turn
    results = {}
    for scenario in scenarios:
        results[scenario.name] = pair(scenario.mesh, scenario.reference, 1, scenario.before_each).summary()
    for width in (3, 6):
        port = tmp_path / f"wide_{width}" / ".mesh" / "ports" / "wide" / "wide" / "v1"
        built = duckdb.sql(f"SELECT * FROM read_parquet('{port}/*.parquet')")
        reference = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / f'wide_{width}_reference.parquet'}')")
        assert built.columns == reference.columns == [f"c{i:04d}" for i in range(width)]
        assert sorted(built.fetchall()) == sorted(reference.fetchall()) and len(reference.fetchall()) == 50
    assert set(wide_linearity(results, [3, 6])["growth"]) == {
        "mesh check",
        "definitions load",
        "mesh materialize",
        "DuckDB, the same SQL",
        "mesh materialize, peak memory",
        "DuckDB, peak memory",
    }


def test_a_helper_running_before_a_measured_command_is_charged_only_for_what_it_did_during_it(tmp_path):
    """A warm worker alive since an earlier build (the setup's, another scenario's) has CPU time of its own and of its
    reaped runs; a measured command is charged only for what the helpers did while it ran."""
    import subprocess
    import sys
    import time

    import psutil

    burn = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(30)\n"
    helper = subprocess.Popen([sys.executable, "-c", burn])
    try:
        deadline = time.monotonic() + 20
        while sum(psutil.Process(helper.pid).cpu_times()[:2]) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        helpers = Helpers(lambda: [psutil.Process(helper.pid)])
        ran = measure([sys.executable, "-c", "pass"], dict(os.environ), tmp_path, tmp_path / "log", cpu=True, helpers=helpers)
        assert ran.cpu_s is not None and ran.cpu_s < 0.4, ran  # the command's own start-up, not the helper's 0.6 s
    finally:
        helper.kill()
