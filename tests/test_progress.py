"""What a warm run's process sends `mesh materialize`: each progress event as one JSON line, read back as it was
(runtime.progress). The runs themselves are in test_warm_builds.py, test_killed_runs.py and test_materialize.py."""

import json

import pytest

from mesh_platform.core.address import Address
from mesh_platform.runtime.progress import (
    ProductFinished,
    ProductOutcome,
    ProductStarted,
    RunRecovered,
    from_message,
    to_message,
)
from mesh_platform.runtime.recovery import DeadRun

EVENTS = [
    RunRecovered(DeadRun("3f2a", 4242, "__ASSET_JOB")),
    ProductStarted(Address("sales", "orders")),
    ProductStarted(Address("sales", "orders", 2)),
    ProductFinished(
        ProductOutcome(
            Address("sales", "orders"),
            "materialized",
            version=7,
            rows=2000,
            seconds=1.25,
            run_id="3f2a",
            partitions="2026-01-01…2026-12-01",
        )
    ),
    ProductFinished(ProductOutcome(Address("web", "sessions"), "failed", "rule 'id_unique' failed: 3 rows", run_id="9c")),
    ProductFinished(ProductOutcome(Address("web", "visits"), "skipped", "not run: an input failed (mesh://web/sessions)")),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_each_progress_event_survives_its_json_line(event):
    line = json.dumps(to_message(event))
    assert "\n" not in line
    assert from_message(json.loads(line)) == event


def test_a_line_that_holds_no_event_is_none():
    assert from_message({"run": "3f2a"}) is None
    assert from_message({"exit": 0}) is None
