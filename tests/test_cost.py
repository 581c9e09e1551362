"""`mesh cost`: run time, rows and bytes of every product's builds, per product and domain, from real runs.

A lab mesh: `shop/events`, a daily partitioned source, and `shop/things`, a source; `crm/events`, a source
of change events, and `crm/people`, a cdc product applying them by key (Delta MERGE). They are built
through `mesh materialize` (and once through a plain Dagster run, as the UI launches one): a whole
build, a partition replaced, changes merged, a build that changed nothing, a build that failed.
"""

import datetime as dt
import json
import os

import dagster as dg
import pytest

from mesh_platform.runtime.cost import window_start

from .conftest import contract_yaml, open_lab, run_mesh
from .test_partitions import DAY_1, DAY_2, DAY_3, EVENTS
from .test_recipes import THINGS
from .test_recipes_configured import CDC_EVENTS, CDC_RECIPE, CDC_STATE, DELIVERIES

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {path}\n"
THINGS_CSV = "id,name,amount\n1,anvil,12.50\n2,bucket,3.25\n3,crate,7.00\n"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("30d", NOW - dt.timedelta(days=30)),
        ("12h", NOW - dt.timedelta(hours=12)),
        ("90min", NOW - dt.timedelta(minutes=90)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
        ("2026-11-01T08:00+01:00", dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC)),
    ],
)
def test_a_window_is_a_duration_back_from_now_or_a_time(text, start):
    assert window_start(text, NOW) == start


@pytest.mark.parametrize(
    ("text", "shown"), [("999999999999d", "999999999999d"), ("1000000w", "1000000w"), ("9" * 5000 + "d", "999999999999…999d")]
)
def test_a_window_reaching_before_year_one_says_so_in_one_short_line(text, shown):
    with pytest.raises(ValueError) as raised:
        window_start(text, NOW)
    assert str(raised.value) == f"'{shown}' reaches back before year 1; give a shorter window, or a time such as 2026-01-01"


@pytest.mark.parametrize("text", ["30", "3x", "d30", "last week"])
def test_a_window_that_is_neither_says_what_to_write(text):
    with pytest.raises(
        ValueError, match=rf"'{text}' is neither a duration nor a time; write e.g. 30d, 12h, 90min, 2w, or 2026-11-01T00:00"
    ):
        window_start(text, NOW)


def cost(*args: str) -> dict:
    result = run_mesh("cost", "--json", *args, env={**os.environ}, check=True)
    return json.loads(result.stdout)


def materialize(*args: str) -> None:
    result = run_mesh("materialize", *args, env={**os.environ})
    assert result.returncode == 0, result.stdout + result.stderr


def added_bytes(lab, domain: str, product: str, version: int) -> int:
    """The size of the files commit `version` added, read from the port's Delta log itself."""
    log = lab.settings.ports_root / domain / product / "v1" / "_delta_log" / f"{version:020d}.json"
    actions = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return sum(action["add"]["size"] for action in actions if "add" in action)


def step_seconds(lab) -> dict[str, float]:
    """Each product's step durations summed, from the STEP_START and STEP_SUCCESS / STEP_FAILURE events of every run."""
    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    seconds: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        for record in instance.get_run_records():
            domain = run_domain(instance, record.dagster_run)
            started = {}
            for entry in instance.all_logs(record.dagster_run.run_id, of_type={dg.DagsterEventType.STEP_START, *ends}):
                if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                    started[entry.step_key] = entry.timestamp
                else:
                    address = f"mesh://{domain}/{entry.step_key}"
                    seconds[address] = seconds.get(address, 0.0) + entry.timestamp - started[entry.step_key]
    return seconds


