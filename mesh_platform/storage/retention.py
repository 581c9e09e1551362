"""Removing the files of old versions of a Delta table, with Delta Lake's own VACUUM.

The mesh decides which versions a table keeps (`product.retention`); this module turns that into
Delta's terms: a VACUUM in its default ("lite") mode, keeping every version from the oldest kept one
on (`keep_versions`), with the age check on removed files off (`retention_hours=0`), since the kept
versions are named. Lite mode deletes only files a commit removed (Delta's tombstones), never a file
the log does not name: a build writing its files before it commits is never touched. Nothing is
deleted by hand, neither a Parquet file nor a log entry.

A VACUUM that deletes files adds two commits (VACUUM START and END); they carry `MAINTENANCE`, and
the mesh's lists of versions leave them out. They make no checkpoint and clean no log: checkpoints
come with publishes only (Delta's every 100 commits), so the commit of every kept version stays in the
log. The table properties `retained_properties` sets keep tombstones and log entries long enough that
a checkpoint does not drop the tombstone of a file the VACUUM after a later publish still has to delete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from mesh_platform.storage.delta import delta_table
from mesh_platform.storage.location import Location

if TYPE_CHECKING:
    from deltalake import DeltaTable

MAINTENANCE = "mesh.maintenance"  # in the commit metadata of a commit that changes no data (VACUUM, table properties, emptying)
# Delta's own operations that change no data, also when run outside the mesh.
MAINTENANCE_OPERATIONS = frozenset({"VACUUM START", "VACUUM END", "SET TBLPROPERTIES"})
DELTA_LOG_RETENTION = dt.timedelta(days=30)  # delta.logRetentionDuration's default


def is_maintenance(commit: dict) -> bool:
    """Whether a commit (an entry of `DeltaTable.history()`) changed no data: a VACUUM, a table property, …"""
    return MAINTENANCE in commit or commit.get("operation") in MAINTENANCE_OPERATIONS


@dataclass(frozen=True)
class Removal:
    """What removing old versions of a table deletes (or, on a dry run, would delete)."""

    files: tuple[str, ...] = ()  # paths relative to the table
    bytes: int = 0


def folder_files(location: Location) -> dict[str, int]:
    """Every file under the table's folder (its data files and its log), by path relative to it, with its size."""
    import pyarrow.fs as pafs

    folder = location.file_path()
    found = location.filesystem().get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True))
    return {item.path[len(folder) :].lstrip("/"): item.size or 0 for item in found if item.type == pafs.FileType.File}


def remove_versions_before(location: Location, keep_from: int, metadata: dict[str, str], dry_run: bool) -> Removal:
    """Delete the files that only versions older than `keep_from` use (Delta's VACUUM, keeping `keep_from` and
    every later version); the commits it adds carry `metadata`. On a `dry_run`, list them and delete nothing.

    Delta's VACUUM lists a file a removed version used again after it is gone (its tombstone stays in the
    log for a while): only files still there count, and nothing to delete makes no commit."""
    table = delta_table(location)
    kept = list(range(keep_from, table.version() + 1))
    listed = table.vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False, keep_versions=kept)
    present = folder_files(location)
    names = tuple(sorted(path for path in (_relative(location, p) for p in listed) if path in present))
    removal = Removal(names, sum(present[name] for name in names))
    if dry_run or not names:
        return removal
    from deltalake import CommitProperties
    from deltalake.transaction import PostCommitHookProperties

    table.vacuum(
        retention_hours=0,
        dry_run=False,
        enforce_retention_duration=False,
        keep_versions=kept,
        commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "vacuum", **metadata}),
        post_commithook_properties=PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False),
    )
    return removal


def remove_replaced_files(location: Location, grace: dt.timedelta) -> Removal:
    """Delete the files a commit replaced more than `grace` ago (whole hours; Delta's VACUUM on its own horizon):
    for a table whose past versions no one reads, such as the vault."""
    from deltalake import CommitProperties
    from deltalake.transaction import PostCommitHookProperties

    table = delta_table(location)
    hours = int(grace.total_seconds() // 3600)
    listed = table.vacuum(retention_hours=hours, dry_run=True, enforce_retention_duration=False)
    present = folder_files(location)
    names = tuple(sorted(path for path in (_relative(location, p) for p in listed) if path in present))
    if names:
        table.vacuum(
            retention_hours=hours,
            dry_run=False,
            enforce_retention_duration=False,
            commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "vacuum"}),
            post_commithook_properties=PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False),
        )
    return Removal(names, sum(present[name] for name in names))


def empty_table(location: Location, metadata: dict[str, str]) -> int:
    """Remove every row of the table in one commit (Delta's DELETE); its files go with the next VACUUM. The new version."""
    from deltalake import CommitProperties
    from deltalake.transaction import PostCommitHookProperties

    table = delta_table(location)
    table.delete(
        commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "emptied", **metadata}),
        post_commithook_properties=PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False),
    )
    return delta_table(location).version()


def retained_properties(retention: dt.timedelta) -> dict[str, str]:
    """Delta's table properties for a table whose versions stay `retention` after they stop being current.

    A checkpoint drops a tombstone once it is older than `delta.deletedFileRetentionDuration`; a file
    whose tombstone is gone is never found by a later VACUUM. Twice the retention (a week at least
    beyond it) leaves time for the VACUUM after the next publish. Log entries stay at least as long,
    so no version still kept loses its commit (its publish time, its contract)."""
    tombstones = retention + max(retention, dt.timedelta(days=7))
    return {
        "delta.deletedFileRetentionDuration": _interval(tombstones),
        "delta.logRetentionDuration": _interval(max(tombstones, DELTA_LOG_RETENTION)),
    }


def ensure_properties(table: DeltaTable, wanted: dict[str, str]) -> bool:
    """Set the table properties `wanted` where the table has other values (one commit); whether it did."""
    from deltalake import CommitProperties
    from deltalake.transaction import PostCommitHookProperties

    current = table.metadata().configuration
    if all(current.get(key) == value for key, value in wanted.items()):
        return False
    table.alter.set_table_properties(
        wanted,
        commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "table properties"}),
        post_commithook_properties=PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False),
    )
    return True


def _interval(duration: dt.timedelta) -> str:
    return f"interval {int(duration.total_seconds())} seconds"


def _relative(location: Location, path: str) -> str:
    """A path VACUUM lists (relative to the table, or a full URI) as relative to the table."""
    prefix = location.file_path().rstrip("/") + "/"
    text = location.file_path(path) if "://" in path else path
    return text[len(prefix) :] if text.startswith(prefix) else str(PurePosixPath(text))
