"""A backfill launched through the webserver's GraphQL API, as the UI launches it, builds every partition asked for;
a day built again (late data) shows the same day of a daily product reading it as stale.

`mesh ui` (webserver and daemon, on 127.0.0.1) serves a lab mesh with a daily partitioned source and
a daily product reading it; a backfill of 30 days goes to the daemon, which runs it (one run: the
product's backfill policy).
"""

import datetime as dt
import os
import signal
import subprocess
import sys

import dagster as dg
import pytest
from deltalake import DeltaTable

from .conftest import LOCATIONS_QUERY, contract_yaml, free_port, graphql
from .onebox import LAUNCH_BACKFILL, wait_for
from .test_partitions import DAILY_COUNTS, EVENTS, SOURCE, SQL

pytestmark = pytest.mark.slow

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions }
    ... on PythonError { message }
  }
}
"""
STALE = """
query Stale($key: AssetKeyInput!, $partition: String) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      staleStatus(partition: $partition)
      staleCauses(partition: $partition) { reason key { path } partitionKey }
    }
  }
}
"""
DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(30)]


def test_a_backfill_of_30_days_through_graphql_materializes_30_partitions_and_a_late_day_makes_its_reader_stale(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "events", SOURCE, contract_yaml("shop", "events", EVENTS))
    counts = "SELECT day, count(*) AS events, (SELECT count(*) FROM events) AS events_seen FROM events GROUP BY day"
    lab.add_product("shop", "daily_counts", SQL.format(sql=counts), contract_yaml("shop", "daily_counts", DAILY_COUNTS))
    for number, day in enumerate(DAYS):
        lab.land("shop", f"events/{day}.csv", f"event_id,day,amount\n{number * 2},{day},1\n{number * 2 + 1},{day},2\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh_platform.cli.main", "ui"],
        cwd=lab.root,
        env={**os.environ, "MESH_UI_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _loaded(port), process, "the UI did not load the shop code location")
        launched = graphql(
            port,
            LAUNCH_BACKFILL,
            {
                "params": {
                    "assetSelection": [{"path": ["shop", "events"]}],
                    "partitionNames": [str(day) for day in DAYS],
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = launched["backfillId"]

        def finished():
            state = graphql(port, BACKFILL, {"id": backfill})["partitionBackfillOrError"]
            return state if state["status"] not in ("REQUESTED",) else None

        state = wait_for(finished, process, "the backfill did not finish", timeout=300)
        assert state["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), state
        assert state["numPartitions"] == 30

        # Late data for 2026-01-02: that day of events is built again after daily_counts read it.
        assert lab.materialize("shop", "daily_counts", partitions=("2026-01-01", "2026-01-02")).success
        counts_key = {"key": {"path": ["shop", "daily_counts"]}}
        assert graphql(port, STALE, {**counts_key, "partition": "2026-01-02"})["assetNodeOrError"]["staleStatus"] == "FRESH"
        lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n2,2026-01-02,1\n3,2026-01-02,2\n100,2026-01-02,3\n")
        assert lab.materialize("shop", "events", partition="2026-01-02").success
        stale = graphql(port, STALE, {**counts_key, "partition": "2026-01-02"})["assetNodeOrError"]
        assert stale["staleStatus"] == "STALE", stale
        assert {"reason": "has a new data version", "key": {"path": ["shop", "events"]}, "partitionKey": "2026-01-02"} in stale[
            "staleCauses"
        ]
        assert graphql(port, STALE, {**counts_key, "partition": "2026-01-01"})["assetNodeOrError"]["staleStatus"] == "FRESH"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)

    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey(["shop", "events"])) == {str(day) for day in DAYS}
        [run] = instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/backfill": backfill})
        )  # one run for the range (the backfill policy)
        assert run.tags["dagster/asset_partition_range_start"] == "2026-01-01"
    port = DeltaTable(str(lab.settings.ports_root / "shop" / "events" / "v1"))
    assert len(port.history()) == 2 and port.to_pyarrow_table().num_rows == 61  # the backfill's commit, then the late day's


def _loaded(port: int) -> bool:
    try:
        entries = graphql(port, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return (
        len(entries) == 1
        and bool(entries[0]["locationOrLoadError"])
        and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    )
