"""Finding products: search the catalog and describe one product completely.

Reads the repository's contracts and the ports' commit logs only (no Dagster),
so `mesh catalog` answers in well under a second. What the Dagster instance
knows (last materialization, last check results) is `runtime.health`'s; `mesh
show` puts the two together.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mesh_platform.catalog.catalog import Product
from mesh_platform.catalog.freshness import Freshness, freshness, partition_freshness
from mesh_platform.contract.schedule import format_duration
from mesh_platform.core.address import Address
from mesh_platform.governance.view import MeshView
from mesh_platform.product.retention import describe_duration, retention_of
from mesh_platform.storage.ports import PortVersion


@dataclass(frozen=True)
class SearchFilters:
    """What `mesh catalog` narrows by; every given filter must hold."""

    text: str | None = None  # words searched in names, descriptions, columns and terms (all must match)
    domain: str | None = None
    owner: str | None = None  # a team (team:sales or sales) or an owner's e-mail, case-insensitive
    tag: str | None = None  # a contract tag, or the tier
    column: str | None = None  # a column name; shell wildcards allowed (*country*)
    term: str | None = None  # a glossary term carried by a column (term or term/meaning)
    access: str | None = None  # public, restricted or internal


@dataclass(frozen=True)
class CatalogEntry:
    address: str
    owner: str
    access: str
    status: str
    description: str
    freshness: Freshness = field(metadata={"json_value": lambda f: f.state})
    matched: tuple[str, ...] = ()  # where the search text was found
    json_properties: ClassVar[tuple[str, ...]] = ("last_update",)

    @property
    def last_update(self) -> dt.datetime | None:
        return self.freshness.last_update


def search(mesh: MeshView, filters: SearchFilters, now: dt.datetime | None = None) -> list[CatalogEntry]:
    """Products matching every filter, best text matches first (then by address)."""
    found = []
    for product in mesh.catalog.products.values():
        if not _passes(mesh, product, filters):
            continue
        matched = _text_matches(mesh, product, filters.text) if filters.text else ()
        if filters.text and matched is None:
            continue
        found.append((product, matched or ()))
    rank = {"name": 0, "description": 1, "column": 2, "term": 3}
    found.sort(key=lambda item: (min((rank[m.split(":")[0]] for m in item[1]), default=0), item[0].address))
    return [entry(mesh, product, matched, now) for product, matched in found]


def entry(mesh: MeshView, product: Product, matched: tuple[str, ...] = (), now: dt.datetime | None = None) -> CatalogEntry:
    contract = product.contract
    return CatalogEntry(
        address=str(product.address),
        owner=contract.owners[-1] if len(contract.owners) > 1 else contract.owners[0],
        access=contract.settings.access,
        status=contract.status,
        description=contract.purpose.splitlines()[0] if contract.purpose else "",
        freshness=published_freshness(product, mesh.versions(product), now),
        matched=matched,
    )


def published_freshness(product: Product, versions: list[PortVersion], now: dt.datetime | None = None) -> Freshness:
    """Freshness from the port's versions (newest first): on the last publish, or for a partitioned
    product on the newest partition any version wrote, as `mesh status` judges it from Dagster."""
    last = versions[0].published_at if versions else None
    partitioning = product.contract.partitioning
    if partitioning is None:
        return freshness(product.contract, last, now)
    ends = [v.window[1] for v in versions if v.window is not None]
    newest = partitioning.key_of(max(ends) - dt.timedelta(microseconds=1)) if ends else None
    return partition_freshness(product.contract, newest, last, now)


def _passes(mesh: MeshView, product: Product, filters: SearchFilters) -> bool:
    contract = product.contract
    if filters.domain and contract.domain != filters.domain:
        return False
    if filters.access and contract.settings.access != filters.access:
        return False
    if filters.owner:
        wanted = filters.owner.lower().removeprefix("team:")
        owners = [o.lower().removeprefix("team:") for o in contract.owners]
        if not any(wanted == o or (("@" in wanted) and wanted in o) for o in owners):
            return False
    if filters.tag and filters.tag.lower() not in {
        t.lower() for t in (*contract.tags, *(filter(None, [contract.settings.tier])))
    }:
        return False
    if filters.column and not any(fnmatch.fnmatch(c.name.lower(), filters.column.lower()) for c in contract.columns):
        return False
    return not filters.term or filters.term in _terms(mesh, product)


def _terms(mesh: MeshView, product: Product) -> set[str]:
    """Every name a product's terms answer to: the term, and term/meaning where it has one."""
    names = set()
    for found in mesh.glossary.column_terms(product.contract):
        names |= {str(found.column.settings.term).partition("/")[0], found.label}
    return names


