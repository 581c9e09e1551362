"""Output ports: what consumers read, one Delta Lake table per product and major version.

A port store is a folder of ports (`MESH_HOME/ports` by default) or a prefix of an object store
(`s3://bucket/prefix/ports`, `storage.location`); a port lives at
`<store>/<domain>/<product>/v<major>`. Personal columns are published as keyed tokens; the clear
values behind them live in the store's vault (`storage.vault`), which only the platform reads, for
the owner and the readers a contract grants. Each publish is one Delta commit (an atomic overwrite),
so a port always shows one whole version, and every past version stays readable by number. A
partitioned product's build replaces only its partitions' rows, in one commit as well. Each commit
carries the contract it was published under, the run that built it and when that build started:
versions follow the order builds started (a build overtaken by a later one is not published).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mesh_platform.core.address import Address
from mesh_platform.core.errors import PortError, SupersededBuildError
from mesh_platform.core.owner_only import private_folder
from mesh_platform.storage import current_files
from mesh_platform.storage.current_files import CurrentFiles
from mesh_platform.storage.delta import (
    FileSplit,
    SchemaChangeError,
    added_bytes,
    arrow_dataset,
    commit_files,
    delta_table,
    duckdb_columns,
    is_delta_table,
    local_files,
    merge_rows,
    overwrite_table,
    parquet_relation,
    replace_rows,
)
from mesh_platform.storage.location import Location
from mesh_platform.storage.retention import (
    Removal,
    empty_table,
    ensure_properties,
    folder_files,
    is_maintenance,
    remove_versions_before,
    retained_properties,
)
from mesh_platform.storage.staged_files import staging_root
from mesh_platform.storage.vault import NamedTokens, Vault

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as pads
    from deltalake import DeltaTable

    from mesh_platform.contract.model import Contract
    from mesh_platform.contract.partitioning import Window
    from mesh_platform.core.settings import MeshSettings
    from mesh_platform.storage.staged_files import StagedFiles

METADATA_PREFIX = "mesh."
DELETED = "mesh_deleted"  # the column of an incremental build's changes that marks a deleted key
RETAINED = f"{METADATA_PREFIX}retained"  # in a VACUUM's commits: the oldest version kept since, and the retention that decided it


class PortStore:
    """Where the ports live: one Delta table per product and major version under `root`, and the
    vault of the clear values behind their personal columns' tokens."""

    def __init__(self, root: Location, vault_root: Location):
        self.root = root
        self.vault = Vault(vault_root, self.kept_tokens)

    namespace: str | None = None  # the development namespace these ports are (DevPortStore); None: the mesh's own

    @classmethod
    def of(cls, settings: MeshSettings) -> PortStore:
        """The port store of the mesh `settings` describe (in a development namespace: its own, over the mesh's)."""
        if (dev := settings.dev) is not None:
            products = frozenset(dev.products) if dev.products is not None else None
            own = Location.of(settings.ports_uri), Location.of(settings.vault_uri)
            return DevPortStore(*own, cls.of(settings.published), dev.name, products)
        store = settings.deployment.port_store
        options = store.resolved_options() if store is not None else {}
        return cls(Location.of(settings.ports_uri, options), Location.of(settings.vault_uri, options))

    def port(self, address: Address) -> Port:
        """The port serving `address` (which names its major version: `mesh://sales/orders@v1`)."""
        return Port(self.root, address)

    def vault_of(self, address: Address) -> Vault:
        """The vault holding the clear values behind the tokens of the port serving `address`."""
        return self.vault

    @property
    def published(self) -> PortStore:
        """The mesh's published ports (what governance judges a change against): this store itself."""
        return self

    def kept_tokens(self, domain: str) -> list[NamedTokens]:
        """The token files of every kept version of the domain's ports, with their product: what the vault keeps."""
        return [(port.address.product, *files) for port in self.domain_ports(domain) for files in port.kept_tokens()]

    def domain_ports(self, domain: str) -> list[Port]:
        """Every port the store holds for a domain's products (`<domain>/<product>/v<major>`), known to the catalog or not."""
        import pyarrow.fs as pafs

        filesystem, found = self.root.filesystem(), []
        for product in filesystem.get_file_info(pafs.FileSelector(self.root.child(domain).file_path(), allow_not_found=True)):
            if product.type != pafs.FileType.Directory:
                continue
            for major in filesystem.get_file_info(pafs.FileSelector(product.path, allow_not_found=True)):
                name = major.base_name
                if major.type == pafs.FileType.Directory and name.startswith("v") and name[1:].isdigit():
                    port = self.port(Address(domain, product.base_name, int(name[1:])))
                    if port.exists():
                        found.append(port)
        return found


