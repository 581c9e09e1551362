"""The one way every port is read: as a consuming domain, with access decided, masked and logged.

Reads always go to the product's port (its Delta table), never to the owning
domain's DuckDB file, so reading takes no lock on another domain's workspace.
Builds read their inputs through a `PortReader` made from the platform's
resources; the consumer API (`read_product`) and `mesh query` through one made
from the environment's settings. The access rules are `governance.access`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.model import Contract
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AccessDeniedError, DeprecatedPortWarning
from mesh_platform.governance.access import ReadDecision, decide, masked_columns, mesh_secret, personal_columns
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.storage.ports import Port, PortStore
from mesh_platform.storage.sandbox import sandbox

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
class PortReader:
    """Reads the ports of a mesh for consumers: what `catalog` declares, from `ports`, logged to `log`."""

    catalog: Catalog
    ports: PortStore
    log: AccessLog
    secret: str | None  # the hashing key (`MESH_SECRET`); None: the one kept in `secret_file`
    secret_file: Path

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

        A product the consumer is not granted raises `AccessDeniedError`; personal columns reach
        consumers outside the owning domain hashed or dropped unless the contract grants them in
        clear; every read from outside the domain, granted or denied, goes to the access log."""
        resolved = self.resolve(address, stacklevel + 1)
        contract = resolved.contract
        requested = Address.parse(address) if isinstance(address, str) else address
        try:
            decision = decide(contract, consumer, requested)
        except AccessDeniedError:
            self.log.record(consumer or "(no domain)", str(requested), None, "denied", via)
            raise
        number, dataset = resolved.port.snapshot(version)
        connection = connection or sandbox()
        relation = connection.from_arrow(dataset)
        if decision.cross_domain:
            if resolved.address.major is not None and resolved.address.major != contract.major:
                # An older major version: mask what was personal under the contract it was published with too.
                masked = {*decision.hashed, *decision.dropped, *decision.clear}
                extra = personal_columns(resolved.port.published_contract(number)) - masked
                decision = replace(decision, hashed=decision.hashed + tuple(sorted(extra)))
            decision = replace(decision, version=number)
            self.log.record(decision.consumer_label, str(requested), number, "granted", via, decision.hashed, decision.dropped, decision.clear)
            if decision.hashed or decision.dropped:
                key = mesh_secret(self.secret, self.secret_file)
                relation = relation.project(", ".join(masked_columns(decision, relation.columns, key)))
        return OpenedProduct(resolved.address, number, relation, decision, resolved.port)
