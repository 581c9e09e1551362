"""Retention: old port versions go after the contract's retention (or the mesh's default), the versions
still served stay, and the folder shrinks accordingly — with Delta Lake's own VACUUM.

The builds run at days an injected clock gives (the port store resource's `now`), so 30 daily builds
take seconds; publish times and retention count from that clock."""

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from mesh_platform import Address, PortError, PortStoreResource, product_versions
from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.clock import Clock
from mesh_platform.core.errors import DeprecatedPortWarning
from mesh_platform.core.settings import MeshSettings
from mesh_platform.product.resources import platform_resources
from mesh_platform.product.retention import Retention
from mesh_platform.storage.ports import PortStore

from .conftest import column, contract_yaml, owner_read, run_mesh
from .test_access import personal
from .test_object_store import ITEMS, bucket_mesh  # noqa: F401 (a fixture: pytest finds it here)

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {file}\n"
NAMES = (
    "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: ['mesh://shop/things@v1 as things']\n"
    "  sql: SELECT name FROM things\n"
)
THINGS = [column("id", "integer"), column("name"), personal("email")]
DAILY = [{"property": "frequency", "value": 1, "unit": "d"}, {"property": "latency", "value": 2, "unit": "h"}]
RETAINED = [*DAILY, {"property": "retention", "value": 7, "unit": "d"}]
THINGS_V1 = Address("shop", "things", 1)
# The first build's day: the governance check of a new major's first build counts its serving window from the real today.
START = dt.datetime.combine(dt.date.today(), dt.time(6), dt.UTC)


def day(number: float) -> dt.datetime:
    return START + dt.timedelta(days=number)


def things_contract(sla=RETAINED, **extra) -> str:
    return contract_yaml("shop", "things", THINGS, slaProperties=sla, **extra)


def things_rows(build: int, rows: int = 2000) -> str:
    """The day's export: every tenth row changes its e-mail address each day."""
    lines = ["id,name,email"] + [f"{i},thing {i},owner{i}-{build if i % 10 == 0 else 0}@example.com" for i in range(rows)]
    return "\n".join(lines) + "\n"


def at(lab, when: dt.datetime, **settings) -> dict:
    """The domain's own port store resource with the clock at `when`: what a build that day gets."""
    ports = lab.definitions("shop").resources["mesh_ports"]
    fields = {name: getattr(ports, name) for name in PortStoreResource.model_fields}
    return {"mesh_ports": PortStoreResource(**{**fields, "now": when.isoformat(), **settings})}


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def parquet_files(folder: Path) -> set[str]:
    return {f.name for f in folder.glob("*.parquet")}


def vacuum(*args: str) -> dict:
    return json.loads(run_mesh("vacuum", *args, "--json", check=True).stdout)