class DevPortStore(PortStore):
    """A development namespace (`mesh materialize --dev`): the ports its builds publish, which no consumer of the
    mesh reads, over the mesh's published ports, which it only reads. It serves `products` from its own ports
    (the products a dev build builds; None: every product it holds) and every other product from the mesh's."""

    def __init__(
        self, root: Location, vault: Location, published: PortStore, namespace: str, products: frozenset[Address] | None
    ):
        super().__init__(root, vault)
        self._published, self.namespace, self.products = published, namespace, products

    def holds(self, address: Address) -> bool:
        """Whether the namespace serves this product (from its own port)."""
        if self.products is not None:
            return address.unversioned() in self.products
        return address.major is not None and Port(self.root, address).exists()

    def port(self, address: Address) -> Port:
        return Port(self.root, address) if self.holds(address) else self._published.port(address)

    def vault_of(self, address: Address) -> Vault:
        return self.vault if self.holds(address) else self._published.vault_of(address)

    @property
    def published(self) -> PortStore:
        return self._published

    def own_ports(self) -> list[Port]:
        """Every port the namespace holds, by address."""
        if not self.root.path.is_dir():
            return []
        own = PortStore(self.root, self.vault.root)
        found = [port for domain in (d.name for d in self.root.path.iterdir() if d.is_dir()) for port in own.domain_ports(domain)]
        return sorted(found, key=lambda port: (port.address.domain, port.address.product, port.address.major or 0))


@dataclass(frozen=True)
class PortVersion:
    """One published version of a port, from the Delta commit log."""

    version: int
    published_at: dt.datetime  # by the mesh's clock (what retention counts from); Delta's commit time for older commits
    rows: int | None
    contract_version: str | None
    run_id: str | None
    tokens: tuple[str, ...] = ()  # the columns this version holds as keyed tokens (their clear values are in the vault)
    started_at: dt.datetime | None = None  # when the build that published it began reading its inputs
    contract_status: str | None = None  # the contract's status when published (draft: its domain's only); None: not recorded
    partitions: str | None = (
        None  # the partitions the commit replaced (`2026-11-01`, `2026-11-01…2026-11-30`); None: the whole table
    )
    window: tuple[dt.datetime, dt.datetime] | None = None  # their time span [start, end), UTC
    incremental: bool = False  # the commit applied changes by key (a cdc product's MERGE), not rows replaced
    committed_at: dt.datetime | None = None  # Delta's own commit time (the machine's clock)
    kept: bool = True  # False: its files were removed by retention; the log still lists it, it cannot be read


@dataclass(frozen=True)
class Retained:
    """What retention left of a port: versions older than `oldest_kept` are gone (`retention` decided it)."""

    oldest_kept: int
    retention: str  # how long versions stay, as the retention was written (`7 days`), or why the table went (`retired on …`)
    emptied: bool = False  # the whole table went (a retired major): no version before the empty one is kept
    complete: bool = True  # the VACUUM that recorded it ended (its END commit holds the record)


