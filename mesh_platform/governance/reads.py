"""The one way every port is read: as a principal (a domain, or a declared consumer), with access decided, masked and logged.

Reads always go to the product's port (its Delta table), never to the owning
domain's DuckDB file, so reading takes no lock on another domain's workspace.
Builds read their inputs through a `PortReader` made from the platform's
resources; the consumer API (`read_product`) and `mesh query` through one made
from the environment's settings. The access rules are `governance.access`.
"""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.model import DRAFT_STATUSES, Contract
from mesh_platform.core.address import Address
from mesh_platform.core.clock import Clock
from mesh_platform.core.errors import AccessDeniedError, DeprecatedPortWarning, StoreRefusedError, UnknownPrincipalError
from mesh_platform.core.sql import quote
from mesh_platform.governance.access import ReadDecision, decide, draft_version_message, personal_columns
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.governance.agreements import within_agreements
from mesh_platform.governance.principals import Principals
from mesh_platform.storage.ports import Port, PortStore, Snapshot
from mesh_platform.storage.sandbox import prepare_database, reading_sandbox, sandbox

if TYPE_CHECKING:
    import duckdb

# A consumer of a deprecated version hears about it on every read, not once per place in the code.
warnings.simplefilter("always", DeprecatedPortWarning)


@dataclass(frozen=True)
class ResolvedProduct:
    """What an address names: the product (contract, recipe), its asset key and its port."""

    address: Address
    product: Product
    port: Port

    @property
    def asset_key_path(self) -> list[str]:
        return self.address.asset_key_path

    @property
    def contract(self) -> Contract:
        return self.product.contract


@dataclass(frozen=True)
class OpenedProduct:
    """A product opened for one consumer: the relation they may see, and what was decided."""

    address: Address
    version: int
    relation: duckdb.DuckDBPyRelation
    decision: ReadDecision
    port: Port


@dataclass(frozen=True)
class GrantedRead:
    """A read decided and logged, not opened yet: the product, the version read and what its consumer may see."""

    resolved: ResolvedProduct
    snapshot: Snapshot
    decision: ReadDecision

    @property
    def files(self) -> list[str] | None:
        """The version's files, where its consumer may see them as they are (no column dropped: tokens where
        hashed, clear values joined back where granted) and they are on this machine; else None. A connection
        allowed them (`storage.sandbox`) lets DuckDB scan them itself."""
        return self.snapshot.files if not self.decision.dropped else None


