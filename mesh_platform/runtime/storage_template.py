"""A new SQLite instance's storage as a copy of one Dagster made: the embedded instance created in milliseconds.

Dagster creates an embedded instance's storage when it first opens it: its run, schedule and event-index
databases, each by SQLAlchemy's `create_all`, its migrations' secondary indexes and an alembic stamp — ~2.3 s on
two cores, paid by every new state folder (a team's first command, `mesh reset`, each test's mesh, the demo).
Here Dagster does that once per Dagster version and storage settings, in a folder of the user's cache
(`platformdirs`' user cache folder, `mesh-platform/dagster-storage/<key>`), and a new instance folder receives a
copy of its databases before Dagster opens it: Dagster then finds its storage made, at its schema head, and opens
it as it opens any (~0.1 s). A command that only copies imports no Dagster (its version is read from its
package's metadata).

Only where Dagster's storage is the default SQLite layout (no `storage`, `run_storage` or `schedule_storage` in
`dagster.yaml`; the event log its own or the mesh's), and only into a folder holding none of its databases yet:
anything else, and any failure to make or read the template, leaves the creation to Dagster as before. The copies
hold no identity of an instance: Dagster writes its run storage's id on first use, and the template is never
opened as an instance once made.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import sqlite3
import tempfile
from pathlib import Path

import platformdirs
import yaml

from mesh_platform.core.whole_files import copy_into_place

# The databases of Dagster's SQLite storage, relative to the instance folder: runs, event index, schedules. (The
# template holds the mesh event log's template of a run database too, `runtime.sqlite_event_log`, made with them.)
DATABASES = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")
SETTINGS_MADE_ELSEWHERE = ("storage", "run_storage", "schedule_storage")  # other storage than the default SQLite


def copy_template_storage(home: Path) -> bool:
    """Whether the storage of the new instance at `home` (its `dagster.yaml` written, no database yet) is now a copy
    of the template made for its settings (made first when there is none). False: Dagster creates it itself."""
    if any((home / name).exists() for name in DATABASES):
        return False
    try:
        settings = yaml.safe_load((home / "dagster.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(settings, dict) or any(key in settings for key in SETTINGS_MADE_ELSEWHERE):
        return False
    copied: list[Path] = []
    try:
        template = _template(settings.get("event_log_storage"))
        made = [path.relative_to(template) for path in template.rglob("*") if path.is_file()]
        # The run database last: a command that finds it takes the storage for made (`instance.storage_created`).
        for name in sorted(made, key=lambda name: (name == Path(DATABASES[0]), str(name))):
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            if copy_into_place(template / name, home / name):
                copied.append(home / name)
    except Exception:  # an unwritable cache, a full disk, settings Dagster refuses: Dagster makes its own, or says why
        for target in copied:  # no part of a copy is left for Dagster to take for its own
            target.unlink(missing_ok=True)
        return False
    return True


def _template(event_log: object) -> Path:
    """The folder of databases Dagster made for an instance whose event log is `event_log` (its dagster.yaml
    setting), made now when missing: in a folder of its own, then renamed into place whole."""
    version = importlib.metadata.version("dagster")  # without importing Dagster: a copy needs none of it
    key = hashlib.sha256(json.dumps({"dagster": version, "event_log_storage": event_log}, sort_keys=True).encode())
    cache = platformdirs.user_cache_path("mesh-platform") / "dagster-storage"
    template = cache / f"{version}-{key.hexdigest()[:16]}"
    if (template / DATABASES[0]).exists():
        return template
    import dagster as dg

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".making-") as making:
        instance_folder = Path(making) / "instance"
        instance_folder.mkdir()
        settings: dict[str, object] = {"telemetry": {"enabled": False}}  # nothing of an instance's identity written
        if event_log is not None:
            settings["event_log_storage"] = event_log
        (instance_folder / "dagster.yaml").write_text(yaml.safe_dump(settings))
        from mesh_platform.runtime.sqlite_event_log import MeshSqliteEventLogStorage  # imports Dagster's storage

        instance = dg.DagsterInstance.from_config(str(instance_folder))
        try:
            if isinstance(instance.event_log_storage, MeshSqliteEventLogStorage):
                instance.event_log_storage.run_template()  # its template of a run database, made with the rest
        finally:
            instance.dispose()
        made = Path(making) / "made"
        made.mkdir()
        for database in instance_folder.rglob("*"):
            if database.is_file() and database.suffix in (".db", ".sqlite"):  # the databases only, whole (no -wal)
                copy = made / database.relative_to(instance_folder)
                copy.parent.mkdir(parents=True, exist_ok=True)
                _copy_database(database, copy)
        try:
            made.rename(template)
        except OSError:  # another process made it at the same time: the same databases
            if not (template / DATABASES[0]).exists():
                raise
    return template


def _copy_database(source: Path, target: Path) -> None:
    """A whole copy of the SQLite database `source` (what its write-ahead log holds included) at `target`."""
    with contextlib.closing(sqlite3.connect(source)) as reading, contextlib.closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)