@dataclass(frozen=True)
class PortLog:
    """A port's commit log as the mesh reads it: its published versions (newest first) and what retention removed."""

    versions: list[PortVersion]
    retained: Retained | None

    def version(self, number: int) -> PortVersion | None:
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True)
class Snapshot:
    """One version of a port, to read: what it is, its Delta table at that version, its rows as a lazy Arrow
    dataset or (on this machine's file system) as the Parquet files DuckDB scans itself.

    The current version of a local port is read from the record its last commit left (`current_files`) while no
    commit came after it: its Delta table is opened only when something asks for more (`table`, `dataset`)."""

    version: PortVersion
    location: Location
    table_version: int  # the Delta table's own version read (maintenance commits after `version`'s included)
    opened: DeltaTable | None = None
    recorded: CurrentFiles | None = None

    @functools.cached_property
    def table(self) -> DeltaTable:
        return self.opened if self.opened is not None else delta_table(self.location, self.table_version)

    @functools.cached_property
    def dataset(self) -> pads.Dataset:
        return arrow_dataset(self.table, self.location)

    def parquet_relation(self, connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The version read by DuckDB's Parquet reader on `connection` (allowed to read `files`); None: read `dataset`."""
        files = self.files
        if files is None:
            return None
        columns = self.recorded.columns if self.recorded is not None else duckdb_columns(connection, self.table)
        return parquet_relation(connection, files, columns)

    @functools.cached_property
    def files(self) -> list[str] | None:
        """The version's Parquet files on this machine's file system; None on an object store."""
        return list(self.recorded.files) if self.recorded is not None else local_files(self.table, self.location)


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
        published_at: dt.datetime | None = None,
    ) -> int:
        """Make `data` the port's current version in one atomic commit; return the new version.
        `tokens` names the columns `data` holds as keyed tokens. `started_at` is when the build
        began reading its inputs: versions follow the order builds started, so a build that
        started before the one behind the current version is refused (the later-started one wins).
        `published_at` is the time the mesh's clock gives the publish (default: now).

        With a `window` (a partitioned product's build of some partitions), `data` replaces the rows
        of those partitions only, the others untouched, in one commit; a build is then refused only
        when a later-started one already published a window overlapping its own."""
        import pyarrow as pa

        started_at = started_at or dt.datetime.now(dt.UTC)
        self._refuse_if_superseded(started_at, window)
        metadata = self._commit_metadata(contract, run_id, tokens, started_at, published_at)
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
        if window is None or partitioning is None or not self.exists() or partitioning.covers_all(window):  # whole, streamed
            return self._recorded(overwrite_table(self.location, reader, metadata, rows_key=rows_key, split=split))
        try:
            return self._recorded(replace_rows(self.location, reader, partitioning.delta_predicate(window), metadata, rows_key))
        except SchemaChangeError as change:
            raise PortError(
                f"{self.address}: partitions {window} not published: the port's columns differ from this build's ({change}); "
                "a part of a table cannot change its columns: rebuild every partition at once: mesh materialize "
                f"{self.address.unversioned()}"
            ) from None

    def publish_files(
        self,
        staged: StagedFiles,
        contract: Contract,
        run_id: str | None,
        started_at: dt.datetime | None = None,
        published_at: dt.datetime | None = None,
    ) -> int:
        """Make the Parquet files a build staged beside the port (`staging_folder`) its current version, whole, in one
        atomic commit; return the new version. As `publish`, a build that started before the current version's is refused."""
        started_at = started_at or dt.datetime.now(dt.UTC)
        self._refuse_if_superseded(started_at, None)
        metadata = self._commit_metadata(contract, run_id, (), started_at, published_at)
        self._make_folder()
        files = [(file.path, file.rows, file.bytes) for file in staged.files]
        return self._recorded(commit_files(self.location, files, staged.schema, metadata, rows_key=f"{METADATA_PREFIX}rows"))

    @property
    def staging_folder(self) -> Path | None:
        """Where a build may stage Parquet files for the port (`storage.staged_files`): None on an object store."""
        return staging_root(self.location.path) if self.location.local else None

    def apply_changes(
        self,
        changes: pa.Table,
        contract: Contract,
        key: list[str],
        run_id: str | None,
        tokens: tuple[str, ...] = (),
        started_at: dt.datetime | None = None,
        published_at: dt.datetime | None = None,
    ) -> int:
        """Apply the changed rows of an incremental build (a cdc product) in one commit, by `key`: a row whose
        `DELETED` column is true deletes its key, any other is upserted; return the new version (the current
        one when nothing changed). Raises `SchemaChangeError` when the port's columns are not the changes'
        (publish the whole table then)."""
        started_at = started_at or dt.datetime.now(dt.UTC)
        self._refuse_if_superseded(started_at, None)
        if changes.num_rows == 0:
            return self._current_number()  # nothing changed: no new version
        metadata = self._commit_metadata(contract, run_id, tokens, started_at, published_at)
        upserts = int(changes.num_rows - sum(changes[DELETED].to_pylist()))
        metadata[f"{METADATA_PREFIX}changes"] = json.dumps({"upserted": upserts, "deleted": changes.num_rows - upserts})
        return self._recorded(merge_rows(self.location, changes, key, DELETED, metadata))

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
        recorded = int(_latest_commit(record).get(f"{METADATA_PREFIX}port_version", -1))
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
            write_deltalake(
                record.uri,
                applied,
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=record.storage_options(),
                commit_properties=commit,
            )
            return
        (
            delta_table(record)
            .merge(
                applied,
                "target.mesh_key = source.mesh_key",
                source_alias="source",
                target_alias="target",
                commit_properties=commit,
            )
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

    def _commit_metadata(
        self,
        contract: Contract,
        run_id: str | None,
        tokens: tuple[str, ...],
        started_at: dt.datetime,
        published_at: dt.datetime | None,
    ) -> dict[str, str]:
        return {
            f"{METADATA_PREFIX}address": str(self.address),
            f"{METADATA_PREFIX}contract_version": contract.version,
            f"{METADATA_PREFIX}contract_status": contract.status,
            f"{METADATA_PREFIX}contract": json.dumps(contract.document, sort_keys=True),
            f"{METADATA_PREFIX}run_id": run_id or "",
            f"{METADATA_PREFIX}tokens": json.dumps(list(tokens)),
            f"{METADATA_PREFIX}started_at": started_at.isoformat(),
            f"{METADATA_PREFIX}published_at": (published_at or dt.datetime.now(dt.UTC)).isoformat(),
        }

    def _refuse_if_superseded(self, started_at: dt.datetime, window: Window | None) -> None:
        """Raise `SupersededBuildError` when a build that started later already published what this one would replace."""
        if window is None:
            current = self.latest()
            later = (
                [current] if current is not None and current.started_at is not None and current.started_at > started_at else []
            )
        else:
            later = [
                v for v in self.versions() if v.started_at is not None and v.started_at > started_at and _overlaps(v, window)
            ]
        if later:
            newer = later[0]
            replaced = "its partitions" if window is not None else "the port"
            raise SupersededBuildError(
                f"{self.address}: not published: a build that started later ({newer.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"run {newer.run_id or 'unknown'}) already published version {newer.version}, and this build's "
                f"result is older; the later-started build wins, so {replaced} stay as they are"
            )

    def table(self, version: int | None = None, log: PortLog | None = None) -> DeltaTable:
        """The Delta table at its current version, or at a published `version` retention kept (`log`: the port's, if read)."""
        if not self.exists():
            raise PortError(
                f"{self.address} has not been published yet; materialize it first: mesh materialize {self.address.unversioned()}"
            )
        if version is not None:
            self._refuse_unless_readable(version, log or self.log())
        try:
            return delta_table(self.location, version)
        except Exception as error:  # deltalake raises its own error kinds for a missing version
            raise PortError(f"{self.address} has no version {version} (published versions: {self._known()}): {error}") from None

    def _refuse_unless_readable(self, version: int, log: PortLog) -> None:
        """Raise a `PortError` unless `version` is a published version retention kept (saying which it is not)."""
        retained = log.retained
        if retained is not None and version < retained.oldest_kept:
            if retained.emptied:
                raise PortError(f"version {version} of {self.address} was removed with the whole table: {retained.retention}")
            oldest = min((v.version for v in log.versions if v.kept), default=retained.oldest_kept)
            raise PortError(
                f"version {version} of {self.address} was removed by retention ({retained.retention}); "
                f"the oldest kept is {oldest}"
            )
        if log.version(version) is None:  # none, or a commit that changed no data (a VACUUM's)
            raise PortError(f"{self.address} has no version {version} (published versions: {self._known(log)})")

    def _known(self, log: PortLog | None = None) -> str:
        return ", ".join(str(v.version) for v in (log or self.log()).versions if v.kept)

    def current_version(self) -> int | None:
        return self._current_number() if self.exists() else None

    def _current_number(self) -> int:
        """The number of the current published version (maintenance commits after it are no versions)."""
        return int(_latest_commit(delta_table(self.location))["version"])

    def bytes_added(self, version: int) -> int:
        """The size of the Parquet files the commit of `version` added to the port: what publishing it wrote."""
        return added_bytes(self.location, version)

    def latest(self) -> PortVersion | None:
        """The current version (None before the first publish)."""
        if not self.exists():
            return None
        return _port_version(_latest_commit(delta_table(self.location)))

    def versions(self) -> list[PortVersion]:
        """Every published version the log lists, newest first (those retention removed with `kept` False)."""
        return self.log().versions

    def log(self) -> PortLog:
        """The published versions and what retention removed, from one read of the commit log."""
        if not self.exists():
            return PortLog([], None)
        return _read_log(delta_table(self.location).history())

    def dataset(self, version: int | None = None) -> pads.Dataset:
        """A lazy Arrow dataset of one version, for engines such as DuckDB to scan (tokens as published)."""
        return self.snapshot(version).dataset

    def snapshot(self, version: int | None = None) -> Snapshot:
        """One version (the current one by default): what it is, and a lazy Arrow dataset of it."""
        if version is None and (recorded := current_files.read(self.location)) is not None:
            published = _published(recorded.latest, recorded.table_version)
            return Snapshot(published, self.location, recorded.table_version, recorded=recorded)
        # The commits as the latest table numbers them: deltalake numbers the history of a table read back
        # in time from that version down, so its newest commit would pass for the version read.
        if version is None:
            table = self.table()
            published = _published(_latest_commit(table), table.version())
        else:
            log = self.log()
            table = self.table(version, log)
            published = log.version(table.version()) or _published(None, table.version())
        return Snapshot(published, self.location, table.version(), opened=table)

    def _recorded(self, version: int) -> int:
        """`version`, after the commit that made it recorded for the port's readers (`_record_current`)."""
        self._record_current()
        return version

    def _record_current(self) -> None:
        """After a commit: record the port's current files for its readers (`current_files`), on this file system."""
        if not self.location.local:
            return
        import duckdb

        try:
            table = delta_table(self.location)
            columns = duckdb_columns(duckdb.default_connection().cursor(), table)
            current_files.record(self.location, table, _latest_commit(table), columns)
        except Exception:  # noqa: BLE001 - the commit stands; without a record, reads open the table instead
            current_files.forget(self.location)

    def to_pandas(self, version: int | None = None) -> pd.DataFrame:
        return self.dataset(version).to_table().to_pandas()

    def current_contract(self) -> tuple[int, dict[str, Any]] | None:
        """The current version and the contract document it was published under, from the latest commit alone
        (every commit of a port carries its contract); None before the first publish."""
        if not self.exists():
            return None
        latest = _latest_commit(delta_table(self.location))
        document = latest.get(f"{METADATA_PREFIX}contract")
        return (int(latest["version"]), json.loads(document)) if document else None

    def published_contract(self, version: int | None = None) -> dict[str, Any] | None:
        """The contract document a version (default: the current one) was published under."""
        if version is None:  # the newest commit may be maintenance (retention's): the current version is the latest publish
            current = self.current_contract()
            return current[1] if current else None
        wanted = self.table(version).version()
        for commit in self.table().history():
            if commit.get("version") == wanted and f"{METADATA_PREFIX}contract" in commit:
                return json.loads(commit[f"{METADATA_PREFIX}contract"])
        return None

    def stored_bytes(self) -> int:
        """What the port keeps in storage: the files of every version kept, its log, and an incremental product's record."""
        return sum(folder_files(self.location).values()) + sum(folder_files(self.applied_location).values())

    def remove_before(self, keep_from: int, retention: dt.timedelta, label: str, dry_run: bool = False) -> Removal:
        """Delete the files only versions older than `keep_from` use (Delta's VACUUM); `label` says which
        retention decided it (`7 days`). The table is set to keep its tombstones and log at least that long first."""
        if not dry_run:
            ensure_properties(delta_table(self.location), retained_properties(retention))
        record = {RETAINED: json.dumps({"oldest_kept": keep_from, "retention": label})}
        removal = remove_versions_before(self.location, keep_from, record, dry_run)
        if not dry_run:  # after its commits (table properties, a VACUUM's two): the record names the table's version
            self._record_current()
        return removal

    def trim_applied(self, dry_run: bool = False) -> Removal:
        """An incremental product's record of applied events keeps its current version only: no one reads an older one."""
        if not is_delta_table(self.applied_location):
            return Removal()
        removal = remove_versions_before(self.applied_location, delta_table(self.applied_location).version(), {}, dry_run)
        folder = self.applied_location.uri.rsplit("/", 1)[-1]
        return Removal(tuple(f"../{folder}/{name}" for name in removal.files), removal.bytes)

    def kept_tokens(self, versions: Iterable[int] | None = None) -> list[tuple[pads.Dataset, tuple[str, ...]]]:
        """The files holding tokens of every version kept (or of `versions`), as datasets, each with its token
        columns: what the vault must keep."""
        import pyarrow.dataset as pads

        wanted = set(versions) if versions is not None else None
        files: dict[tuple[str, ...], set[str]] = {}
        table = None
        for version in reversed(self.versions()):  # oldest first: each state is read on from the one before
            if (version.kept if wanted is None else version.version in wanted) and version.tokens:
                if table is None:
                    table = delta_table(self.location, version.version)
                else:
                    table.load_as_version(version.version)
                files.setdefault(version.tokens, set()).update(table.file_uris())
        filesystem = self.location.filesystem()
        return [
            (pads.dataset(sorted(self.location.file_path(uri) for uri in uris), format="parquet", filesystem=filesystem), columns)
            for columns, uris in files.items()
        ]

    def empty(self, reason: str, dry_run: bool = False) -> Removal:
        """Remove the whole table's data (a retired major): every row in one Delta DELETE, then every file
        but the log with Delta's VACUUM. `reason` is what readers are told (`retired on 2026-11-30`)."""
        if dry_run:
            present = folder_files(self.location)
            files = tuple(sorted(path for path in present if not path.startswith("_delta_log/")))
            return Removal(files, sum(present[f] for f in files))
        number = empty_table(self.location, {RETAINED: json.dumps({"oldest_kept": -1, "retention": reason, "emptied": True})})
        record = {RETAINED: json.dumps({"oldest_kept": number, "retention": reason, "emptied": True})}
        removal = remove_versions_before(self.location, number, record, dry_run=False)
        self._record_current()
        return removal