@dataclass(frozen=True)
class PortReader:
    """Reads the ports of a mesh for consumers: what `catalog` declares, from `ports`, logged to `log`."""

    catalog: Catalog
    ports: PortStore
    log: AccessLog
    # The hashing key, for builds that publish personal columns (`MESH_SECRET`; None: the one kept in `secret_file`).
    # Reading needs none: a consumer's reader has neither.
    secret: str | None = None
    secret_file: Path | None = None
    principals: Principals | None = None  # who may read; None: any name (a build reads as its own domain)
    clock: Clock = field(default_factory=Clock)  # what decides whether an agreement is in force

    def resolve(self, address: Address | str, stacklevel: int = 2) -> ResolvedProduct:
        """Resolve `mesh://<domain>/<product>[@v<major>]`; unknown addresses raise `AddressError`.

        An older major version warns (`DeprecatedPortWarning`) on every resolve and is refused
        (`PortError`) after the date the current contract serves it until."""
        parsed = Address.parse(address) if isinstance(address, str) else address
        port_address = self.catalog.port_address(parsed)
        if notice := self.catalog.deprecation(port_address):
            warnings.warn(notice, DeprecatedPortWarning, stacklevel=stacklevel + 1)
        return ResolvedProduct(address=port_address, product=self.catalog.product(parsed), port=self.ports.port(port_address))

    def open(
        self,
        address: Address | str,
        consumer: str | None,
        version: int | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
        via: str = "python",
        stacklevel: int = 2,
    ) -> OpenedProduct:
        """Decide, log and open one read of a product as `consumer` (None: a reader outside every domain).

        A product the consumer is not granted raises `AccessDeniedError`. Personal columns are
        published as keyed tokens: consumers outside the owning domain see the token or nothing
        (`masking: drop`), the owner and the consumers the contract grants see the clear value,
        joined back from the vault. Every read, granted or denied, the owner's too (a consumer
        names itself), goes to the access log.

        Without a `connection`, the read gets a sandbox of its own, allowed the version's files where the
        consumer may see them as published (`GrantedRead.files`), which DuckDB then scans itself."""
        if connection is None:
            prepare_database()  # its sandbox's database opens while access is decided
        granted = self.grant(address, consumer, version, via, stacklevel + 1)
        if connection is None:
            if granted.files is not None:
                return self.opened(granted, reading_sandbox(granted.files), files_allowed=True)
            connection = sandbox()
        return self.opened(granted, connection)

    def grant(
        self, address: Address | str, consumer: str | None, version: int | None = None, via: str = "python", stacklevel: int = 2
    ) -> GrantedRead:
        """Decide and log one read of a product as `consumer`, without opening it (`opened` does): see `open`."""
        resolved = self.resolve(address, stacklevel + 1)
        contract = resolved.contract
        requested = Address.parse(address) if isinstance(address, str) else address
        if self.ports.namespace is not None:  # a development namespace's reads are told apart in the mesh's one access log
            via = f"{via} [development namespace {self.ports.namespace}]"
        try:
            if consumer is not None and self.principals is not None:
                self.principals.get(consumer)
            decision = decide(contract, consumer, requested)
            decision = within_agreements(decision, contract, self.catalog.agreements, self.clock.today())
        except (AccessDeniedError, UnknownPrincipalError):
            self.log.record(consumer or "(no domain)", str(requested), None, "denied", via)
            raise
        try:
            snapshot = resolved.port.snapshot(version)
        except StoreRefusedError as refused:
            self.log.record(decision.consumer_label, str(requested), None, "denied", via)
            owners = ", ".join(contract.owners) or contract.domain
            raise StoreRefusedError(
                f"access denied by the store ({refused.code}): {decision.consumer_label} may read {resolved.address} "
                "by its contract, but the store policy of the credentials in use does not grant it — "
                f"run with {decision.consumer_label}'s key, an operator runs mesh deploy access --apply, "
                f"or ask its owner ({owners})",
                refused.code,
                refused.uri,
            ) from None
        number = snapshot.version.version
        if decision.cross_domain and snapshot.version.contract_status in DRAFT_STATUSES:
            self.log.record(decision.consumer_label, str(requested), number, "denied", via)
            raise AccessDeniedError(draft_version_message(contract, consumer, resolved.address, number))
        if decision.cross_domain and contract.status == "deprecated":
            owner = contract.owners[-1]
            notice = f"{resolved.address} is deprecated (status: deprecated): ask its owner ({owner}) what replaces it"
            warnings.warn(notice, DeprecatedPortWarning, stacklevel=stacklevel + 1)
        if decision.cross_domain and resolved.address.major is not None and resolved.address.major != contract.major:
            # An older major version: mask what was personal under the contract it was published with too.
            masked = {*decision.hashed, *decision.dropped, *decision.clear}
            extra = personal_columns(resolved.port.published_contract(number)) - masked
            decision = replace(decision, hashed=decision.hashed + tuple(sorted(extra)))
        if untokenized := tuple(c for c in decision.hashed if c not in snapshot.version.tokens):
            # Personal now, published in clear in this version (before it was classified so): dropped, since
            # hashing it here would need the key, which only the processes that publish personal columns hold.
            decision = replace(
                decision, hashed=tuple(c for c in decision.hashed if c not in untokenized), dropped=decision.dropped + untokenized
            )
        decision = replace(decision, version=number)
        self.log.record(
            decision.consumer_label, str(requested), number, "granted", via, decision.hashed, decision.dropped, decision.clear
        )
        return GrantedRead(resolved, snapshot, decision)

    def opened(self, granted: GrantedRead, connection: duckdb.DuckDBPyConnection, files_allowed: bool = False) -> OpenedProduct:
        """The read `granted` on `connection`: scanned by DuckDB from the version's files where `files_allowed`
        (the connection was allowed `granted.files`), else as the Arrow dataset the platform registers."""
        snapshot = granted.snapshot
        rows = snapshot.parquet_relation(connection) if files_allowed and granted.files is not None else None
        if rows is None:
            rows = connection.from_arrow(snapshot.dataset)
        resolved = granted.resolved
        relation = self._as_seen(connection, rows, snapshot.version.tokens, granted.decision, resolved.contract, resolved.address)
        return OpenedProduct(resolved.address, snapshot.version.version, relation, granted.decision, resolved.port)

    def _as_seen(
        self,
        connection: duckdb.DuckDBPyConnection,
        relation: duckdb.DuckDBPyRelation,
        tokens: tuple[str, ...],
        decision: ReadDecision,
        contract: Contract,
        port_address: Address,
    ) -> duckdb.DuckDBPyRelation:
        """The port's rows as `decision` lets its consumer see them: tokens joined back to clear values
        from the vault where granted, dropped where masked so, tokens (keyed hashes) otherwise.

        (`open` drops the columns a version holds no tokens of: see there.)"""
        tokenized = set(tokens)
        dropped, clear = set(decision.dropped), set(decision.clear)
        join_back = (clear if decision.cross_domain else tokenized) & tokenized  # the owner sees every value it published
        if not (dropped or join_back):
            return relation
        port = f"__mesh_port_{uuid.uuid4().hex}"
        connection.register(port, relation)
        vault = self.ports.vault_of(port_address)  # one table per personal column: a clear grant is its own prefix
        clear_values = {name: vault.dataset(decision.owner, port_address.product, name) for name in join_back}
        types = {c.name: c.physical_type for c in contract.columns}
        columns, joins = [], []
        for index, name in enumerate(relation.columns):
            column = f"port.{quote(name)}"
            if name in dropped:
                continue
            if name in join_back:
                if (values := clear_values[name]) is None:  # no value was ever stored: every one of them is empty
                    columns.append(f"CAST(NULL AS {types.get(name, 'VARCHAR')}) AS {quote(name)}")
                    continue
                connection.register(vault_view := f"__mesh_vault_{uuid.uuid4().hex}", values)
                joins.append(f"LEFT JOIN {vault_view} AS clear_{index} ON clear_{index}.token = {column}")
                columns.append(f"TRY_CAST(clear_{index}.value AS {types.get(name, 'VARCHAR')}) AS {quote(name)}")
            else:
                columns.append(column)
        return connection.sql(f"SELECT {', '.join(columns)} FROM {port} AS port {' '.join(joins)}")
