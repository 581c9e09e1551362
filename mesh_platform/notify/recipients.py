"""Who a notice concerns: a product's owners, a principal's contacts, a product's consumers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mesh_platform.core.address import Address
from mesh_platform.notify.notice import Recipient

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.contract.model import Contract
    from mesh_platform.governance.view import MeshView

# Why a consumer counts: it reads the product as an input (and so in its column lineage), checks a foreign key
# against it, is named in its `consumers` (a restricted product's grant), or reads it under a usage agreement in force.
ConsumerReason = Literal["input", "relationship", "consumers", "agreement"]


@dataclass(frozen=True)
class Consumer:
    """A principal reading a product: through one of its own products (`product`), or directly (`product` None)."""

    principal: str
    product: Address | None
    reason: ConsumerReason


def consumers_of(product: Product, view: MeshView) -> tuple[Consumer, ...]:
    """Every consumer of `product` the mesh knows of today: the products reading it (inputs, hence column lineage), the
    products checking a foreign key against it, the principals its contract's `consumers` names, and those reading it
    under a usage agreement in force (agreements are edges of the mesh, beside lineage)."""
    address = product.address.unversioned()
    found: list[Consumer] = [Consumer(p.address.domain, p.address, "input") for p in view.catalog.downstream(product)]
    reading = {c.product for c in found}
    for other in sorted(view.catalog.products.values(), key=lambda p: p.address):
        if (
            other.address != address
            and other.address not in reading
            and any(r.product is not None and r.product.unversioned() == address for r in other.contract.relationships)
        ):
            found.append(Consumer(other.address.domain, other.address, "relationship"))
    found += [Consumer(name, None, "consumers") for name in product.contract.settings.consumers]
    today = dt.datetime.now(dt.UTC).date()
    named = {c.principal for c in found if c.product is None}
    for agreement in view.catalog.agreements.of(address):
        if agreement.in_force(today) and agreement.consumer not in named:
            named.add(agreement.consumer)
            found.append(Consumer(agreement.consumer, None, "agreement"))
    return tuple(found)


def owners_of(contract: Contract) -> tuple[Recipient, ...]:
    """A product's owners as its Dagster asset names them: its team (`team:<name>`), then its owners' e-mails."""
    return tuple(Recipient(owner, owner if "@" in owner else None) for owner in contract.owners)


def recipients_of(principal: str, view: MeshView) -> tuple[Recipient, ...]:
    """Whom to tell about `principal`: for a domain, the owners of its products' contracts; for a declared principal,
    its owner's (a domain's owners, a team, an e-mail). A name the mesh does not know has no one (notices never fail)."""
    if principal in view.catalog.domains:
        return unique(
            r for p in sorted(view.catalog.in_domain(principal), key=lambda p: p.address) for r in owners_of(p.contract)
        )
    declared = view.readers.declared.get(principal)
    if declared is None:
        return ()
    owner = declared.owner
    if owner in view.catalog.domains:
        return recipients_of(owner, view)
    return (Recipient(owner, owner if "@" in owner else None),)


def recipients_of_consumers(consumers: Iterable[Consumer], view: MeshView) -> tuple[Recipient, ...]:
    """Whom to tell for each consumer: a consuming product's owners, else the principal's contacts."""
    found: list[Recipient] = []
    for consumer in consumers:
        reading = view.find(consumer.product) if consumer.product is not None else None
        found += owners_of(reading.contract) if reading is not None else recipients_of(consumer.principal, view)
    return unique(found)


def unique(recipients: Iterable[Recipient]) -> tuple[Recipient, ...]:
    """Each recipient once (by name), in the order first met."""
    seen: dict[str, Recipient] = {}
    for recipient in recipients:
        seen.setdefault(recipient.name, recipient)
    return tuple(seen.values())
