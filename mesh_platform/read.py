"""Reading products by address: the consumer's API.

Reads always go to the product's port (its Delta table), never to the owning
domain's DuckDB file, so reading takes no lock on another domain's workspace.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mesh_platform.address import Address
from mesh_platform.catalog import Catalog, Product
from mesh_platform.contract import Contract
from mesh_platform.errors import DeprecatedPortWarning
from mesh_platform.settings import MeshSettings
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


def read_product(address: Address | str, version: int | None = None, settings: MeshSettings | None = None) -> pd.DataFrame:
    """A product's rows as a DataFrame: the current version, or a past one by number."""
    return resolve(address, settings).port.to_pandas(version)


def read_product_relation(
    address: Address | str,
    version: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    settings: MeshSettings | None = None,
) -> duckdb.DuckDBPyRelation:
    """A product as a lazy DuckDB relation: filters and projections are pushed into the scan."""
    import duckdb

    dataset = resolve(address, settings).port.dataset(version)
    return (connection or duckdb.connect()).from_arrow(dataset)


def product_versions(address: Address | str, settings: MeshSettings | None = None) -> list[PortVersion]:
    """Every published version of a product's port, newest first."""
    return resolve(address, settings).port.versions()
