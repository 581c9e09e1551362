"""The embedded instance's storage: its event log (runtime.sqlite_event_log), Dagster's SQLite storage whose new run
databases are copies of a template Dagster made, and whose engines are kept; a new instance's databases copied from
the ones Dagster made once (runtime.storage_template). Runs, their events and what the UI reads of
them are Dagster's as before; these tests check that the databases are the ones Dagster itself would make."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log import SqliteEventLogStorage  # Dagster's own, to compare with (no public import)

from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.instance import open_created_instance, open_instance, prepare_instance
from mesh_platform.runtime.sqlite_event_log import TEMPLATE_FOLDER, MeshSqliteEventLogStorage
from mesh_platform.runtime.storage_template import DATABASES, copy_template_storage


@dg.asset
def numbers() -> int:
    return 3


@dg.asset_check(asset=numbers)
def numbers_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _schema(database: Path) -> tuple[list[tuple[str, str]], list[tuple[str]]]:
    """A SQLite database's tables and indexes (by name and definition), its alembic revision."""
    with sqlite3.connect(database) as connection:
        objects = connection.execute("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        return objects.fetchall(), connection.execute("SELECT version_num FROM alembic_version").fetchall()


def _journal_mode(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def test_the_mesh_instance_keeps_runs_in_dagster_s_database_shape_made_from_a_template(tmp_path: Path):
    home = MeshSettings(root=tmp_path, home=tmp_path / ".mesh").ensure_dagster_home()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, MeshSqliteEventLogStorage)
        first = dg.materialize([numbers, numbers_positive], instance=instance)
        second = dg.materialize([numbers, numbers_positive], instance=instance)
        assert first.success and second.success
        # Every event of each run is stored and read back as Dagster stores it; the index has the materializations.
        for result in (first, second):
            stored = [r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(result.run_id).records]
            assert stored.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 1
            assert stored[-1] == dg.DagsterEventType.RUN_SUCCESS
        materialized = instance.fetch_materializations(dg.AssetKey("numbers"), limit=5).records
        assert {r.run_id for r in materialized} == {first.run_id, second.run_id}
        assert instance.get_latest_asset_check_evaluation_record(numbers_positive.check_key).run_id == second.run_id
        # The template is no run: Dagster lists the two runs only.
        assert sorted(instance.event_log_storage.get_all_run_ids()) == sorted([first.run_id, second.run_id])

    runs = home / "history" / "runs"
    assert [p.suffix for p in (runs / TEMPLATE_FOLDER).iterdir()] == [".sqlite"]  # no partial copy left behind
    reference = SqliteEventLogStorage(str(tmp_path / "dagster_own"))
    with reference.run_connection("reference"):
        pass  # Dagster creates and stamps a run's database as it always does
    for run_id in (first.run_id, second.run_id):
        assert _schema(runs / f"{run_id}.db") == _schema(tmp_path / "dagster_own" / "reference.db")
        assert _journal_mode(runs / f"{run_id}.db") == "wal"


def test_a_run_database_that_exists_is_never_replaced_by_the_template(tmp_path: Path):
    runs = tmp_path / "runs"
    with dg.DagsterInstance.ephemeral() as instance:  # a run's events, written by Dagster's own storage
        result = dg.materialize([numbers], instance=instance)
        events = [r.event_log_entry for r in instance.get_records_for_run(result.run_id).records]
    dagster_own = SqliteEventLogStorage(str(runs))
    for event in events:
        dagster_own.store_event(event)

    storage = MeshSqliteEventLogStorage(str(runs))
    assert len(storage.get_records_for_run(result.run_id).records) == len(events)
    storage.store_event(events[-1])
    assert len(storage.get_records_for_run(result.run_id).records) == len(events) + 1
    storage.dispose()


def test_an_instance_folder_copied_keeps_its_events_in_itself(tmp_path: Path):
    """dagster.yaml names no folder: a copy of the instance folder (a state folder moved, a test's copy of a
    prepared instance) stores its runs in itself, never in the folder it was copied from."""
    first = MeshSettings(root=tmp_path, home=tmp_path / "one").ensure_dagster_home()
    assert str(tmp_path) not in (first / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(first)) as instance:
        dg.materialize([numbers], instance=instance)
    copy = tmp_path / "two" / "dagster"
    shutil.copytree(first, copy)
    with dg.DagsterInstance.from_config(str(copy)) as instance:
        run = dg.materialize([numbers], instance=instance).run_id
        assert len(instance.get_runs()) == 2
    assert (copy / "history" / "runs" / f"{run}.db").exists()
    assert not (first / "history" / "runs" / f"{run}.db").exists()
    with dg.DagsterInstance.from_config(str(first)) as instance:
        assert len(instance.get_runs()) == 1 and len(instance.fetch_materializations(numbers.key, limit=5).records) == 1


DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-03-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_numbers(context: dg.AssetExecutionContext) -> None:
    if context.run.tags.get("fail"):
        raise RuntimeError("this range fails")


def _stored(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str | None]]:
    """What a run's events are, in order: their types, and the partition of each asset event."""
    records = instance.get_records_for_run(run_id).records
    return [
        (r.event_log_entry.dagster_event_type.value, r.event_log_entry.dagster_event.partition)
        for r in records
        if r.event_log_entry.is_dagster_event
    ]


