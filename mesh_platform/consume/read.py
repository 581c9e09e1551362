"""Reading products by address: the consumer's API, and the one way every port is read.

Reads always go to the product's port (its Delta table), never to the owning
domain's DuckDB file, so reading takes no lock on another domain's workspace.
Every read is made as a consuming domain and passes the access rules
(`mesh_platform.governance.access`): builds read their inputs through here too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mesh_platform.core.address import Address
from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.model import Contract
from mesh_platform.core.errors import AccessDeniedError, DeprecatedPortWarning
from mesh_platform.governance.access import ReadDecision, consumer_from_env, decide, masked_columns, mesh_secret, personal_columns
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.core.settings import MeshSettings
from mesh_platform.storage.ports import Port, PortVersion

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

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


def resolve(address: Address | str, settings: MeshSettings | None = None) -> ResolvedProduct:
    """Resolve `mesh://<domain>/<product>[@v<major>]`; unknown addresses raise `AddressError`.

    An older major version warns (`DeprecatedPortWarning`) on every resolve and is refused
    (`PortError`) after the date the current contract serves it until.
    """
    catalog = Catalog.current(settings or MeshSettings.from_env())
    parsed = Address.parse(address) if isinstance(address, str) else address
    port = catalog.port(parsed)
    if notice := catalog.deprecation(port.address):
        warnings.warn(notice, DeprecatedPortWarning, stacklevel=3)
    return ResolvedProduct(address=port.address, product=catalog.product(parsed), port=port)


def read_product(
    address: Address | str,
    version: int | None = None,
    settings: MeshSettings | None = None,
    *,
    consumer: str | None = None,
) -> pd.DataFrame:
    """A product's rows as a DataFrame, as `consumer` (a domain) may see them: the current
    version, or a past one by number. See `read_product_relation` for the access rules."""
    return read_product_relation(address, version, settings=settings, consumer=consumer).to_arrow_table().to_pandas()


def read_product_relation(
    address: Address | str,
    version: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    settings: MeshSettings | None = None,
    *,
    consumer: str | None = None,
    via: str = "python",
) -> duckdb.DuckDBPyRelation:
    """A product as a lazy DuckDB relation (filters and projections are pushed into the scan),
    read as `consumer`: the domain reading (default `MESH_CONSUMER`; None reads from outside
    every domain, which public products allow).

    Access is enforced here, for every reader — builds, this API, query commands: a product
    the consumer is not granted raises `AccessDeniedError`; personal columns reach consumers
    outside the owning domain hashed or dropped unless the contract grants them in clear;
    every read from outside the domain, granted or denied, goes to the access log."""
    consumer = consumer if consumer is not None else consumer_from_env()
    return open_product(address, consumer, version, connection, settings, via).relation


@dataclass(frozen=True)
class OpenedProduct:
    """A product opened for one consumer: the relation they may see, and what was decided."""

    address: Address
    version: int
    relation: duckdb.DuckDBPyRelation
    decision: ReadDecision
    port: Port


def open_product(
    address: Address | str,
    consumer: str | None,
    version: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    settings: MeshSettings | None = None,
    via: str = "python",
) -> OpenedProduct:
    """Decide, log and open one read of a product as `consumer` (see `read_product_relation`)."""
    import duckdb

    settings = settings or MeshSettings.from_env()
    resolved = resolve(address, settings)
    contract = resolved.contract
    log = AccessLog(settings)
    requested = Address.parse(address) if isinstance(address, str) else address
    try:
        decision = decide(contract, consumer, requested)
    except AccessDeniedError:
        log.record(consumer or "(no domain)", str(requested), None, "denied", via)
        raise
    number, dataset = resolved.port.snapshot(version)
    connection = connection or duckdb.connect()
    relation = connection.from_arrow(dataset)
    if decision.cross_domain:
        if resolved.address.major is not None and resolved.address.major != contract.major:
            # An older major version: mask what was personal under the contract it was published with too.
            masked = {*decision.hashed, *decision.dropped, *decision.clear}
            extra = personal_columns(resolved.port.published_contract(number)) - masked
            decision = replace(decision, hashed=decision.hashed + tuple(sorted(extra)))
        decision = replace(decision, version=number)
        log.record(decision.consumer_label, str(requested), number, "granted", via, decision.hashed, decision.dropped, decision.clear)
        if decision.hashed or decision.dropped:
            relation = relation.project(", ".join(masked_columns(decision, relation.columns, mesh_secret(settings))))
    return OpenedProduct(resolved.address, number, relation, decision, resolved.port)


def product_versions(address: Address | str, settings: MeshSettings | None = None) -> list[PortVersion]:
    """Every published version of a product's port, newest first."""
    return resolve(address, settings).port.versions()
