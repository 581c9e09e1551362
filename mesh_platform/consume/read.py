"""Reading products by address: the consumer's API.

Every read is made as a principal (`consumer=`, else `MESH_CONSUMER`: a domain, or
a consumer the principals file declares; in a deployment, the one of the store's
credentials) and passes the access rules (`mesh_platform.governance.reads`), exactly as
builds do. The mesh is the one the environment names (`MESH_ROOT`,
`MESH_HOME`), read for this call, unless `settings` are given, or a `context`
(`MeshContext`: a command's or a notebook's, whose catalog is read once for
all its reads). With `dev=True` a product built in
the user's development namespace (`mesh materialize --dev`) is read from there,
every other one from the mesh's ports.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.address import Address
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import CONSUMER_ENV
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.governance.identity import resolve_identity
from mesh_platform.governance.principals import load_principals
from mesh_platform.governance.reads import OpenedProduct, PortReader, ResolvedProduct
from mesh_platform.storage.ports import PortStore, PortVersion
from mesh_platform.storage.sandbox import prepare_database

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from mesh_platform.context import MeshContext


def port_reader(settings: MeshSettings | None = None, context: MeshContext | None = None) -> PortReader:
    """The reader of `context`, else of the mesh `settings` describe (default: the environment's, read now), for its
    principals. It holds no hashing key: reading never needs one (only builds publishing personal columns do)."""
    if context is not None:
        return context.reader
    settings = settings or MeshSettings.from_env()
    catalog = Catalog.load(settings.root)
    return PortReader(
        catalog=catalog,
        ports=PortStore.of(settings),
        log=AccessLog(settings.access_log_target),
        principals=load_principals(settings.principals_file, catalog.domains),
        clock=settings.clock,
    )


def resolve(address: Address | str, settings: MeshSettings | None = None, context: MeshContext | None = None) -> ResolvedProduct:
    """Resolve `mesh://<domain>/<product>[@v<major>]`: the product, its asset key and its port.

    Unknown addresses raise `AddressError`; an older major version warns
    (`DeprecatedPortWarning`) and is refused (`PortError`) once retired."""
    return port_reader(settings, context).resolve(address, stacklevel=2)


def read_product(
    address: Address | str,
    version: int | None = None,
    settings: MeshSettings | None = None,
    *,
    consumer: str | None = None,
    dev: bool = False,
    context: MeshContext | None = None,
) -> pd.DataFrame:
    """A product's rows as a DataFrame, as `consumer` (a principal) may see them: the current
    version, or a past one by number; `dev`: as built in the user's development namespace.
    See `read_product_relation` for the access rules."""
    return (
        open_product(address, consumer, version, settings=settings, dev=dev, context=context)
        .relation.to_arrow_table()
        .to_pandas()
    )


def read_product_relation(
    address: Address | str,
    version: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    settings: MeshSettings | None = None,
    *,
    consumer: str | None = None,
    via: str = "python",
    dev: bool = False,
    context: MeshContext | None = None,
) -> duckdb.DuckDBPyRelation:
    """A product as a lazy DuckDB relation (filters and projections are pushed into the scan),
    read as `consumer`: the principal reading, a domain or a declared consumer (default `MESH_CONSUMER`;
    None names no principal, which public products allow; in a deployment, the credentials' principal).

    Access is enforced for every reader — builds, this API, query commands: a product the
    consumer is not granted raises `AccessDeniedError`; personal columns reach consumers
    outside the owning domain hashed or dropped unless the contract grants them in clear;
    every read from outside the domain, granted or denied, goes to the access log."""
    return open_product(address, consumer, version, connection, settings, via, dev, context).relation


def open_product(
    address: Address | str,
    consumer: str | None,
    version: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    settings: MeshSettings | None = None,
    via: str = "python",
    dev: bool = False,
    context: MeshContext | None = None,
) -> OpenedProduct:
    """One read of a product as `consumer` (default `MESH_CONSUMER`): the relation and what was decided.

    In a deployment on an object store the reader is the principal of the store's credentials, which
    `consumer` must then be (`governance.identity`); on the embedded shape it is the caller's word."""
    if connection is None:
        prepare_database()  # the read's sandbox database opens while the catalog loads and access is decided
    claimed_by = "consumer=" if consumer is not None else CONSUMER_ENV
    consumer = consumer if consumer is not None else (os.environ.get(CONSUMER_ENV) or None)
    if context is not None:
        reading = context.in_dev() if dev and context.settings.dev is None else context
        return reading.reader.open(
            address, reading.identity(consumer, claimed_by).principal, version, connection, via, stacklevel=3
        )
    settings = settings or MeshSettings.from_env()
    reader = port_reader(settings.in_dev() if dev and settings.dev is None else settings)
    assert reader.principals is not None, "a consumer's reader knows the mesh's principals"
    identity = resolve_identity(settings.deployment, reader.principals, consumer, claimed_by)
    return reader.open(address, identity.principal, version, connection, via, stacklevel=3)


def product_versions(
    address: Address | str, settings: MeshSettings | None = None, context: MeshContext | None = None
) -> list[PortVersion]:
    """Every published version of a product's port, newest first."""
    return port_reader(settings, context).resolve(address, stacklevel=2).port.versions()
