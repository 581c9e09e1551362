"""Batches: the products of one domain that one Dagster run builds, planned in the order domains read each other."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from dataclasses import dataclass

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.core.address import Address


@dataclass(frozen=True)
class Batch:
    """Products of one domain that can run together in one Dagster run."""

    domain: str
    products: tuple[Product, ...]
    partitions: tuple[str, str] | None = None  # the first and last partition key its partitioned products build

    @property
    def asset_keys(self) -> list[str]:
        return ["/".join(p.address.asset_key_path) for p in self.products]


def plan_batches(catalog: Catalog, selection: Iterable[Address]) -> list[Batch]:
    """Split the selection into per-domain runs, each after the runs it depends on: one run per
    domain, in the order domains read each other (where domains read each other in a circle, a
    domain's products are split over several runs)."""
    ordered = catalog.ordered(selection)
    selected = {p.address for p in ordered}
    reads: dict[str, set[str]] = {p.address.domain: set() for p in ordered}
    for product in ordered:
        reads[product.address.domain] |= {
            i.address.domain
            for i in product.inputs
            if i.address.unversioned() in selected and i.address.domain != product.address.domain
        }
    try:
        domains = list(graphlib.TopologicalSorter(reads).static_order())
    except graphlib.CycleError:
        return batches_in_rounds(ordered)
    return [Batch(domain, tuple(p for p in ordered if p.address.domain == domain)) for domain in domains]


def batches_in_rounds(remaining: list[Product]) -> list[Batch]:
    """Batches when domains depend on each other in a circle: each run takes what is ready."""
    selected = {p.address for p in remaining}
    done: set[Address] = set()
    batches = []
    while remaining:
        domain = remaining[0].address.domain  # the first in dependency order is always ready
        taken: list[Product] = []
        for product in remaining:
            if product.address.domain != domain:
                continue
            upstream = {i.address.unversioned() for i in product.inputs}
            pending = upstream & selected - done - {p.address for p in taken}
            if not pending:
                taken.append(product)
        batches.append(Batch(domain, tuple(taken)))
        done |= {p.address for p in taken}
        remaining = [p for p in remaining if p.address not in done]
    return batches


def batch_dependencies(batches: list[Batch]) -> list[set[int]]:
    """For each batch, the earlier batches it must wait for: those it reads from, and its own domain's."""
    producer = {p.address: index for index, batch in enumerate(batches) for p in batch.products}
    after: list[set[int]] = []
    for index, batch in enumerate(batches):
        reads = {
            producer[i.address.unversioned()] for p in batch.products for i in p.inputs if i.address.unversioned() in producer
        }
        same_domain = {other for other in range(index) if batches[other].domain == batch.domain}  # one writer per domain file
        after.append((reads | same_domain) - {index})
    return after


def failed_upstream(product: Product, failed: set[Address]) -> set[Address]:
    return {i.address.unversioned() for i in product.inputs} & failed
