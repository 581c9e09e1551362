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
from typing import Any

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
    freshness: Freshness
    matched: tuple[str, ...] = ()  # where the search text was found

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "owner": self.owner,
            "access": self.access,
            "status": self.status,
            "description": self.description,
            "freshness": self.freshness.state,
            "last_update": self.freshness.last_update.isoformat() if self.freshness.last_update else None,
            "matched": list(self.matched),
        }


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


@dataclass
class ProductDescription:
    """Everything `mesh show` tells about one product."""

    product: Product
    freshness: Freshness
    versions: list[dict[str, Any]]
    upstream: list[str]
    downstream: list[str]
    terms: dict[str, str] = field(default_factory=dict)  # column → term label
    referenced_by: list[str] = field(default_factory=list)  # products whose relationships reference this one
    storage: Storage | None = None
    agreements: list[dict[str, Any]] = field(default_factory=list)  # its usage agreements, with their state then

    def to_json(self) -> dict[str, Any]:
        contract = self.product.contract
        return {
            "agreements": self.agreements,
            "address": str(self.product.address),
            "name": contract.name,
            "domain": contract.domain,
            "version": contract.version,
            "status": contract.status,
            "owners": contract.owners,
            "access": contract.settings.access,
            "consumers": list(contract.settings.consumers),
            "tier": contract.settings.tier,
            "tags": list(contract.tags),
            "classification": contract.classification,
            "purpose": contract.purpose,
            "usage": contract.usage,
            "limitations": contract.limitations,
            "contract_file": str(contract.file),
            "recipe": self.product.recipe_type.rsplit(".", 1)[-1],
            "columns": [
                {
                    "name": c.name,
                    "type": c.physical_type,
                    "logical_type": c.logical_type,
                    "required": c.required or c.primary_key,
                    "primary_key": c.primary_key,
                    "unique": c.unique,
                    "classification": c.classification,
                    "term": self.terms.get(c.name),
                    "masking": (c.settings.masking if c.is_personal else None),
                    "unmasked_for": list(c.settings.unmasked_for),
                    "description": c.description,
                }
                for c in contract.columns
            ],
            "sla": {
                "frequency": format_duration(contract.frequency.duration) if contract.frequency else None,
                "latency": format_duration(contract.latency.duration) if contract.latency else None,
                "schedule": contract.cron_schedule,
            },
            "relationships": [
                {
                    "columns": list(r.columns),
                    "product": str(r.product or self.product.address),
                    "references": list(r.references),
                    "severity": r.settings.severity,
                    "field": r.source,
                }
                for r in contract.relationships
            ],
            "referenced_by": self.referenced_by,
            "freshness": self.freshness.to_json(),
            "versions": self.versions,
            "storage": self.storage.to_json() if self.storage else None,
            "upstream": self.upstream,
            "downstream": self.downstream,
        }


@dataclass(frozen=True)
class Storage:
    """What a product keeps in storage: the versions and bytes of each of its ports, and the retention in force."""

    retention: dt.timedelta | None
    source: str | None  # `contract`, `mesh default`; None: no retention, every version stays
    ports: list[dict[str, Any]]  # address, versions_kept, versions_removed, bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "retention": describe_duration(self.retention) if self.retention else None,
            "retention_seconds": int(self.retention.total_seconds()) if self.retention else None,
            "retention_source": self.source,
            "versions_kept": sum(p["versions_kept"] for p in self.ports),
            "versions_removed": sum(p["versions_removed"] for p in self.ports),
            "bytes": sum(p["bytes"] for p in self.ports),
            "ports": self.ports,
        }


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
            removed, stored = len(versions) - kept, port.stored_bytes()
            ports.append({"address": str(port.address), "versions_kept": kept, "versions_removed": removed, "bytes": stored})
    return Storage(retention, source, ports)


def describe(
    mesh: MeshView, address: Address | str, now: dt.datetime | None = None, default_retention: dt.timedelta | None = None
) -> ProductDescription:
    product = mesh.catalog.product(address)
    published = mesh.versions(product)  # one read of the Delta log, newest first
    versions = [
        {
            "version": v.version,
            "published_at": v.published_at.isoformat(),
            "rows": v.rows,
            "contract_version": v.contract_version,
            "run_id": v.run_id,
            "partitions": v.partitions,
            "wrote": _wrote(v),
            "kept": v.kept,
        }
        for v in published
    ]
    downstream = [str(p.address) for p in mesh.catalog.downstream(product)]
    terms = {found.column.name: found.label for found in mesh.glossary.column_terms(product.contract)}
    referenced_by = sorted(
        str(p.address)
        for p in mesh.catalog.products.values()
        if p.address != product.address
        and any(r.product and r.product.unversioned() == product.address for r in p.contract.relationships)
    )
    return ProductDescription(
        product=product,
        freshness=published_freshness(product, published, now),
        versions=versions,
        upstream=[str(i.address) for i in product.inputs],
        downstream=downstream,
        terms=terms,
        referenced_by=referenced_by,
        storage=storage(mesh, product, default_retention),
        agreements=agreements_of(mesh, product, (now or dt.datetime.now(dt.UTC)).date()),
    )


def agreements_of(mesh: MeshView, product: Product, today: dt.date) -> list[dict[str, Any]]:
    """The product's usage agreements, requests and past ones too, newest first: who reads it, why, until when."""
    agreements = mesh.catalog.agreements.of(product.address)
    return [
        {
            "id": a.id,
            "consumer": a.consumer,
            "purpose": a.purpose,
            "columns": list(a.columns),
            "clear": list(a.clear),
            "start": a.start.isoformat(),
            "end": a.end.isoformat() if a.end else None,
            "state": a.state(today),
            "decided_by": a.decided_by,
            "file": str(a.file),
        }
        for a in reversed(agreements)
    ]


def _wrote(version: PortVersion) -> str:
    """What a version's commit wrote: the whole table, some partitions, or a cdc build's changed keys."""
    if version.partitions:
        return f"partitions {version.partitions}"
    return "changed keys" if version.incremental else "whole table"
