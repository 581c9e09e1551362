"""The platform's Dagster resources: everything a build touches, defined once, attached to every domain.

  mesh_catalog  CatalogResource       the repository's domains and products, the glossary of shared terms, the SQL macros
  mesh_ports    PortStoreResource     where published ports live (a folder or an object store; a development
                                      namespace's own), how long old versions stay
  mesh_duckdb   DomainDuckDBResource  the domain's private DuckDB workspace (dagster-duckdb's DuckDBResource)
  mesh_landing  LandingZoneResource   where source files arrive, one folder per domain
  mesh_access   AccessControlResource the access log, and the key personal values are hashed with
  mesh_notifier NotifierResource      where notices go: only when the deployment configures `notifications`

They show on the Resources page of the Dagster UI with their settings. A domain's
code location configures them from the environment when its definitions load
(`platform_resources`); a test or a deployment may give other values through
`Definitions` alone. Asset bodies read nothing else: no environment, no paths.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.address import Address
from mesh_platform.core.clock import Clock
from mesh_platform.core.deployment import FromEnvironment, StoreSettings
from mesh_platform.core.owner_only import private_folder
from mesh_platform.core.settings import MeshSettings
from mesh_platform.core.sql_macros import SqlMacros
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.governance.reads import PortReader
from mesh_platform.notify.resource import NotifierResource
from mesh_platform.product.retention import Retention
from mesh_platform.storage.domain_database import DomainWorkspace
from mesh_platform.storage.landing import LandingZone
from mesh_platform.storage.location import Location
from mesh_platform.storage.ports import DevPortStore, PortStore

CATALOG, PORTS, DUCKDB, LANDING, ACCESS, NOTIFIER = (
    "mesh_catalog",
    "mesh_ports",
    "mesh_duckdb",
    "mesh_landing",
    "mesh_access",
    "mesh_notifier",
)


class CatalogResource(dg.ConfigurableResource):
    """The mesh's catalog: every domain and product the repository declares, and the glossary of shared terms."""

    root: str = Field(description="The mesh repository: the folder holding workspace.yaml, domains/ and templates/.")
    glossary_file: str = Field(description="The glossary of shared terms (MESH_GLOSSARY; by default the one the platform ships).")
    macros_file: str | None = Field(default=None, description="The mesh's SQL macros (macros.sql at the repository root).")

    def macros(self, domain_folder: Path) -> SqlMacros:
        """The SQL macros the builds of the domain in `domain_folder` install: the mesh's, then the domain's own."""
        return SqlMacros.of_domain(Path(self.macros_file) if self.macros_file else None, domain_folder)


class PortStoreResource(dg.ConfigurableResource):
    """Where published ports live: one Delta Lake table per product and major version, personal columns as keyed tokens."""

    root: str = Field(
        description="Where the ports are, <domain>/<product>/v<major> under it: a folder (default MESH_HOME/ports) or s3://bucket/prefix/ports."
    )
    vault_root: str = Field(
        description=(
            "The vault: the clear values behind the tokens, one private table per personal column of each product "
            "(<domain>/<product>/<column>), readable by its owner only (default MESH_HOME/vault)."
        )
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "deltalake's storage options for an object store (endpoint, region, credentials); a value the deployment "
            "reads from the environment is an EnvVar, shown by its name only."
        ),
    )
    dev_namespace: str | None = Field(
        default=None,
        description=(
            "A development namespace (mesh materialize --dev): root and vault_root are its own folders, which no consumer reads, "
            "and every product it does not build is read from the mesh's ports below. Unset: root is the mesh's ports."
        ),
    )
    dev_products: list[str] = Field(default_factory=list, description="What the namespace builds, and reads from itself.")
    published_root: str | None = Field(default=None, description="In a development namespace: the mesh's ports, only read.")
    published_vault_root: str | None = Field(default=None, description="In a development namespace: the mesh's vault, only read.")
    default_retention_seconds: int | None = Field(
        default=None,
        description="How long old port versions stay, in seconds, when a contract sets no retention SLA "
        "(the mesh's default_retention); unset: every version stays.",
    )
    now: str | None = Field(
        default=None,
        description="The time builds take as now (ISO 8601), to rehearse retention: what publishes record and "
        "cleanup counts from; unset: the real clock.",
    )

    def store(self) -> PortStore:
        options = self.storage_options
        if self.dev_namespace is None or self.published_root is None or self.published_vault_root is None:
            return PortStore(Location.of(self.root, options), Location.of(self.vault_root, options))
        published = PortStore(Location.of(self.published_root, options), Location.of(self.published_vault_root, options))
        products = frozenset(Address.parse(a) for a in self.dev_products)
        return DevPortStore(Location.of(self.root), Location.of(self.vault_root), published, self.dev_namespace, products)

    def clock(self) -> Clock:
        return Clock.at(self.now)

    def retention(self, catalog: Catalog, store: PortStore) -> Retention:
        """What decides and removes old port versions after a publish, with this store's default and clock."""
        default = dt.timedelta(seconds=self.default_retention_seconds) if self.default_retention_seconds is not None else None
        return Retention(catalog, store, default, self.clock())


class DomainDuckDBResource(DuckDBResource):
    """The domain's private DuckDB workspace, where its products are computed and staged.

    dagster-duckdb's resource: it retries while another process holds the file.
    One step per domain uses it at a time (the domain's concurrency pool)."""

    database: str = Field(description="The domain's DuckDB file (default MESH_HOME/domains/<domain>/<domain>.duckdb).")

    @contextmanager
    def workspace(self, readable: Iterable[Path] = (), files: Iterable[str] = ()) -> Iterator[DomainWorkspace]:
        """A connection with the staging and products schemas and the platform's SQL functions,
        closed to every file but the database, the `readable` folders and the `files`."""
        private_folder(Path(self.database).parent)  # the file holds the domain's clear values: its owner only
        with self.get_connection() as connection:
            try:
                yield DomainWorkspace.prepare(connection, self.database, readable, files)
            finally:
                connection.close()  # also when the build fails: get_connection closes only on success


