"""The notices the platform sends about a product, each with whom it concerns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mesh_platform.notify.notice import Notice, Recipient
from mesh_platform.notify.recipients import consumers_of, owners_of, recipients_of, recipients_of_consumers, unique

if TYPE_CHECKING:
    from mesh_platform.catalog.agreements import Agreement
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.contract.model import Contract
    from mesh_platform.governance.view import MeshView
    from mesh_platform.lineage.impact import DiffImpact


def check_failed(product: Product, checks: Sequence[tuple[str, str]], run_id: str, view: MeshView) -> Notice:
    """`checks` (name, what it found) of `product` failed in `run_id`: its owners and consumers are told."""
    address = str(product.address)
    consumers = consumers_of(product, view)
    names = ", ".join(name for name, _ in checks)
    text = (
        f"{address} failed its blocking check{'s' if len(checks) > 1 else ''} {names} (run {run_id}): the port was not "
        "replaced, consumers keep reading the version before.\n" + "\n".join(f"- {name}: {found}" for name, found in checks)
    )
    return Notice(
        "check-failed",
        f"{address} failed {names}",
        text,
        address,
        unique([*owners_of(product.contract), *recipients_of_consumers(consumers, view)]),
        {
            "checks": [{"name": name, "description": found} for name, found in checks],
            "run_id": run_id,
            "consumers": [c.principal if c.product is None else str(c.product) for c in consumers],
        },
    )


def late(product: Product, since: dt.datetime, view: MeshView) -> Notice:
    """`product` is older than its freshness SLA allows (Dagster's freshness policy failed at `since`)."""
    address = str(product.address)
    consumers = consumers_of(product, view)
    contract = product.contract
    promised = ", ".join(
        f"{name} {sla.duration}" for name in ("frequency", "latency") if (sla := getattr(contract, name)) is not None
    )
    text = (
        f"{address} is late against its SLA ({promised or 'freshness policy'}) since {since:%Y-%m-%d %H:%M} UTC: "
        "consumers read older data than promised."
    )
    return Notice(
        "late",
        f"{address} is late",
        text,
        address,
        unique([*owners_of(contract), *recipients_of_consumers(consumers, view)]),
        {
            "since": since.isoformat(),
            "sla": promised,
            "consumers": [c.principal if c.product is None else str(c.product) for c in consumers],
        },
    )


def breaking_change(
    product: Product, old: Contract, new: Contract, impact: DiffImpact, served_until: dt.date | None, view: MeshView
) -> Notice | None:
    """A new major of `product` breaks what some consumers read (column lineage): exactly those are told, with the
    date the previous major stops being served. None when no consumer reads what the breaking changes change."""
    broken = [i for i in impact.impacts if i.change.breaking and i.readers]
    readers = list(dict.fromkeys(r.address for i in broken for r in i.readers))
    # Principals reading it under an agreement in force whose columns include what a breaking change changes.
    changed = [i.change.column for i in impact.impacts if i.change.breaking]
    today = dt.datetime.now(dt.UTC).date()
    agreed = list(
        dict.fromkeys(
            a.consumer
            for a in view.catalog.agreements.of(product.address)
            if a.in_force(today) and any(c is None or a.covers(c) for c in changed)
        )
    )
    if not readers and not agreed:
        return None
    address = product.address
    previous = address.at_major(old.major)
    until = f"until {served_until.isoformat()}" if served_until else "until further notice (no end date set)"
    lines = [f"- {i.change.message} → read by {', '.join(str(r) for r in i.readers)}" for i in broken]
    text = (
        f"{address} {new.version} is published as {address.at_major(new.major)}, with changes that break what you read. "
        f"{previous} ({old.version}) stays served {until}: move your products to the new major before then.\n" + "\n".join(lines)
    )
    recipients = unique(
        [
            *(r for a in readers if (reader := view.find(a)) is not None for r in owners_of(reader.contract)),
            *(r for principal in agreed for r in recipients_of(principal, view)),
        ]
    )
    return Notice(
        "breaking-change",
        f"{address} {new.version}: breaking changes you read",
        text,
        str(address),
        recipients,
        {
            "old_version": old.version,
            "new_version": new.version,
            "previous_major": str(previous),
            "served_until": served_until.isoformat() if served_until else None,
            "consumers": [str(a) for a in readers],
            "agreements": agreed,
            "changes": [{"message": i.change.message, "column": i.change.column, "read_by": list(i.readers)} for i in broken],
        },
    )


# Usage agreements (`governance.agreements`): the owner told of a request, the requester of the decision, both of the end.


def access_requested(agreement: Agreement, product: Product, view: MeshView) -> Notice:
    """`agreement` was filed: the product's owners decide it."""
    text = (
        f"{agreement.consumer} asks to read {agreement.product} ({agreement.scope}) {_until(agreement)}, "
        f"for: {agreement.purpose}. Requested by {agreement.requested_by}. Decide it: mesh access approve {agreement.id} "
        f'--as {product.address.domain}, or mesh access deny {agreement.id} --as {product.address.domain} --note "why".'
    )
    return Notice(
        "access-requested",
        f"{agreement.consumer} asks for {agreement.product}",
        text,
        str(agreement.product),
        owners_of(product.contract),
        _agreement_data(agreement),
    )


def access_decided(agreement: Agreement, view: MeshView) -> Notice:
    """`agreement` was approved or denied: the requester is told."""
    approved = agreement.status == "active"
    what = "approved" if approved else "denied"
    text = (
        f"Your request {agreement.id} to read {agreement.product} ({agreement.scope}) was {what} by {agreement.decided_by}"
        + (f": {agreement.note}" if agreement.note else "")
        + "."
        + (f" It is in force from {agreement.start} {_until(agreement)}." if approved else "")
    )
    return Notice(
        "access-approved" if approved else "access-denied",
        f"{agreement.product}: your request was {what}",
        text,
        str(agreement.product),
        requester_of(agreement, view),
        _agreement_data(agreement),
    )


def agreement_ending(agreement: Agreement, product: Product, view: MeshView, today: dt.date) -> Notice:
    """`agreement` ends soon: its consumer and the product's owners are told, so it is renewed or let go on purpose."""
    days = agreement.days_left(today)
    text = (
        f"Agreement {agreement.id} ({agreement.consumer} reads {agreement.product}, {agreement.scope}) ends on {agreement.end}, "
        f"in {days} day{'s' if days != 1 else ''}. To renew it: "
        f'mesh access request {agreement.product} --as {agreement.consumer} --purpose "{agreement.purpose}" --until YYYY-MM-DD.'
    )
    return Notice(
        "agreement-ending",
        f"{agreement.id} ends on {agreement.end}",
        text,
        str(agreement.product),
        unique([*requester_of(agreement, view), *owners_of(product.contract)]),
        _agreement_data(agreement) | {"days_left": days},
    )


def agreement_ended(agreement: Agreement, product: Product, view: MeshView) -> Notice:
    """`agreement` has ended: its consumer's reads under it are denied now; both sides are told."""
    text = (
        f"Agreement {agreement.id} ({agreement.consumer} reads {agreement.product}) ended on {agreement.end}: reads under it are "
        f"denied. Renew it with mesh access request, or take its grant out of the contract: mesh access revoke {agreement.id}."
    )
    return Notice(
        "agreement-ended",
        f"{agreement.id} ended on {agreement.end}",
        text,
        str(agreement.product),
        unique([*requester_of(agreement, view), *owners_of(product.contract)]),
        _agreement_data(agreement),
    )


def requester_of(agreement: Agreement, view: MeshView) -> tuple[Recipient, ...]:
    """Whom to tell for the asking side: the person who asked (when an e-mail address), then the consumer's contacts."""
    person = (Recipient(agreement.requested_by, agreement.requested_by),) if "@" in agreement.requested_by else ()
    return unique([*person, *recipients_of(agreement.consumer, view)])


def _agreement_data(agreement: Agreement) -> dict:
    return {
        "agreement": agreement.id,
        "consumer": agreement.consumer,
        "purpose": agreement.purpose,
        "columns": list(agreement.columns),
        "clear": list(agreement.clear),
        "start": agreement.start.isoformat(),
        "end": agreement.end.isoformat() if agreement.end else None,
        "status": agreement.status,
        "requested_by": agreement.requested_by,
        "decided_by": agreement.decided_by,
    }


def _until(agreement: Agreement) -> str:
    return f"until {agreement.end}" if agreement.end else "with no end date"
