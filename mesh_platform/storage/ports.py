"""Output ports: what consumers read, one Delta Lake table per product and major version.

A port store is a folder of ports (`MESH_HOME/ports` by default) or a prefix of an object store
(`s3://bucket/prefix/ports`, `storage.location`); a port lives at `<store>/<domain>/<product>/v<major>`. Personal columns are published as keyed tokens;
the clear values behind them live in the store's vault (`storage.vault`), which only
the platform reads, for the owner and the readers a contract grants. Each publish is
one Delta commit (an atomic overwrite), so a port always shows one whole
version, and every past version stays readable by number. A partitioned product's
build replaces only its partitions' rows, in one commit as well. Each commit carries
the contract it was published under, the run that built it and when that build
started: versions follow the order builds started (a build overtaken by a later
one is not published).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh_platform.core.address import Address
from mesh_platform.core.errors import PortError, SupersededBuildError
from mesh_platform.core.owner_only import private_folder
from mesh_platform.storage.delta import (
    FileSplit,
    SchemaChangeError,
    added_bytes,
    arrow_dataset,
    delta_table,
    is_delta_table,
    merge_rows,
    overwrite_table,
    replace_rows,
)
from mesh_platform.storage.location import Location
from mesh_platform.storage.vault import Vault

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as pads
    from deltalake import DeltaTable

    from mesh_platform.contract.model import Contract
    from mesh_platform.contract.partitioning import Window
    from mesh_platform.core.settings import MeshSettings

METADATA_PREFIX = "mesh."
DELETED = "mesh_deleted"  # the column of an incremental build's changes that marks a deleted key


class PortStore:
    """Where the ports live: one Delta table per product and major version under `root`, and the
    vault of the clear values behind their personal columns' tokens."""

    def __init__(self, root: Location, vault_root: Location):
        self.root = root
        self.vault = Vault(vault_root)

    @classmethod
    def of(cls, settings: MeshSettings) -> PortStore:
        """The port store of the mesh `settings` describe."""
        store = settings.deployment.port_store
        options = store.resolved_options() if store is not None else {}
        return cls(Location.of(settings.ports_uri, options), Location.of(settings.vault_uri, options))

    def port(self, address: Address) -> Port:
        """The port serving `address` (which names its major version: `mesh://sales/orders@v1`)."""
        return Port(self.root, address)


@dataclass(frozen=True)
class PortVersion:
    """One published version of a port, from the Delta commit log."""

    version: int
    published_at: dt.datetime
    rows: int | None
    contract_version: str | None
    run_id: str | None
    tokens: tuple[str, ...] = ()  # the columns this version holds as keyed tokens (their clear values are in the vault)
    started_at: dt.datetime | None = None  # when the build that published it began reading its inputs
    partitions: str | None = None  # the partitions the commit replaced (`2026-11-01`, `2026-11-01…2026-11-30`); None: the whole table
    window: tuple[dt.datetime, dt.datetime] | None = None  # their time span [start, end), UTC
    incremental: bool = False  # the commit applied changes by key (a cdc product's MERGE), not rows replaced


@dataclass(frozen=True)
class Snapshot:
    """One version of a port, to read: what it is, and a lazy Arrow dataset of its rows."""

    version: PortVersion
    dataset: pads.Dataset