def _text_matches(mesh: MeshView, product: Product, text: str) -> tuple[str, ...] | None:
    """Where each word of `text` occurs (None when a word occurs nowhere)."""
    contract = product.contract
    places: list[tuple[str, str]] = [("name", str(product.address)), ("description", contract.description)]
    places += [("description", tag) for tag in contract.tags]
    for column in contract.columns:
        places.append((f"column:{column.name}", f"{column.name} {column.description}"))
    for term in sorted(_terms(mesh, product)):
        definition = mesh.glossary.terms.get(term.partition("/")[0])
        places.append((f"term:{term}", f"{term} {definition.definition if definition else ''}"))
    matched: list[str] = []
    for word in text.lower().split():
        hits = [label for label, value in places if word in value.lower()]
        if not hits:
            return None
        matched += [h for h in hits if h not in matched]
    return tuple(matched)


@dataclass(frozen=True)
class ShownColumn:
    name: str
    type: str | None
    logical_type: str | None
    required: bool
    primary_key: bool
    unique: bool
    classification: str | None
    term: str | None  # the glossary term's label
    masking: str | None  # a personal column's masking
    unmasked_for: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ShownRelationship:
    columns: tuple[str, ...]
    product: Address
    references: tuple[str, ...]
    severity: str
    field: str  # where the contract declares it


@dataclass(frozen=True)
class Sla:
    frequency: str | None
    latency: str | None
    schedule: str | None


@dataclass(frozen=True)
class ShownVersion:
    version: int
    published_at: dt.datetime
    rows: int | None
    contract_version: str | None
    run_id: str | None
    partitions: Any
    wrote: str  # the whole table, some partitions, or a cdc build's changed keys
    kept: bool


@dataclass(frozen=True)
class ShownAgreement:
    """A usage agreement of the product, with its state on the day it is shown."""

    id: str
    consumer: str
    purpose: str
    columns: tuple[str, ...]
    clear: tuple[str, ...]
    start: dt.date
    end: dt.date | None
    state: str
    decided_by: str | None
    file: Path


@dataclass(frozen=True)
class PortStorage:
    address: Address
    versions_kept: int
    versions_removed: int
    bytes: int


@dataclass(frozen=True)
class Storage:
    """What a product keeps in storage: the versions and bytes of each of its ports, and the retention in force."""

    retention: dt.timedelta | None = field(metadata={"json_value": describe_duration})
    source: str | None = field(metadata={"json_name": "retention_source"})  # `contract`, `mesh default`; None: none
    ports: tuple[PortStorage, ...]
    json_properties: ClassVar[tuple[str, ...]] = ("retention_seconds", "versions_kept", "versions_removed", "bytes")

    @property
    def retention_seconds(self) -> int | None:
        return int(self.retention.total_seconds()) if self.retention else None

    @property
    def versions_kept(self) -> int:
        return sum(p.versions_kept for p in self.ports)

    @property
    def versions_removed(self) -> int:
        return sum(p.versions_removed for p in self.ports)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.ports)


@dataclass(frozen=True)
class ProductDescription:
    """Everything `mesh show` tells about one product from its contract and its ports."""

    address: Address
    name: str
    domain: str
    version: str
    status: str
    owners: list[str]
    access: str
    consumers: tuple[str, ...]
    tier: str | None
    tags: tuple[str, ...]
    classification: str | None
    purpose: str | None
    usage: str | None
    limitations: str | None
    contract_file: Path
    recipe: str
    columns: tuple[ShownColumn, ...]
    sla: Sla
    relationships: tuple[ShownRelationship, ...]
    referenced_by: list[str]  # products whose relationships reference this one
    freshness: Freshness
    versions: tuple[ShownVersion, ...]
    storage: Storage
    upstream: list[str]
    downstream: list[str]
    agreements: tuple[ShownAgreement, ...]  # its usage agreements, requests and past ones too, newest first


