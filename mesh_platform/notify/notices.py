"""The notices the platform sends about a product, each with whom it concerns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mesh_platform.notify.notice import Notice
from mesh_platform.notify.recipients import consumers_of, owners_of, recipients_of_consumers, unique

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.contract.model import Contract
    from mesh_platform.governance.view import MeshView
    from mesh_platform.lineage.impact import DiffImpact


def check_failed(product: Product, checks: Sequence[tuple[str, str]], run_id: str, view: MeshView) -> Notice:
    """`checks` (name, what it found) of `product` failed in `run_id`: its owners and consumers are told."""
    address = str(product.address)
    consumers = consumers_of(product, view)
    names = ", ".join(name for name, _ in checks)
    text = (f"{address} failed its blocking check{'s' if len(checks) > 1 else ''} {names} (run {run_id}): the port was not "
            "replaced, consumers keep reading the version before.\n" + "\n".join(f"- {name}: {found}" for name, found in checks))
    return Notice(
        "check-failed", f"{address} failed {names}", text, address,
        unique([*owners_of(product.contract), *recipients_of_consumers(consumers, view)]),
        {"checks": [{"name": name, "description": found} for name, found in checks], "run_id": run_id,
         "consumers": [c.principal if c.product is None else str(c.product) for c in consumers]},
    )


def late(product: Product, since: dt.datetime, view: MeshView) -> Notice:
    """`product` is older than its freshness SLA allows (Dagster's freshness policy failed at `since`)."""
    address = str(product.address)
    consumers = consumers_of(product, view)
    contract = product.contract
    promised = ", ".join(f"{name} {sla.duration}" for name in ("frequency", "latency") if (sla := getattr(contract, name)) is not None)
    text = f"{address} is late against its SLA ({promised or 'freshness policy'}) since {since:%Y-%m-%d %H:%M} UTC: consumers read older data than promised."
    return Notice(
        "late", f"{address} is late", text, address,
        unique([*owners_of(contract), *recipients_of_consumers(consumers, view)]),
        {"since": since.isoformat(), "sla": promised, "consumers": [c.principal if c.product is None else str(c.product) for c in consumers]},
    )


def breaking_change(product: Product, old: Contract, new: Contract, impact: DiffImpact, served_until: dt.date | None, view: MeshView) -> Notice | None:
    """A new major of `product` breaks what some consumers read (column lineage): exactly those are told, with the
    date the previous major stops being served. None when no consumer reads what the breaking changes change."""
    broken = [i for i in impact.impacts if i.change.breaking and i.readers]
    readers = list(dict.fromkeys(r.address for i in broken for r in i.readers))
    if not readers:
        return None
    address = product.address
    previous = address.at_major(old.major)
    until = f"until {served_until.isoformat()}" if served_until else "until further notice (no end date set)"
    lines = [f"- {i.change.message} → read by {', '.join(str(r) for r in i.readers)}" for i in broken]
    text = (f"{address} {new.version} is published as {address.at_major(new.major)}, with changes that break what you read. "
            f"{previous} ({old.version}) stays served {until}: move your products to the new major before then.\n" + "\n".join(lines))
    recipients = unique(r for a in readers if (reader := view.find(a)) is not None for r in owners_of(reader.contract))
    return Notice(
        "breaking-change", f"{address} {new.version}: breaking changes you read", text, str(address), recipients,
        {"old_version": old.version, "new_version": new.version, "previous_major": str(previous),
         "served_until": served_until.isoformat() if served_until else None, "consumers": [str(a) for a in readers],
         "changes": [{"message": i.change.message, "column": i.change.column, "read_by": [r.to_json() for r in i.readers]} for i in broken]},
    )