class Port:
    """The Delta table that serves one major version of a product."""

    def __init__(self, store: Location, address: Address):
        if address.major is None:
            raise ValueError(f"a port needs a major version: {address}")
        self.address = address
        self.store = store
        self.location = store.child(address.domain, address.product, f"v{address.major}")

    @property
    def uri(self) -> str:
        return self.location.uri

    def exists(self) -> bool:
        return is_delta_table(self.location)

    def publish(
        self,
        data: pa.Table | pa.RecordBatchReader,
        contract: Contract,
        run_id: str | None,
        tokens: tuple[str, ...] = (),
        started_at: dt.datetime | None = None,
        window: Window | None = None,
    ) -> int:
        """Make `data` the port's current version in one atomic commit; return the new version.
        `tokens` names the columns `data` holds as keyed tokens. `started_at` is when the build
        began reading its inputs: versions follow the order builds started, so a build that
        started before the one behind the current version is refused (the later-started one wins).

        With a `window` (a partitioned product's build of some partitions), `data` replaces the rows
        of those partitions only, the others untouched, in one commit; a build is then refused only
        when a later-started one already published a window overlapping its own."""
        import pyarrow as pa

        started_at = started_at or dt.datetime.now(dt.UTC)
        self._refuse_if_superseded(started_at, window)
        metadata = self._commit_metadata(contract, run_id, tokens, started_at)
        if window is not None:
            metadata |= {
                f"{METADATA_PREFIX}partitions": str(window),
                f"{METADATA_PREFIX}window_start": window.start.isoformat(),
                f"{METADATA_PREFIX}window_end": window.end.isoformat(),
            }
        self._make_folder()
        reader = data.to_reader() if isinstance(data, pa.Table) else data
        rows_key = f"{METADATA_PREFIX}rows"
        partitioning = contract.partitioning
        split = FileSplit(partitioning.column, partitioning.numpy_unit) if partitioning is not None else None
        if window is None or partitioning is None or not self.exists() or partitioning.covers_all(window):
            return overwrite_table(self.location, reader, metadata, rows_key=rows_key, split=split)  # the whole table, streamed
        try:
            return replace_rows(self.location, reader, partitioning.delta_predicate(window), metadata, rows_key)
        except SchemaChangeError as change:
            raise PortError(
                f"{self.address}: partitions {window} not published: the port's columns differ from this build's ({change}); "
                f"a part of a table cannot change its columns: rebuild every partition at once: mesh materialize {self.address.unversioned()}"
            ) from None

    def apply_changes(
        self, changes: pa.Table, contract: Contract, key: list[str], run_id: str | None, tokens: tuple[str, ...] = (), started_at: dt.datetime | None = None
    ) -> int:
        """Apply the changed rows of an incremental build (a cdc product) in one commit, by `key`: a row whose
        `DELETED` column is true deletes its key, any other is upserted; return the new version (the current
        one when nothing changed). Raises `SchemaChangeError` when the port's columns are not the changes'
        (publish the whole table then)."""
        started_at = started_at or dt.datetime.now(dt.UTC)
        self._refuse_if_superseded(started_at, None)
        if changes.num_rows == 0:
            return self.table().version()  # nothing changed: no new version
        metadata = self._commit_metadata(contract, run_id, tokens, started_at)
        upserts = int(changes.num_rows - sum(changes[DELETED].to_pylist()))
        metadata[f"{METADATA_PREFIX}changes"] = json.dumps({"upserted": upserts, "deleted": changes.num_rows - upserts})
        return merge_rows(self.location, changes, key, DELETED, metadata)

    @property
    def applied_location(self) -> Location:
        """Where an incremental product keeps the record of the change events its published rows include:
        a Delta table next to the port (`v1.applied`): a hash of each key, its last applied sequence, deleted or not."""
        return Location(f"{self.uri}.applied", self.location.options)

    def applied_events(self) -> pads.Dataset | None:
        """The record of the change events the port's current rows include; None when none is kept, or when
        the port was rewritten whole since it was made (the record no longer describes its rows)."""
        if not is_delta_table(self.applied_location) or not self.exists():
            return None
        record = delta_table(self.applied_location)
        recorded = int(record.history(limit=1)[0].get(f"{METADATA_PREFIX}port_version", -1))
        # Versions published after the record's: changes applied by a build whose record failed to commit are
        # fine (applying them again changes nothing); a whole rewrite is not.
        if any(v.version > recorded and not v.incremental for v in self.versions()):
            return None
        return arrow_dataset(record, self.applied_location)

    def record_applied(self, applied: pa.Table, replace: bool, version: int) -> None:
        """Record change events as applied to port `version`: `replace` the record (a full replay), or add to it."""
        from deltalake import CommitProperties, write_deltalake

        commit = CommitProperties(custom_metadata={f"{METADATA_PREFIX}port_version": str(version)})
        record = self.applied_location
        if replace or not is_delta_table(record):
            write_deltalake(record.uri, applied, mode="overwrite", schema_mode="overwrite", storage_options=record.storage_options(), commit_properties=commit)
            return
        (
            delta_table(record).merge(applied, "target.mesh_key = source.mesh_key", source_alias="source", target_alias="target", commit_properties=commit)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )

    def _make_folder(self) -> None:
        if not self.store.local:
            return  # an object store has no folders; its bucket's policy says who reads it
        if not self.store.path.exists():  # a new store: its owner only, like the vault and the DuckDB files
            private_folder(self.store.path)
        self.location.path.parent.mkdir(parents=True, exist_ok=True)

    def _commit_metadata(self, contract: Contract, run_id: str | None, tokens: tuple[str, ...], started_at: dt.datetime) -> dict[str, str]:
        return {
            f"{METADATA_PREFIX}address": str(self.address),
            f"{METADATA_PREFIX}contract_version": contract.version,
            f"{METADATA_PREFIX}contract": json.dumps(contract.document, sort_keys=True),
            f"{METADATA_PREFIX}run_id": run_id or "",
            f"{METADATA_PREFIX}tokens": json.dumps(list(tokens)),
            f"{METADATA_PREFIX}started_at": started_at.isoformat(),
        }

    def _refuse_if_superseded(self, started_at: dt.datetime, window: Window | None) -> None:
        """Raise `SupersededBuildError` when a build that started later already published what this one would replace."""
        if window is None:
            current = self.latest()
            later = [current] if current is not None and current.started_at is not None and current.started_at > started_at else []
        else:
            later = [v for v in self.versions() if v.started_at is not None and v.started_at > started_at and _overlaps(v, window)]
        if later:
            newer = later[0]
            replaced = "its partitions" if window is not None else "the port"
            raise SupersededBuildError(
                f"{self.address}: not published: a build that started later ({newer.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"run {newer.run_id or 'unknown'}) already published version {newer.version}, and this build's "
                f"result is older; the later-started build wins, so {replaced} stay as they are"
            )

    def table(self, version: int | None = None) -> DeltaTable:
        if not self.exists():
            raise PortError(
                f"{self.address} has not been published yet; materialize it first: mesh materialize {self.address.unversioned()}"
            )
        try:
            return delta_table(self.location, version)
        except Exception as error:  # deltalake raises its own error kinds for a missing version
            known = ", ".join(str(v.version) for v in self.versions())
            raise PortError(f"{self.address} has no version {version} (published versions: {known}): {error}") from None

    def current_version(self) -> int | None:
        return self.table().version() if self.exists() else None

    def bytes_added(self, version: int) -> int:
        """The size of the Parquet files the commit of `version` added to the port: what publishing it wrote."""
        return added_bytes(self.location, version)

    def latest(self) -> PortVersion | None:
        """The current version (None before the first publish)."""
        if not self.exists():
            return None
        return _port_version(delta_table(self.location).history(limit=1)[0])

    def versions(self) -> list[PortVersion]:
        """Every published version, newest first."""
        if not self.exists():
            return []
        return [_port_version(commit) for commit in delta_table(self.location).history()]

    def dataset(self, version: int | None = None) -> pads.Dataset:
        """A lazy Arrow dataset of one version, for engines such as DuckDB to scan (tokens as published)."""
        return self.snapshot(version).dataset

    def snapshot(self, version: int | None = None) -> Snapshot:
        """One version (the current one by default): what it is, and a lazy Arrow dataset of it."""
        table = self.table(version)
        number = table.version()
        # The commits as the latest table numbers them: deltalake numbers the history of a table read back
        # in time from that version down, so its newest commit would pass for the version read.
        commits = table.history(limit=1) if version is None else self.table().history()
        published = next((_port_version(c) for c in commits if c.get("version") == number), None)
        return Snapshot(published or PortVersion(number, dt.datetime.now(dt.UTC), None, None, None), arrow_dataset(table, self.location))

    def to_pandas(self, version: int | None = None) -> pd.DataFrame:
        return self.dataset(version).to_table().to_pandas()

    def current_contract(self) -> tuple[int, dict[str, Any]] | None:
        """The current version and the contract document it was published under, from the latest commit alone
        (every commit of a port carries its contract); None before the first publish."""
        if not self.exists():
            return None
        latest = delta_table(self.location).history(limit=1)[0]
        document = latest.get(f"{METADATA_PREFIX}contract")
        return (int(latest["version"]), json.loads(document)) if document else None

    def published_contract(self, version: int | None = None) -> dict[str, Any] | None:
        """The contract document a version was published under."""
        wanted = self.table(version).version()
        for commit in self.table().history():
            if commit.get("version") == wanted and f"{METADATA_PREFIX}contract" in commit:
                return json.loads(commit[f"{METADATA_PREFIX}contract"])
        return None