def storage(mesh: MeshView, product: Product, default_retention: dt.timedelta | None = None) -> Storage:
    """The versions and bytes every port of `product` keeps (newest major first), and the retention in force."""
    retention, source = retention_of(product, default_retention)
    assert mesh.ports is not None, "a product's storage is published state: the view reads it"
    ports = []
    for major in range(product.contract.major, -1, -1):
        port = mesh.ports.port(product.address.at_major(major))
        if port.exists():
            versions = port.versions()
            kept = sum(v.kept for v in versions)
            ports.append(PortStorage(port.address, kept, len(versions) - kept, port.stored_bytes()))
    return Storage(retention, source, tuple(ports))


def describe(
    mesh: MeshView, address: Address | str, now: dt.datetime | None = None, default_retention: dt.timedelta | None = None
) -> ProductDescription:
    product = mesh.catalog.product(address)
    contract = product.contract
    published = mesh.versions(product)  # one read of the Delta log, newest first
    terms = {found.column.name: found.label for found in mesh.glossary.column_terms(contract)}
    referenced_by = sorted(
        str(p.address)
        for p in mesh.catalog.products.values()
        if p.address != product.address
        and any(r.product and r.product.unversioned() == product.address for r in p.contract.relationships)
    )
    today = (now or dt.datetime.now(dt.UTC)).date()
    return ProductDescription(
        address=product.address,
        name=contract.name,
        domain=contract.domain,
        version=contract.version,
        status=contract.status,
        owners=contract.owners,
        access=contract.settings.access,
        consumers=tuple(contract.settings.consumers),
        tier=contract.settings.tier,
        tags=tuple(contract.tags),
        classification=contract.classification,
        purpose=contract.purpose,
        usage=contract.usage,
        limitations=contract.limitations,
        contract_file=contract.file,
        recipe=product.recipe_type.rsplit(".", 1)[-1],
        columns=tuple(
            ShownColumn(
                name=c.name,
                type=c.physical_type,
                logical_type=c.logical_type,
                required=c.required or c.primary_key,
                primary_key=c.primary_key,
                unique=c.unique,
                classification=c.classification,
                term=terms.get(c.name),
                masking=c.settings.masking if c.is_personal else None,
                unmasked_for=tuple(c.settings.unmasked_for),
                description=c.description,
            )
            for c in contract.columns
        ),
        sla=Sla(
            frequency=format_duration(contract.frequency.duration) if contract.frequency else None,
            latency=format_duration(contract.latency.duration) if contract.latency else None,
            schedule=contract.cron_schedule,
        ),
        relationships=tuple(
            ShownRelationship(r.columns, r.product or product.address, r.references, r.settings.severity, r.source)
            for r in contract.relationships
        ),
        referenced_by=referenced_by,
        freshness=published_freshness(product, published, now),
        versions=tuple(
            ShownVersion(v.version, v.published_at, v.rows, v.contract_version, v.run_id, v.partitions, _wrote(v), v.kept)
            for v in published
        ),
        storage=storage(mesh, product, default_retention),
        upstream=[str(i.address) for i in product.inputs],
        downstream=[str(p.address) for p in mesh.catalog.downstream(product)],
        agreements=agreements_of(mesh, product, today),
    )


def agreements_of(mesh: MeshView, product: Product, today: dt.date) -> tuple[ShownAgreement, ...]:
    """The product's usage agreements, requests and past ones too, newest first: who reads it, why, until when."""
    return tuple(
        ShownAgreement(a.id, a.consumer, a.purpose, a.columns, a.clear, a.start, a.end, a.state(today), a.decided_by, a.file)
        for a in reversed(mesh.catalog.agreements.of(product.address))
    )


def _wrote(version: PortVersion) -> str:
    """What a version's commit wrote: the whole table, some partitions, or a cdc build's changed keys."""
    if version.partitions:
        return f"partitions {version.partitions}"
    return "changed keys" if version.incremental else "whole table"