class LandingZoneResource(dg.ConfigurableResource):
    """Where source files arrive: what `source` products read."""

    root: str = Field(
        description="The landing zone, one sub-folder per domain: a folder (default landing/ in the mesh's root) or s3://bucket/prefix."
    )
    cache: str | None = Field(
        default=None,
        description=(
            "Where a landing zone on an object store is mirrored before a build reads it (the mesh sets "
            "MESH_HOME/landing-cache; unset: the system's temporary folder)."
        ),
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The object store's settings (endpoint, region, credentials); a value the deployment reads from the "
            "environment is an EnvVar, shown by its name only."
        ),
    )

    def folder(self, domain: str) -> Path:
        """The domain's landing folder on this machine, as the landing zone holds it now."""
        location = Location.of(self.root, self.storage_options)
        cache = Path(self.cache) if self.cache else Path(tempfile.gettempdir()) / "mesh-landing-cache"
        return LandingZone(location, cache).folder(domain)


class AccessControlResource(dg.ConfigurableResource):
    """Who read what: the access log of cross-domain reads, and the key personal values are hashed with."""

    log_file: str = Field(
        description="The access log, an SQLite file (default MESH_HOME/access_log.sqlite), unless a database is given below."
    )
    log_database_url: str | None = Field(
        default=None,
        description=(
            "The PostgreSQL database the access log is kept in instead (a deployment's instance database): an EnvVar "
            "when the deployment reads it from the environment, so its password never shows here."
        ),
    )
    secret: str | None = Field(
        default=None,
        description="The hashing key, from the MESH_SECRET environment variable; unset: the key kept in secret_file.",
    )
    secret_file: str = Field(
        description="Where a local mesh keeps its hashing key when MESH_SECRET is unset (default MESH_HOME/secret)."
    )
    now: str | None = Field(
        default=None, description="The time usage agreements are judged at (ISO 8601, MESH_NOW); unset: the real clock."
    )

    def reader(self, catalog: Catalog, ports: PortStore) -> PortReader:
        """Reads ports as a consuming domain: access decided, personal columns masked, reads logged."""
        log = AccessLog(self.log_database_url or Path(self.log_file))
        return PortReader(catalog, ports, log, self.secret, Path(self.secret_file), clock=Clock.at(self.now))


def platform_resources(settings: MeshSettings, domain: str) -> dict[str, dg.ConfigurableResource]:
    """The platform's resources for one domain's code location, configured from `settings`.

    The hashing key is passed as an `EnvVar`, so its value never shows in the UI or the snapshot."""
    return {
        CATALOG: CatalogResource(
            root=str(settings.root), glossary_file=str(settings.glossary_file), macros_file=str(settings.macros_file)
        ),
        PORTS: _port_store(settings),
        DUCKDB: DomainDuckDBResource(
            database=str(settings.domain_database(domain)),
            connection_config={"memory_limit": settings.duckdb_memory_limit} if settings.duckdb_memory_limit else {},
        ),
        LANDING: LandingZoneResource(
            root=settings.landing_uri,
            cache=str(settings.landing_cache),
            storage_options=_storage_options(settings.deployment.landing),
        ),
        ACCESS: AccessControlResource(
            log_file=str(settings.access_log_file),
            **_log_database(settings),
            secret=dg.EnvVar("MESH_SECRET") if settings.secret else None,
            secret_file=str(settings.secret_file),
            now=settings.now,
        ),
        # With the notice sensor that uses it, only when notifications are on: off, nothing is attached.
        **(
            {NOTIFIER: NotifierResource.of(notices, settings.now)}
            if (notices := settings.deployment.notifications) and notices.enabled
            else {}
        ),
    }


def _port_store(settings: MeshSettings) -> PortStoreResource:
    options = _storage_options(settings.deployment.port_store)
    retention = settings.default_retention
    kept_seconds = int(retention.total_seconds()) if retention is not None else None
    if settings.dev is None:
        return PortStoreResource(
            root=settings.ports_uri,
            vault_root=settings.vault_uri,
            default_retention_seconds=kept_seconds,
            storage_options=options,
        )
    published = settings.published
    return PortStoreResource(
        root=settings.ports_uri,
        vault_root=settings.vault_uri,
        dev_namespace=settings.dev.name,
        dev_products=[str(a) for a in settings.dev.products or ()],
        published_root=published.ports_uri,
        published_vault_root=published.vault_uri,
        default_retention_seconds=kept_seconds,
        storage_options=options,
    )


def _log_database(settings: MeshSettings) -> dict[str, str]:
    """Where the access log goes in a deployment with a PostgreSQL instance: its database, named by variable where it can be."""
    url = settings.deployment.instance.postgres_url
    if url is None:
        return {}
    return {"log_database_url": _dagster_value(url)}


def _storage_options(store: StoreSettings | None) -> dict[str, str]:
    """A store's storage options as a resource takes them: a value read from the environment as an `EnvVar`."""
    options = store.storage_options if store is not None else {}
    return {key: _dagster_value(value) for key, value in options.items()}


def _dagster_value(value: str | FromEnvironment) -> str:
    """A deployment value for a resource: `{env: NAME}` becomes Dagster's `EnvVar`, resolved when the resource is used."""
    return dg.EnvVar(value.env) if isinstance(value, FromEnvironment) else value