def run_domain(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The domain of the products a run selected, or (a run of every asset, as `dagster.materialize` makes) built."""
    if run.asset_selection:
        return next(iter(run.asset_selection)).path[0]
    [materialization, *_] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return materialization.asset_materialization.asset_key.path[0]


def run_domains(lab) -> list[tuple[str, str | None]]:
    """Each run's domain and its `mesh/domain` tag."""
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        return [(run_domain(instance, r.dagster_run), r.dagster_run.tags.get("mesh/domain")) for r in instance.get_run_records()]


@pytest.fixture(scope="module")
def built(tmp_path_factory, empty_instance):
    """The lab mesh built (once: the tests only read it): before `between`, everything once; after it, a
    partition, changes, nothing, a failure, a run Dagster creates as the UI does."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        lab = open_lab(tmp_path_factory.mktemp("cost") / "lab", monkeypatch, empty_instance)
        between = _build(lab)
        yield lab, between


def _build(lab) -> dt.datetime:
    lab.add_domain("shop")
    lab.add_product("shop", "events", SOURCE.format(path="events/*.csv"), contract_yaml("shop", "events", EVENTS))
    lab.add_product("shop", "things", SOURCE.format(path="things.csv"), contract_yaml("shop", "things", THINGS))
    for day, text in (("01", DAY_1), ("02", DAY_2), ("03", DAY_3)):
        lab.land("shop", f"events/2026-01-{day}.csv", text)
    lab.land("shop", "things.csv", THINGS_CSV)
    lab.add_domain("crm")
    lab.add_product("crm", "events", SOURCE.format(path="events/*.csv"), contract_yaml("crm", "events", CDC_EVENTS))
    lab.add_product("crm", "people", CDC_RECIPE.format(incremental="true"), contract_yaml("crm", "people", CDC_STATE))
    lab.land("crm", "events/0.csv", DELIVERIES[0])

    materialize("--all")  # shop/events (every partition, 6 rows), shop/things (3), crm/events (4), crm/people (3)
    between = dt.datetime.now(dt.UTC)
    lab.land("shop", "events/2026-01-02.csv", "event_id,day,amount\n3,2026-01-02,31\n")
    materialize("mesh://shop/events", "--partition", "2026-01-02")  # one partition replaced: 1 row
    lab.land("crm", "events/1.csv", DELIVERIES[1])
    materialize("--domain", "crm")  # crm/events: 10 rows; crm/people MERGEs the changed keys: 4 rows now
    materialize("mesh://crm/people")  # no new event: no commit, 0 bytes written, 4 rows
    lab.land("shop", "things.csv", "id,name,amount\n")
    failed = run_mesh("materialize", "mesh://shop/things", env={**os.environ})
    assert failed.returncode == 1 and "row_count failed" in failed.stdout, failed.stdout  # the rule refuses an empty table
    lab.land("shop", "things.csv", THINGS_CSV)
    assert lab.materialize("shop", "things").success  # a run Dagster creates without the platform's tags, as the UI does
    return between


@pytest.mark.slow
def test_mesh_cost_reports_each_product_and_domain_from_real_runs(built):
    lab, between = built
    report = cost()

    products = {p["address"]: p for p in report["products"]}
    assert {a: (p["builds"], p["failed"], p["rows"]) for a, p in products.items()} == {
        "mesh://shop/events": (2, 0, 6 + 1),
        "mesh://shop/things": (3, 1, 3 + 3),  # the failed build published nothing
        "mesh://crm/events": (2, 0, 4 + 10),
        "mesh://crm/people": (3, 0, 3 + 4 + 4),
    }
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        for address, product in products.items():  # each successful build: one run with its materializations (one per partition)
            records = instance.fetch_materializations(dg.AssetKey(address.removeprefix("mesh://").split("/")), limit=1000).records
            assert product["builds"] - product["failed"] == len({r.run_id for r in records}), address
    commits = {
        "mesh://shop/events": [0, 1],
        "mesh://shop/things": [0, 1],
        "mesh://crm/events": [0, 1],
        "mesh://crm/people": [0, 1],
    }
    for address, versions in commits.items():
        domain, product = address.removeprefix("mesh://").split("/")
        written = sum(added_bytes(lab, domain, product, v) for v in versions)
        assert products[address]["bytes"] == written > 0, address
    seconds = step_seconds(lab)
    for address, product in products.items():
        assert product["run_seconds"] == pytest.approx(seconds[address], abs=1e-5) and product["run_seconds"] > 0, address

    domains = {d["domain"]: d for d in report["domains"]}
    assert set(domains) == {"shop", "crm"}
    for domain, summed in domains.items():
        mine = [p for p in report["products"] if p["domain"] == domain]
        for field in ("builds", "failed", "rows", "bytes"):
            assert summed[field] == sum(p[field] for p in mine), (domain, field)
        assert summed["run_seconds"] == pytest.approx(sum(p["run_seconds"] for p in mine), abs=1e-5)
    assert report["total"]["builds"] == 10 and report["total"]["rows"] == 7 + 6 + 14 + 11
    assert report["total"]["bytes"] == sum(p["bytes"] for p in report["products"])

    # Every run carries its domain: those of mesh materialize from their start, the plain Dagster run once it built.
    tags = run_domains(lab)
    assert len(tags) == 7 and all(domain == tag for domain, tag in tags), tags


@pytest.mark.slow
def test_mesh_cost_filters_by_domain_and_window(built):
    lab, between = built
    crm = cost("--domain", "crm")
    assert crm["domain"] == "crm" and [d["domain"] for d in crm["domains"]] == ["crm"]
    assert [p["address"] for p in crm["products"]] == ["mesh://crm/events", "mesh://crm/people"]
    assert crm["total"] == {k: v for k, v in crm["domains"][0].items() if k != "domain"}

    later = cost("--since", between.isoformat())  # the first build of everything ended before
    assert {p["address"]: (p["builds"], p["rows"]) for p in later["products"]} == {
        "mesh://shop/events": (1, 1),
        "mesh://shop/things": (2, 3),
        "mesh://crm/events": (1, 10),
        "mesh://crm/people": (2, 8),
    }
    people = {p["address"]: p for p in later["products"]}["mesh://crm/people"]
    assert people["bytes"] == added_bytes(lab, "crm", "people", 1)  # the MERGE's files; the build that changed nothing wrote none
    assert cost("--since", "1h")["total"]["builds"] == 10
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat()
    assert cost("--since", future)["products"] == []

    table = run_mesh("cost", env={**os.environ}, check=True).stdout
    print(table)
    lines = table.splitlines()
    assert lines[0].split() == ["PRODUCT", "BUILDS", "FAILED", "RUN", "TIME", "ROWS", "BYTES"]
    things = next(line for line in lines if line.startswith("mesh://shop/things")).split()
    assert things[1:3] == ["3", "1"] and things[-1] in ("KiB", "B")
    assert any(line.split()[:3] == ["total", "10", "1"] for line in lines)
    assert lines[-1].startswith("since ") and "10 builds of 4 products" in lines[-1]


def test_mesh_cost_refuses_an_unknown_domain_or_window(lab):
    lab.add_domain("shop")
    unknown = run_mesh("cost", "--domain", "sales", env={**os.environ})
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: --domain: there is no domain 'sales' (domains: shop)"
    bad = run_mesh("cost", "--since", "3x", env={**os.environ})
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == "error: --since '3x' is neither a duration nor a time; write e.g. 30d, 12h, 90min, 2w, or 2026-11-01T00:00"
    )
    assert run_mesh("cost", env={**os.environ}, check=True).stdout.startswith("no product was built since ")