@pytest.mark.slow
def test_thirty_daily_builds_keep_seven_days_of_versions_and_the_folder_shrinks(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(file="things.csv"), things_contract())
    folder = lab.settings.ports_root / "shop" / "things" / "v1"
    sizes, written = [], 0
    for build in range(30):
        lab.land("shop", "things.csv", things_rows(build))
        result = lab.materialize("shop", resources=at(lab, day(build)))
        assert result.success
        written += result.asset_materializations_for_node("things")[0].metadata["mesh/bytes_written"].value
        sizes.append(folder_bytes(folder))

    # The version current 7 days ago (day 22) and every later one stay; the 22 before them are gone.
    versions = product_versions("mesh://shop/things")
    assert [v.published_at for v in versions if v.kept] == [day(b) for b in range(29, 21, -1)]
    assert [v.published_at for v in versions if not v.kept] == [day(b) for b in range(21, -1, -1)]
    # The folder holds the kept versions' files only: it stopped growing after a week, far below what was written.
    kept_files = {
        Path(uri).name
        for v in versions
        if v.kept
        for uri in PortStore.of(lab.settings).port(THINGS_V1).table(v.version).file_uris()
    }
    assert parquet_files(folder) == kept_files
    assert sizes[-1] < written / 3
    assert sizes[-1] < sizes[9] * 1.2  # the log grows a little; the data does not
    shown = json.loads(run_mesh("show", "mesh://shop/things", "--json", check=True).stdout)["storage"]
    assert shown | {"ports": None} == {
        "retention": "7 days",
        "retention_seconds": 604800,
        "retention_source": "contract",
        "versions_kept": 8,
        "versions_removed": 22,
        "bytes": folder_bytes(folder),
        "ports": None,
    }
    text = run_mesh("show", "mesh://shop/things", check=True).stdout
    assert "retention     7 days (contract); 22 older versions removed" in text

    # A removed version says so; the oldest kept one reads with its clear values (the vault kept them).
    oldest = min(v.version for v in versions if v.kept)
    removed = max(v.version for v in versions if not v.kept)
    with pytest.raises(
        PortError,
        match=rf"^version {removed} of mesh://shop/things@v1 was removed by retention \(7 days\); the oldest kept is {oldest}$",
    ):
        owner_read("mesh://shop/things", version=removed)
    assert sorted(owner_read("mesh://shop/things", version=oldest)["email"])[:2] == [
        "owner0-22@example.com",
        "owner1-0@example.com",
    ]
    # The vault holds the values of kept versions only: 1,800 that never changed, 200 per kept day.
    vault = PortStore.of(lab.settings).vault.dataset("shop").to_table()
    assert vault.num_rows == 1800 + 200 * 8

    # Three days on, a dry run lists what would go and removes nothing.
    before = {f.name: f.stat().st_size for f in folder.rglob("*") if f.is_file()}
    planned = vacuum("--dry-run", "--at", day(32).isoformat())
    [port] = planned["ports"]
    assert port["address"] == "mesh://shop/things@v1" and port["versions_removed"] == [v.version for v in versions if v.kept][-3:]
    assert port["files_removed"] == 3 and port["bytes_removed"] > 0 and planned["dry_run"]
    assert {f.name: f.stat().st_size for f in folder.rglob("*") if f.is_file()} == before
    assert [v.version for v in product_versions("mesh://shop/things") if v.kept] == [v.version for v in versions if v.kept]
    listed = run_mesh("vacuum", "--dry-run", "--at", day(32).isoformat(), check=True).stdout
    assert (
        "mesh://shop/things@v1  7 days (contract)  5 versions" in listed
        and "3 versions" in listed
        and "nothing was removed (dry run)" in listed
    )


@pytest.fixture
def majors(lab):
    """mesh://shop/things at version 2 (built on days 0, 1 and 2 as v1, then on day 3 as v2), served at v1 until day 40."""
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(file="things.csv"), things_contract())
    for build in range(3):
        lab.land("shop", "things.csv", things_rows(build, rows=20))
        assert lab.materialize("shop", resources=at(lab, day(build))).success
    served = [
        {"property": "access", "value": "public"},
        {"property": "servePreviousMajorUntil", "value": day(40).date().isoformat()},
    ]
    (lab.root / lab.package / "shop/defs/things/contract.yaml").write_text(
        things_contract(version="2.0.0", customProperties=served)
    )
    lab.land("shop", "things.csv", things_rows(3, rows=20))
    assert lab.materialize("shop", resources=at(lab, day(3))).success
    return lab


@pytest.mark.slow
def test_a_previous_major_in_its_window_keeps_its_current_version_and_a_retired_one_goes_whole(majors):
    lab = majors
    v1 = lab.settings.ports_root / "shop" / "things" / "v1"
    with pytest.warns(DeprecatedPortWarning):
        older = [v.version for v in product_versions("mesh://shop/things@v1")]
    assert len(older) == 3

    # Day 20: v1 is served until day 40; its current version stays, the two before it went out of retention.
    planned = {p["address"]: p for p in vacuum("--dry-run", "--at", day(20).isoformat())["ports"]}
    assert planned["mesh://shop/things@v1"]["versions_kept"] == older[:1]
    assert planned["mesh://shop/things@v1"]["versions_removed"] == older[1:]
    assert planned["mesh://shop/things@v1"]["served"] == f"previous major, served until {day(40).date()}"
    assert not planned["mesh://shop/things@v1"]["whole_table"]
    assert planned["mesh://shop/things@v2"]["versions_kept"] == [v.version for v in product_versions("mesh://shop/things@v2")]

    # Day 50: retired ten days ago, more than the retention: the whole table goes, and the dry run says so.
    planned = {p["address"]: p for p in vacuum("--dry-run", "--at", day(50).isoformat())["ports"]}
    assert planned["mesh://shop/things@v1"]["whole_table"] and planned["mesh://shop/things@v1"]["versions_kept"] == []
    assert planned["mesh://shop/things@v1"]["served"] == f"retired on {day(40).date()}"
    listed = run_mesh("vacuum", "mesh://shop/things@v1", "--dry-run", "--at", day(50).isoformat(), check=True).stdout
    assert "the whole table (3 versions" in listed, listed
    assert parquet_files(v1)

    refused = run_mesh("vacuum", "--at", day(50).isoformat())
    assert refused.returncode == 1 and "error: --at only rehearses: add --dry-run" in refused.stderr and parquet_files(v1)
    # The build on day 50 publishes v2, and its cleanup removes the retired v1 whole.
    lab.land("shop", "things.csv", things_rows(50, rows=20))
    assert lab.materialize("shop", resources=at(lab, day(50))).success
    assert not parquet_files(v1)
    assert (v1 / "_delta_log").is_dir()  # the log stays: it says what happened
    assert [(v.published_at, v.kept) for v in product_versions("mesh://shop/things@v2")] == [(day(50), True), (day(3), True)]
    with pytest.raises(
        PortError,
        match=rf"version {older[0]} of mesh://shop/things@v1 was removed with the whole table: retired on {day(40).date()}",
    ):
        PortStore.of(lab.settings).port(THINGS_V1).table(older[0])