def _overlaps(version: PortVersion, window: Window) -> bool:
    """Whether a published version replaced rows of `window` (a whole-table version replaced all)."""
    if version.window is None:
        return True
    return window.overlaps(*version.window)


def _port_version(commit: dict[str, Any]) -> PortVersion:
    metrics = commit.get("operationMetrics") or {}
    return PortVersion(
        version=int(commit["version"]),
        published_at=dt.datetime.fromtimestamp(commit["timestamp"] / 1000, tz=dt.UTC),
        rows=int(rows) if (rows := commit.get(f"{METADATA_PREFIX}rows", metrics.get("num_added_rows"))) is not None else None,
        contract_version=commit.get(f"{METADATA_PREFIX}contract_version"),
        run_id=commit.get(f"{METADATA_PREFIX}run_id") or None,
        tokens=tuple(json.loads(commit.get(f"{METADATA_PREFIX}tokens") or "[]")),
        started_at=dt.datetime.fromisoformat(started) if (started := commit.get(f"{METADATA_PREFIX}started_at")) else None,
        partitions=commit.get(f"{METADATA_PREFIX}partitions"),
        incremental=f"{METADATA_PREFIX}changes" in commit,
        window=(
            (dt.datetime.fromisoformat(commit[f"{METADATA_PREFIX}window_start"]), dt.datetime.fromisoformat(commit[f"{METADATA_PREFIX}window_end"]))
            if f"{METADATA_PREFIX}window_start" in commit else None
        ),
    )