def _range_run(home: Path, fail: bool, monkeypatch, batch_size: str | None) -> tuple[list, dict]:
    if batch_size is None:
        monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    else:
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
    tags = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-02-28"}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            [daily_numbers], instance=instance, tags={**tags, **({"fail": "yes"} if fail else {})}, raise_on_error=False
        )
        assert result.success is not fail
        key = daily_numbers.key
        planned = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, key)
        )
        index = {  # what the index (the cross-run database) holds: the partitions planned and materialized
            "planned": sorted(r.partition_key for r in planned if r.run_id == result.run_id),
            "materialized": sorted(instance.get_materialized_partitions(key)),
        }
        entry = instance.get_asset_records([key])[0].asset_entry  # the asset's row: its last materialization and run
        index["last run is this one"] = entry.last_run_id == result.run_id
        index["last materialized"] = entry.last_materialization_record.event_log_entry.dagster_event.partition
        return _stored(instance, result.run_id), index


def test_the_events_of_a_partition_range_stored_in_batches_are_those_dagster_stores_one_by_one(tmp_path: Path, monkeypatch):
    """A range run of 59 daily partitions, succeeding then failing: the mesh's instance with Dagster's batches
    stores the same events, in the same order, as Dagster's own storage given them one by one."""
    mesh = MeshSettings(root=tmp_path, home=tmp_path / "mesh").ensure_dagster_home()
    dagster_own = tmp_path / "dagster_own"
    dagster_own.mkdir()
    (dagster_own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for fail in (False, True):
        batched, batched_state = _range_run(mesh, fail, monkeypatch, batch_size="1000")
        one_by_one, dagster_state = _range_run(dagster_own, fail, monkeypatch, batch_size=None)
        assert batched == one_by_one
        assert batched_state == dagster_state
        kinds = [kind for kind, _ in batched]
        assert kinds.count("ASSET_MATERIALIZATION_PLANNED") == 59 and len(batched_state["planned"]) == 59
        assert kinds.count("ASSET_MATERIALIZATION") == (0 if fail else 59)
        assert kinds[-1] == ("PIPELINE_FAILURE" if fail else "PIPELINE_SUCCESS")  # the values of RUN_FAILURE, RUN_SUCCESS
    assert len(batched_state["materialized"]) == 59  # the failed run took none of them back
    assert batched_state["last materialized"] == "2026-02-28" and batched_state["last run is this one"]


def test_a_process_outliving_its_state_folder_opens_the_instance_only_once_its_storage_is_made(tmp_path: Path):
    """A domain's warm worker reopens the instance after `mesh reset` (or a deleted state folder); it never
    creates the storage itself, which the command creates under a lock (two creating it at once break it)."""
    settings = MeshSettings(root=tmp_path, home=tmp_path / "mesh")
    home = settings.dagster_home
    assert open_created_instance(home) is None and not home.exists()  # the folder gone: nothing made
    settings.ensure_dagster_home()
    assert open_created_instance(home) is None  # the folder made again, its storage not yet
    assert not (home / "history").exists()
    with open_instance(settings):  # what a command does first: the storage created, under the lock
        pass
    reopened = open_created_instance(home)
    assert reopened is not None
    with reopened:
        assert isinstance(reopened.event_log_storage, MeshSqliteEventLogStorage)
        assert reopened.get_runs() == []


def test_a_new_embedded_instance_s_storage_is_a_copy_of_the_one_dagster_made(tmp_path: Path, monkeypatch):
    """Dagster creates an embedded instance's storage once per version and settings, in the user's cache; each new
    state folder gets a copy, the same databases Dagster makes, holding nothing of another instance."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = (MeshSettings(root=tmp_path, home=tmp_path / name) for name in ("one", "two"))
    prepare_instance(first)
    made = list((tmp_path / "cache" / "mesh-platform" / "dagster-storage").iterdir())
    assert [folder.name.split("-")[0] for folder in made] == [dg.__version__]  # one template, of this version

    # With the template there, a command creating a state folder's storage imports no Dagster.
    creating = subprocess.run(
        [sys.executable, "-c", PREPARE_AND_TELL, str(second.root), str(second.home)],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert creating.stdout.split() == ["copied", "dagster-not-imported"], creating.stderr
    assert list((tmp_path / "cache" / "mesh-platform" / "dagster-storage").iterdir()) == made

    reference = tmp_path / "dagster_own"  # the same settings, its storage made by Dagster alone
    reference.mkdir()
    shutil.copyfile(first.dagster_home / "dagster.yaml", reference / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(reference)):
        pass
    for settings in (first, second):
        for database in DATABASES:
            assert _schema(settings.dagster_home / database) == _schema(reference / database), database
            assert _journal_mode(settings.dagster_home / database) == "wal"

    # Each copy is an instance of its own: its own runs, its own storage id.
    ids = []
    for settings in (first, second):
        with open_instance(settings) as instance:
            result = dg.materialize([numbers, numbers_positive], instance=instance)
            assert result.success
            assert [run.run_id for run in instance.get_runs()] == [result.run_id]
            ids.append(instance.run_storage.get_run_storage_id())
    assert ids[0] != ids[1]


PREPARE_AND_TELL = """
import sys
from pathlib import Path
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.instance import prepare_instance
settings = MeshSettings(root=Path(sys.argv[1]), home=Path(sys.argv[2]))
prepare_instance(settings)
print("copied" if (settings.dagster_home / "history" / "runs.db").exists() else "missing")
print("dagster-imported" if "dagster" in sys.modules else "dagster-not-imported")
"""


def test_storage_made_elsewhere_or_a_cache_that_cannot_be_written_leaves_the_creation_to_dagster(tmp_path: Path, monkeypatch):
    home = tmp_path / "instance"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere"
    run_storage = (
        f"run_storage:\n  module: dagster._core.storage.runs\n  class: SqliteRunStorage\n  config:\n    base_dir: {elsewhere}\n"
    )
    (home / "dagster.yaml").write_text(run_storage)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert not copy_template_storage(home)  # another run storage: Dagster's to create
    assert not (tmp_path / "cache").exists()

    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    settings = MeshSettings(root=tmp_path, home=tmp_path / "mesh")
    prepare_instance(settings)  # no template can be made: Dagster creates the storage as it always did
    for database in DATABASES:
        assert (settings.dagster_home / database).exists()
    with open_instance(settings) as instance:
        assert dg.materialize([numbers], instance=instance).success

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert not copy_template_storage(settings.dagster_home)  # a storage there already is never replaced
    assert not (tmp_path / "cache").exists()
