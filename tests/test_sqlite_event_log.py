"""The embedded instance's event log (runtime.sqlite_event_log): Dagster's SQLite storage whose new run databases
are copies of a template Dagster made, and whose engines are kept. Runs, their events and what the UI reads of
them are Dagster's as before; these tests check that the databases are the ones Dagster itself would make."""

import sqlite3
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log import SqliteEventLogStorage  # Dagster's own, to compare with (no public import)

from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.sqlite_event_log import TEMPLATE_FOLDER, MeshSqliteEventLogStorage


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


def test_the_instance_file_names_the_folder_it_is_in_and_is_rewritten_when_the_state_moves(tmp_path: Path):
    first = MeshSettings(root=tmp_path, home=tmp_path / "one").ensure_dagster_home()
    assert f"base_dir: {first / 'history' / 'runs'}\n" in (first / "dagster.yaml").read_text()
    moved = tmp_path / "two"
    first.parent.rename(moved)
    again = MeshSettings(root=tmp_path, home=moved).ensure_dagster_home()
    assert f"base_dir: {again / 'history' / 'runs'}\n" in (again / "dagster.yaml").read_text()
