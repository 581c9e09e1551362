"""The benchmark's own arithmetic and what it reads from Dagster (the figures themselves are measured, never asserted)."""

import dagster as dg
import pytest

from bench.harness import Run, pair
from bench.run import table
from bench.scenarios import newest_build_seconds

from .conftest import contract_yaml
from .test_recipes import THINGS
from .test_recipes_configured import SOURCE


def runs(*figures: tuple[float, float, float | None]):
    """A command whose successive runs report these (wall, peak, build) figures."""
    queue = list(figures)
    return lambda: Run(*queue.pop(0))


def test_a_pairing_of_two_runs_that_read_their_build_time_reports_the_build_ratio_beside_the_wall_ratio():
    pairing = pair(runs((3.0, 500, 1.0), (4.0, 500, 1.5), (3.5, 500, 1.2)), runs((60, 8000, 50), (80, 8000, 50), (70, 8000, 60)), 3)
    summary = pairing.summary()
    assert summary["wall_ratio_median"] == pytest.approx(0.05)  # 3/60, 4/80, 3.5/70
    assert summary["build_ratio_median"] == pytest.approx(0.02)  # 1/50, 1.5/50 = 0.03, 1.2/60
    assert summary["mesh"]["build_s_median"] == 1.2 and summary["reference"]["build_s_median"] == 50
    line = table({"scenarios": {"partition": {"what": "one day", "against": "a year", "goal": "≤ 0.05", **summary}}}).splitlines()[-1]
    assert line == "| one day | 3.50 s, 500 MB (build 1.20 s) | a year | 70.00 s, 8000 MB (build 50.00 s) | 0.05× | 0.0625× | 0.02× | ≤ 0.05 |"


def test_a_pairing_whose_runs_do_not_read_their_build_time_has_no_build_ratio():
    summary = pair(runs((2.0, 100, None)), runs((1.0, 100, None)), 1).summary()
    assert "build_ratio_median" not in summary and "build_s_median" not in summary["mesh"]
    assert summary["wall_ratio_median"] == 2.0


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