def _overlaps(version: PortVersion, window: Window) -> bool:
    """Whether a published version replaced rows of `window` (a whole-table version replaced all)."""
    if version.window is None:
        return True
    return window.overlaps(*version.window)


def _latest_commit(table: DeltaTable) -> dict[str, Any]:
    """The newest commit of a table that changed its data (maintenance commits, such as a VACUUM's, come after it)."""
    for limit in (4, None):  # a VACUUM adds two commits: the newest few hold the latest publish
        commits = table.history(limit=limit)
        if found := next((c for c in commits if not is_maintenance(c)), None):
            return found
    return table.history(limit=1)[0]


def _published(latest: dict[str, Any] | None, table_version: int) -> PortVersion:
    """The published version a table's newest data commit `latest` made (a table of maintenance commits only, or
    none known: its own version, published now)."""
    if latest is not None and not is_maintenance(latest):
        return _port_version(latest)
    return PortVersion(table_version, dt.datetime.now(dt.UTC), None, None, None)


def _read_log(commits: list[dict[str, Any]]) -> PortLog:
    """The published versions and the retention record in a table's history (newest first)."""
    retained = None
    for commit in commits:
        if RETAINED in commit:
            record = json.loads(commit[RETAINED])
            if record["oldest_kept"] >= 0:
                ended = commit.get("operation") == "VACUUM END"
                retained = Retained(int(record["oldest_kept"]), str(record["retention"]), bool(record.get("emptied")), ended)
                break
    versions = [_port_version(c) for c in commits if not is_maintenance(c)]
    if retained is not None:
        versions = [v if v.version >= retained.oldest_kept else replace(v, kept=False) for v in versions]
    return PortLog(versions, retained)