@pytest.mark.slow
def test_a_major_another_product_names_is_kept_after_its_retirement(majors):
    lab = majors
    lab.add_product("shop", "names", NAMES, contract_yaml("shop", "names", [column("name")]))
    planned = {p["address"]: p for p in vacuum("--dry-run", "--at", day(50).isoformat())["ports"]}
    pinned = planned["mesh://shop/things@v1"]
    assert not pinned["whole_table"] and len(pinned["versions_kept"]) == 1
    assert pinned["served"] == f"retired on {day(40).date()}, kept: mesh://shop/names still names it"


@pytest.mark.slow
def test_without_a_retention_every_version_stays_and_the_mesh_default_applies_to_contracts_without_one(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(file="things.csv"), things_contract(sla=DAILY))
    for build in range(3):
        lab.land("shop", "things.csv", things_rows(build, rows=20))
        assert lab.materialize("shop", resources=at(lab, day(build * 10))).success
    assert [v.kept for v in product_versions("mesh://shop/things")] == [True, True, True]
    [port] = vacuum("--dry-run", "--at", day(100).isoformat())["ports"]
    assert port["retention"] is None and port["versions_removed"] == [] and port["served"] == "current major"

    # A mesh default of 7 days, given to builds through the port store resource: the next build's cleanup applies it.
    lab.land("shop", "things.csv", things_rows(3, rows=20))
    assert lab.materialize("shop", resources=at(lab, day(30), default_retention_seconds=7 * 86400)).success
    kept = [v.published_at for v in product_versions("mesh://shop/things") if v.kept]
    assert kept == [day(30), day(20)]


def test_the_mesh_default_retention_reaches_builds_through_the_port_store_resource(tmp_path):
    settings = MeshSettings(root=tmp_path, home=tmp_path / "home", default_retention=dt.timedelta(days=7))
    ports = platform_resources(settings, "shop")["mesh_ports"]
    assert ports.default_retention_seconds == 7 * 86400 and ports.now is None
    assert (
        platform_resources(MeshSettings(root=tmp_path, home=tmp_path / "home"), "shop")["mesh_ports"].default_retention_seconds
        is None
    )


def test_publish_times_come_from_the_clock_and_maintenance_commits_are_no_versions(lab):
    """Without Dagster: a port published at days the clock gives, then cleaned by retention."""
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(file="things.csv"), things_contract())
    catalog = Catalog.load(lab.root)
    product = catalog.product("mesh://shop/things")
    store = PortStore.of(lab.settings)
    port = store.port(product.port_address)
    for build in range(10):
        rows = pa.table({"id": [build], "name": [f"thing {build}"], "email": [f"t{build}"]})
        port.publish(rows, product.contract, run_id=None, started_at=day(build), published_at=day(build))
    dry = Retention(catalog, store, None, Clock(day(9))).clean([product], dry_run=True)
    [planned] = dry.ports
    assert planned.kept == (9, 8, 7, 6, 5, 4, 3, 2) and planned.removed == (1, 0) and planned.files == 2
    assert [v.kept for v in port.versions()] == [True] * 10  # a dry run removes nothing

    done = Retention(catalog, store, None, Clock(day(9))).clean([product])
    assert done.ports[0].removed == (1, 0)
    assert port.current_version() == 9 and port.latest().version == 9  # VACUUM's commits are no versions
    assert port.table().version() > 9
    assert [v.version for v in port.versions()] == list(range(9, -1, -1))
    assert [v.kept for v in port.versions()] == [True] * 8 + [False] * 2
    assert owner_read("mesh://shop/things")["id"].tolist() == [9]
    with pytest.raises(
        PortError, match=rf"has no version {port.table().version()} \(published versions: 9, 8, 7, 6, 5, 4, 3, 2\)"
    ):
        owner_read("mesh://shop/things", version=port.table().version())
    # Nothing more to remove: no new commit.
    before = port.table().version()
    assert Retention(catalog, store, None, Clock(day(9))).clean([product]).ports[0].removed == ()
    assert port.table().version() == before


