"""Partitioned products: a build computes, checks and replaces its partitions only, in one Delta commit.

A lab domain `shop`: `events`, a daily source partitioned by `day`; `daily_counts`, a daily product
reading it (it reads the same day); `all_counts`, an unpartitioned product reading every day.
"""

import dagster as dg
import pytest
from deltalake import DeltaTable

from mesh_platform import ContractError, load_contract

from .conftest import column, contract_yaml
from .test_recipes import rows

START = {"property": "partitionStart", "value": "2026-01-01"}
EVENTS = [
    column("event_id", "integer", "BIGINT", primaryKey=True, primaryKeyPosition=1, required=True),
    column("day", "date", "DATE", required=True, partitioned=True, partitionKeyPosition=1, customProperties=[START]),
    column("amount", "number", "DOUBLE", logicalTypeOptions={"minimum": 0}),
]
DAILY_COUNTS = [
    column("day", "date", "DATE", required=True, partitioned=True, partitionKeyPosition=1, customProperties=[START]),
    column("events", "integer", "BIGINT"),
    column("events_seen", "integer", "BIGINT"),
]
ALL_COUNTS = [column("day", "date", "DATE"), column("events", "integer", "BIGINT")]
SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: events/*.csv\n"
SQL = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/events]\n  sql: |\n    {sql}\n"
# Three days of events, one file per day as delivered.
DAY_1 = "event_id,day,amount\n1,2026-01-01,10\n2,2026-01-01,20\n"
DAY_2 = "event_id,day,amount\n3,2026-01-02,30\n4,2026-01-02,40\n5,2026-01-02,50\n"
DAY_3 = "event_id,day,amount\n6,2026-01-03,60\n"


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "events", SOURCE, contract_yaml("shop", "events", EVENTS))
    lab.add_product(
        "shop",
        "daily_counts",
        SQL.format(sql="SELECT day, count(*) AS events, (SELECT count(*) FROM events) AS events_seen FROM events GROUP BY day"),
        contract_yaml("shop", "daily_counts", DAILY_COUNTS),
    )
    lab.add_product(
        "shop",
        "all_counts",
        SQL.format(sql="SELECT day, count(*) AS events FROM events GROUP BY day"),
        contract_yaml("shop", "all_counts", ALL_COUNTS),
    )
    for day, text in (("01", DAY_1), ("02", DAY_2), ("03", DAY_3)):
        lab.land("shop", f"events/2026-01-{day}.csv", text)
    return lab


def history(lab, product: str) -> list[dict]:
    return DeltaTable(str(lab.settings.ports_root / "shop" / product / "v1")).history()


def test_a_partitioned_contract_is_a_partitioned_asset(shop):
    [events] = [a for a in shop.definitions("shop").assets if dg.AssetKey(["shop", "events"]) in a.keys]
    partitions = events.partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.get_first_partition_key() == "2026-01-01" and partitions.timezone == "UTC"
    assert events.backfill_policy == dg.BackfillPolicy.single_run()


def test_a_range_of_partitions_is_one_run_and_one_commit(shop):
    result = shop.materialize("shop", "events", partitions=("2026-01-01", "2026-01-03"))
    assert result.success
    assert sorted(r[0] for r in rows("mesh://shop/events")) == [1, 2, 3, 4, 5, 6]
    assert len(history(shop, "events")) == 1
    with dg.DagsterInstance.from_config(str(shop.settings.dagster_home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey(["shop", "events"])) == {"2026-01-01", "2026-01-02", "2026-01-03"}


def test_a_partition_rebuilt_alone_leaves_the_other_partitions_untouched(shop):
    assert shop.materialize("shop", "events", partitions=("2026-01-01", "2026-01-03")).success
    # Late data for day 2; days 1 and 3 change in the landing folder too, but only day 2 is rebuilt.
    shop.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,31\n7,2026-01-02,70\n")
    shop.land("shop", "events/2026-01-01.csv", "event_id,day,amount\n1,2026-01-01,99\n")
    shop.land("shop", "events/2026-01-03.csv", "event_id,day,amount\n6,2026-01-03,99\n")
    before = {r[0]: r for r in rows("mesh://shop/events")}

    result = shop.materialize("shop", "events", partition="2026-01-02")

    assert result.success
    after = {r[0]: r for r in rows("mesh://shop/events")}
    assert {k: v for k, v in after.items() if str(v[1]) != "2026-01-02"} == {
        k: v for k, v in before.items() if str(v[1]) != "2026-01-02"
    }
    assert sorted((k, v[2]) for k, v in after.items() if str(v[1]) == "2026-01-02") == [(3, 31.0), (7, 70.0)]
    commits = history(shop, "events")
    assert len(commits) == 2  # one commit for the partition
    assert commits[0]["operationParameters"]["mode"] == "Overwrite" and "predicate" in commits[0]["operationParameters"]
    assert commits[0]["mesh.partitions"] == "2026-01-02" and commits[0]["mesh.rows"] == "2"
    [materialization] = result.asset_materializations_for_node("events")
    assert materialization.partition == "2026-01-02" and materialization.metadata["dagster/row_count"].value == 2


def test_a_failing_check_on_a_partition_publishes_nothing_and_keeps_its_rows(shop):
    assert shop.materialize("shop", "events", partitions=("2026-01-01", "2026-01-03")).success
    shop.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,-5\n")
    before = rows("mesh://shop/events")

    result = shop.materialize("shop", "events", partition="2026-01-02", raise_on_error=False)

    assert not result.success
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {"amount_in_range"}
    assert rows("mesh://shop/events") == before and len(history(shop, "events")) == 1


def test_a_daily_product_reading_a_daily_input_reads_only_that_day(shop):
    assert shop.materialize("shop", "events", partitions=("2026-01-01", "2026-01-03")).success

    assert shop.materialize("shop", "daily_counts", partition="2026-01-02").success
    assert shop.materialize("shop", "all_counts").success

    # daily_counts saw the 3 events of its day; all_counts, not partitioned, read every day.
    assert rows("mesh://shop/daily_counts") == [(shop_day("2026-01-02"), 3, 3)]
    assert sorted(rows("mesh://shop/all_counts")) == [
        (shop_day("2026-01-01"), 2),
        (shop_day("2026-01-02"), 3),
        (shop_day("2026-01-03"), 1),
    ]


def test_a_partition_build_keeps_only_its_own_rows(shop):
    """A source reads every delivered file; a build of one day publishes that day's rows alone."""
    assert shop.materialize("shop", "events", partition="2026-01-03").success
    assert rows("mesh://shop/events") == [(6, shop_day("2026-01-03"), 60.0)]


def shop_day(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"required": False}, r"properties\[1\]\.required: partition column 'day' may be empty.*set required: true"),
        (
            {"customProperties": []},
            r"partition column 'day' names no first partition — add customProperties: \[\{property: partitionStart",
        ),
        (
            {"customProperties": [{"property": "partitionStart", "value": "2026-01-01 05:00"}]},
            r"customProperties\[0\]\.value: partitionStart '2026-01-01 05:00' is not the start of a daily partition",
        ),
        (
            {"customProperties": [START, {"property": "partitionGrain", "value": "weekly"}]},
            r"customProperties\[1\]\.value: partitionGrain 'weekly' is unknown — use one of: hourly, daily, monthly",
        ),
        (
            {"customProperties": [START, {"property": "partitionGrain", "value": "hourly"}]},
            r"hourly partitions need a timestamp; 'day' is a date",
        ),
        (
            {"logicalType": "string", "physicalType": "VARCHAR"},
            r"partition column 'day' is a string; partitions are periods of time",
        ),
        (
            {"customProperties": [{"property": "partitionStart", "value": "9999-12-31"}]},
            r"customProperties\[0\]\.value: partitionStart '9999-12-31': the daily partition 9999-12-31 would end "
            r"after 9999-12-31, beyond the calendar",
        ),
    ],
    ids=[
        "optional column",
        "no start",
        "start inside a day",
        "unknown grain",
        "hourly date",
        "not a time",
        "start at the calendar's end",
    ],
)
def test_a_partitioning_the_mesh_cannot_use_is_a_contract_error(tmp_path, changes, message):
    columns = [EVENTS[0], {**EVENTS[1], **changes}, EVENTS[2]]
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("shop", "events", columns))
    with pytest.raises(ContractError, match=message):
        load_contract(path)


def test_partition_keys_and_windows_follow_the_grain(tmp_path):
    hourly = {
        **EVENTS[1],
        "name": "at",
        "logicalType": "timestamp",
        "physicalType": "TIMESTAMP",
        "customProperties": [
            {"property": "partitionStart", "value": "2026-01-01 00:00"},
            {"property": "partitionGrain", "value": "hourly"},
        ],
    }
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("shop", "events", [EVENTS[0], hourly]))
    partitioning = load_contract(path).partitioning
    window = partitioning.window("2026-01-02-13:00", "2026-01-02-14:00")
    assert str(window) == "2026-01-02-13:00…2026-01-02-14:00"
    assert (
        partitioning.condition(window) == "\"at\" >= TIMESTAMP '2026-01-02 13:00:00' AND \"at\" < TIMESTAMP '2026-01-02 15:00:00'"
    )
    with pytest.raises(ValueError, match=r"'2026-01-02' is not a hourly partition key of at \(write it like 2026-01-01-00:00\)"):
        partitioning.window("2026-01-02")
    with pytest.raises(ValueError, match=r"before the first partition, 2026-01-01-00:00"):
        partitioning.window("2025-12-31-23:00")


@pytest.mark.slow
def test_mesh_materialize_builds_a_partition_a_range_or_every_partition(shop):
    import os
    import re

    from mesh_platform import product_versions

    from .conftest import run_mesh

    env = {**os.environ}
    whole = run_mesh("materialize", "mesh://shop/events", "mesh://shop/all_counts", env=env)
    assert whole.returncode == 0, whole.stderr
    last = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC").get_last_partition_key()
    assert f"▶ shop: events, all_counts (partitions 2026-01-01…{last})" in whole.stdout
    assert f"✓ mesh://shop/events  version 0, 6 rows, partitions 2026-01-01…{last}" in whole.stdout, whole.stdout

    status = run_mesh("status", env=env)
    assert re.search(rf"mesh://shop/events +fresh \(to {last}\)", status.stdout), status.stdout  # judged on the newest day

    shop.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,31\n")
    one = run_mesh("materialize", "mesh://shop/events", "--partition", "2026-01-02", env=env)
    assert one.returncode == 0, one.stderr
    assert "✓ mesh://shop/events  version 1, 1 rows, partitions 2026-01-02," in one.stdout
    assert sorted(r[0] for r in rows("mesh://shop/events")) == [1, 2, 3, 6]

    days = run_mesh("materialize", "mesh://shop/daily_counts", "--from", "2026-01-01", "--to", "2026-01-02", env=env)
    assert days.returncode == 0, days.stderr
    assert [v.partitions for v in product_versions("mesh://shop/daily_counts")] == ["2026-01-01…2026-01-02"]
    assert rows("mesh://shop/daily_counts") == [(shop_day("2026-01-01"), 2, 3), (shop_day("2026-01-02"), 1, 3)]

    bad = run_mesh("materialize", "mesh://shop/events", "--partition", "01/02/2026", env=env)
    assert bad.returncode == 1
    assert (
        "✗ mesh://shop/events  failed: not run: '01/02/2026' is not a daily partition key of day (write it like 2026-01-01)"
        in bad.stdout
    )
    for key, reason in (
        ("9999-12-31", "the daily partition 9999-12-31 would end after 9999-12-31, beyond the calendar"),
        ("2999-01-01", f"partition '2999-01-01' has not ended yet: the newest complete partition is {last}"),
    ):
        beyond = run_mesh("materialize", "mesh://shop/events", "--partition", key, env=env)
        assert beyond.returncode == 1 and f"✗ mesh://shop/events  failed: not run: {reason}" in beyond.stdout, (
            beyond.stdout + beyond.stderr
        )
        assert "Traceback" not in beyond.stdout + beyond.stderr
    both = run_mesh("materialize", "mesh://shop/events", "--partition", "2026-01-02", "--from", "2026-01-01", env=env)
    assert both.returncode != 0 and "give --partition KEY, or --from KEY --to KEY, not both" in both.stderr


def test_a_promise_more_frequent_than_the_partitions_is_a_contract_error(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("shop", "events", EVENTS, slaProperties=[{"property": "frequency", "value": 1, "unit": "h"}]))
    with pytest.raises(
        ContractError,
        match=(
            r"slaProperties\[0\]\.value: an update every 1h is more often than the daily partitions can give: a "
            r"partition is complete once per day"
        ),
    ):
        load_contract(path)


def test_freshness_follows_the_newest_partition(tmp_path):
    import datetime as dt

    from mesh_platform.catalog.freshness import partition_freshness

    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("shop", "events", EVENTS))  # frequency 1 d, latency 2 h
    contract = load_contract(path)
    built = dt.datetime(2026, 3, 10, 1, tzinfo=dt.UTC)
    # The newest day, 2026-03-09, ended at midnight: the next one is due a day and two hours later.
    fresh = partition_freshness(contract, "2026-03-09", built, now=dt.datetime(2026, 3, 11, 1, 59, tzinfo=dt.UTC))
    assert (fresh.state, fresh.due_by, fresh.latest_partition) == (
        "fresh",
        dt.datetime(2026, 3, 11, 2, tzinfo=dt.UTC),
        "2026-03-09",
    )
    # A rebuild of an old day today does not make a product whose newest day is old fresh.
    assert (
        partition_freshness(
            contract, "2026-03-01", dt.datetime(2026, 3, 11, 1, tzinfo=dt.UTC), now=dt.datetime(2026, 3, 11, 1, 59, tzinfo=dt.UTC)
        ).state
        == "late"
    )
    assert partition_freshness(contract, None, None).state == "never run"


def test_a_rule_on_the_whole_table_checks_the_table_the_commit_would_make(lab):
    across = {
        "metric": "duplicateValues",
        "arguments": {"properties": ["event_id"]},
        "mustBe": 0,
        "customProperties": [{"property": "scope", "value": "table"}],
    }
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "events",
        SOURCE,
        contract_yaml("shop", "events", EVENTS, schema=[{"name": "events", "properties": EVENTS, "quality": [across]}]),
    )
    for day, text in (("01", DAY_1), ("02", DAY_2), ("03", DAY_3)):
        lab.land("shop", f"events/2026-01-{day}.csv", text)
    assert lab.materialize("shop", partitions=("2026-01-01", "2026-01-03")).success
    before = rows("mesh://shop/events")

    # Day 2 again, now holding event 1, which day 1 already has: unique within the day, not across days.
    lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n1,2026-01-02,5\n3,2026-01-02,30\n")
    result = lab.materialize("shop", partition="2026-01-02", raise_on_error=False)

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["event_id_unique"].passed  # the partition's own rule
    assert (
        not evaluations["event_id_duplicates"].passed
        and evaluations["event_id_duplicates"].metadata["unexpected_count"].value == 2
    )
    assert rows("mesh://shop/events") == before and len(history(lab, "events")) == 1

    lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n8,2026-01-02,5\n3,2026-01-02,30\n")
    assert lab.materialize("shop", partition="2026-01-02").success
    assert sorted(r[0] for r in rows("mesh://shop/events")) == [1, 2, 3, 6, 8]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "not declared"])
def test_a_day_built_again_upstream_is_rebuilt_downstream_when_the_contract_declares_it(lab, declared):
    extra = (
        {"customProperties": [{"property": "access", "value": "public"}, {"property": "rebuildLatePartitions", "value": True}]}
        if declared
        else {}
    )
    lab.add_domain("shop")
    lab.add_product("shop", "events", SOURCE, contract_yaml("shop", "events", EVENTS))
    counts = "SELECT day, count(*) AS events, (SELECT count(*) FROM events) AS events_seen FROM events GROUP BY day"
    lab.add_product("shop", "daily_counts", SQL.format(sql=counts), contract_yaml("shop", "daily_counts", DAILY_COUNTS, **extra))
    for day, text in (("01", DAY_1), ("02", DAY_2), ("03", DAY_3)):
        lab.land("shop", f"events/2026-01-{day}.csv", text)
    assert lab.materialize("shop", partitions=("2026-01-01", "2026-01-03")).success
    defs = lab.definitions("shop")
    counts_key = dg.AssetKey(["shop", "daily_counts"])
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        first = dg.evaluate_automation_conditions(defs, instance, asset_selection=dg.AssetSelection.assets(counts_key))
        assert first.get_requested_partitions(counts_key) == set()

        lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,31\n")
        assert lab.materialize("shop", "events", partition="2026-01-02").success

        then = dg.evaluate_automation_conditions(
            defs, instance, asset_selection=dg.AssetSelection.assets(counts_key), cursor=first.cursor
        )
        assert then.get_requested_partitions(counts_key) == ({"2026-01-02"} if declared else set())


def test_rebuilding_late_partitions_is_for_partitioned_products(tmp_path):
    path = tmp_path / "contract.yaml"
    columns = [column("id", "integer", "BIGINT")]
    path.write_text(
        contract_yaml(
            "shop",
            "things",
            columns,
            customProperties=[{"property": "access", "value": "public"}, {"property": "rebuildLatePartitions", "value": True}],
        )
    )
    with pytest.raises(ContractError, match=r"customProperties\[1\]\.value: rebuildLatePartitions is for partitioned products"):
        load_contract(path)


def test_the_schedule_builds_the_newest_partition(shop):
    """Past its cron tick (the contract's daily frequency: midnight), the source's automation asks for the day just ended."""
    import datetime as dt

    defs = shop.definitions("shop")
    events = dg.AssetKey(["shop", "events"])
    with dg.DagsterInstance.from_config(str(shop.settings.dagster_home)) as instance:
        before = dt.datetime(2026, 3, 10, 23, 0, tzinfo=dt.UTC)
        first = dg.evaluate_automation_conditions(
            defs, instance, asset_selection=dg.AssetSelection.assets(events), evaluation_time=before
        )
        after = dg.evaluate_automation_conditions(
            defs,
            instance,
            asset_selection=dg.AssetSelection.assets(events),
            evaluation_time=before + dt.timedelta(hours=1, minutes=30),
            cursor=first.cursor,
        )
    assert first.get_requested_partitions(events) == set()
    assert after.get_requested_partitions(events) == {"2026-03-10"}