def _port_version(commit: dict[str, Any]) -> PortVersion:
    metrics = commit.get("operationMetrics") or {}
    published = commit.get(f"{METADATA_PREFIX}published_at")
    committed_at = dt.datetime.fromtimestamp(commit["timestamp"] / 1000, tz=dt.UTC)
    return PortVersion(
        version=int(commit["version"]),
        published_at=dt.datetime.fromisoformat(published) if published else committed_at,
        rows=int(rows) if (rows := commit.get(f"{METADATA_PREFIX}rows", metrics.get("num_added_rows"))) is not None else None,
        contract_version=commit.get(f"{METADATA_PREFIX}contract_version"),
        contract_status=commit.get(f"{METADATA_PREFIX}contract_status"),
        run_id=commit.get(f"{METADATA_PREFIX}run_id") or None,
        tokens=tuple(json.loads(commit.get(f"{METADATA_PREFIX}tokens") or "[]")),
        started_at=dt.datetime.fromisoformat(started) if (started := commit.get(f"{METADATA_PREFIX}started_at")) else None,
        partitions=commit.get(f"{METADATA_PREFIX}partitions"),
        incremental=f"{METADATA_PREFIX}changes" in commit,
        committed_at=committed_at,
        window=(
            (
                dt.datetime.fromisoformat(commit[f"{METADATA_PREFIX}window_start"]),
                dt.datetime.fromisoformat(commit[f"{METADATA_PREFIX}window_end"]),
            )
            if f"{METADATA_PREFIX}window_start" in commit
            else None
        ),
    )