@pytest.mark.slow
def test_a_failing_cleanup_is_a_warning_and_never_fails_the_build(lab):
    import dagster as dg

    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(file="things.csv"), things_contract())
    lab.add_product(
        "shop",
        "plain",
        SOURCE.format(file="plain.csv"),
        contract_yaml("shop", "plain", [column("id", "integer")], slaProperties=RETAINED),
    )
    lab.land("shop", "things.csv", things_rows(0, rows=20))
    for build in range(2):
        lab.land("shop", "plain.csv", f"id\n{build}\n")
        assert lab.materialize("shop", resources=at(lab, day(build))).success
    # The domain's vault loses a file: the cleanup after the next publish (which removes a version, then prunes the vault) fails.
    vault = PortStore.of(lab.settings).vault.location("shop").path
    next(vault.rglob("*.parquet")).unlink()
    lab.land("shop", "plain.csv", "id\n9\n")
    result = lab.materialize("shop", "plain", resources=at(lab, day(9)))
    assert result.success
    assert [v.published_at for v in product_versions("mesh://shop/plain")][:1] == [day(9)]
    assert owner_read("mesh://shop/plain")["id"].tolist() == [9]
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == 30]  # logging.WARNING
    assert any(m.startswith("retention: the cleanup after publishing mesh://shop/plain failed") for m in warnings), warnings
    assert "mesh/bytes_kept" not in result.asset_materializations_for_node("plain")[0].metadata


@pytest.mark.slow
def test_retention_removes_old_versions_of_a_port_on_an_object_store(bucket_mesh, s3):  # noqa: F811 (the fixture)
    lab = bucket_mesh
    (lab.root / lab.package / "shop/defs/items/contract.yaml").write_text(
        contract_yaml("shop", "items", ITEMS, slaProperties=RETAINED)
    )
    files = []
    for build in range(3):
        lab.land("shop", "items.csv", f"item_id,price\n{build},2.5\n")
        assert lab.materialize("shop", "items", resources=at(lab, day(build * 10))).success
        port = PortStore.of(MeshSettings.from_env()).port(Address("shop", "items", 1))
        files.append({uri.rsplit("/", 1)[-1] for uri in port.table().file_uris()})
    keys = {key.rsplit("/", 1)[-1] for key in s3.keys(lab.bucket) if key.startswith("mesh/ports/shop/items/v1/")}
    assert (
        files[0].isdisjoint(keys) and files[1] <= keys and files[2] <= keys
    )  # day 0's version went, day 10's stays (current on day 13)
    assert [v.kept for v in port.versions()] == [True, True, False]
    [planned] = vacuum("mesh://shop/items", "--dry-run", "--at", day(40).isoformat())["ports"]
    assert planned["versions_removed"] == [port.versions()[1].version] and planned["files_removed"] == 1
    assert files[1] <= {key.rsplit("/", 1)[-1] for key in s3.keys(lab.bucket)}


def test_mesh_materialize_keeps_the_last_log_files_of_each_domain(tmp_path):
    from mesh_platform.runtime.batch_runs import KEPT_LOGS, log_file_for

    settings = MeshSettings(root=tmp_path, home=tmp_path / "home")
    settings.logs_dir.mkdir(parents=True)
    for index in range(KEPT_LOGS + 5):
        (settings.logs_dir / f"materialize-20261101-0000{index:02d}-000000-shop.log").write_text("a run")
    (settings.logs_dir / "materialize-20261101-000000-000000-crm.log").write_text("another domain's run")
    new = log_file_for(settings, "shop")
    new.write_text("this run")
    shop = sorted(settings.logs_dir.glob("materialize-*-shop.log"))
    assert len(shop) == KEPT_LOGS and shop[-1] == new and shop[0].name == "materialize-20261101-000006-000000-shop.log"
    assert (settings.logs_dir / "materialize-20261101-000000-000000-crm.log").exists()
