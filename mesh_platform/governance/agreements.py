"""Usage agreements at work: asked for, decided, enforced on every read, checked by `mesh check`.

The model and the files are `catalog.agreements`; this module is what the mesh does with them:

- `request_access` files a consumer's request; `approve`, `deny` and `revoke` are the owning domain's decisions
  (approving writes the grant into the product's contract, `governance.contract_grants`; revoking takes it out).
- `within_agreements` is the read path's rule: a contract that lists agreements of a consumer (custom property
  `agreements`) grants that consumer only while one of them is in force, only the columns they cover and, in clear,
  only the columns they grant so. A grant no agreement backs (public products, grants written by hand) works as
  before; `mesh access audit` lists the reads made under such grants.
- `agreement_violations` is `mesh check`'s: agreements ending soon (a warning), contract grants whose agreement has
  ended or was revoked (an error), and agreement files that cannot be read or name what does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from mesh_platform.catalog.agreements import Agreement, Agreements, agreements_folder, decided, new_id
from mesh_platform.catalog.catalog import Catalog
from mesh_platform.contract.model import Contract
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AccessDeniedError, AddressError, MeshError
from mesh_platform.governance.access import ReadDecision
from mesh_platform.governance.contract_grants import remove_grant, write_grant
from mesh_platform.governance.policies import Violation
from mesh_platform.governance.principals import Principals

POLICY = "mesh.agreements"


class AgreementDeniedError(AccessDeniedError):
    """A read outside every agreement in force: it ended, was revoked, or does not cover a column."""

    def __init__(self, message: str, agreement: Agreement):
        super().__init__(message)
        self.agreement = agreement


# The read path.


def agreements_of_reader(contract: Contract, agreements: Agreements, consumer: str | None) -> list[Agreement]:
    """The agreements the contract lists (custom property `agreements`) that are `consumer`'s, on this product."""
    if consumer is None or consumer == contract.domain:
        return []
    return [
        a
        for a in agreements.referenced(contract.settings.agreements)
        if a.consumer == consumer and a.product == contract.address.unversioned()
    ]


def within_agreements(decision: ReadDecision, contract: Contract, agreements: Agreements, today: dt.date) -> ReadDecision:
    """`decision` (what the contract grants) narrowed to the consumer's agreements in force (see the module)."""
    backing = agreements_of_reader(contract, agreements, decision.consumer)
    if not backing:
        return decision
    in_force = [a for a in backing if a.in_force(today)]
    if not in_force:
        latest = max(backing, key=_latest)
        raise AgreementDeniedError(ended_message(latest, contract, today), latest)
    covered = _covered(contract, in_force)
    clear_granted = {c for a in in_force for c in a.clear}
    clear = tuple(c for c in decision.clear if c in clear_granted)
    unclear = [c for c in decision.clear if c not in clear_granted]  # in the contract's unmaskedFor, not in an agreement
    by_name = {c.name: c for c in contract.columns}
    hashed = [*decision.hashed, *(c for c in unclear if by_name[c].settings.masking != "drop")]
    dropped = [*decision.dropped, *(c for c in unclear if by_name[c].settings.masking == "drop")]
    dropped += [c.name for c in contract.columns if c.name not in covered and c.name not in dropped]
    hashed = [c for c in hashed if c in covered]
    clear = tuple(c for c in clear if c in covered)
    return replace(decision, hashed=tuple(hashed), dropped=tuple(dropped), clear=clear)


def uncovered_column(
    contract: Contract, consumer: str, column: str, agreements: Agreements, today: dt.date
) -> AgreementDeniedError | None:
    """The denial of a read of `column` (one of the contract's) that `consumer`'s agreements in force do not cover;
    None when they cover it, or when no agreement governs the consumer's reads."""
    in_force = [a for a in agreements_of_reader(contract, agreements, consumer) if a.in_force(today)]
    if not in_force or column not in {c.name for c in contract.columns} or column in (covered := _covered(contract, in_force)):
        return None
    agreement = in_force[0]
    return AgreementDeniedError(
        f"access denied: {consumer} may not read {column} of {contract.address}: its agreement {agreement.id} covers "
        f"{', '.join(sorted(covered))} only — ask for it: mesh access request {contract.address} --as {consumer} "
        f'--purpose "…" --columns {",".join(sorted({*covered, column}))}',
        agreement,
    )


def _covered(contract: Contract, in_force: list[Agreement]) -> set[str]:
    if any(not a.columns for a in in_force):
        return {c.name for c in contract.columns}
    return {c for a in in_force for c in a.columns}


def ended_message(agreement: Agreement, contract: Contract, today: dt.date) -> str:
    """Why a read under `agreement` is refused now, and how to renew it."""
    state = agreement.state(today)
    if state == "ended":
        why = f"its agreement {agreement.id} ended on {agreement.end}"
    elif state == "revoked":
        why = f"its agreement {agreement.id} was revoked by {agreement.decided_by}" + (
            f" ({agreement.note})" if agreement.note else ""
        )
    else:  # not started
        why = f"its agreement {agreement.id} starts on {agreement.start}"
    owners = ", ".join(contract.owners)
    return (
        f"access denied: {agreement.consumer} may not read {agreement.product}: {why} ({agreement.file}) — to renew it, "
        f'mesh access request {agreement.product} --as {agreement.consumer} --purpose "{agreement.purpose}" --until YYYY-MM-DD, '
        f"for its owner ({owners}) to approve"
    )


def _latest(agreement: Agreement) -> tuple:
    return (agreement.end or dt.date.max, agreement.requested_at)


# Requests and decisions.


@dataclass(frozen=True)
class AccessRequest:
    """What a consumer asks for (`mesh access request`)."""

    product: Address
    consumer: str
    purpose: str
    columns: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()
    until: dt.date | None = None


def request_access(
    catalog: Catalog, principals: Principals, request: AccessRequest, requested_by: str, now: dt.datetime
) -> Agreement:
    """File the request in the consumer's folder; `MeshError` names what cannot be asked for and what to do."""
    product = catalog.product(request.product)  # an unknown product: AddressError naming the products there are
    contract = product.contract
    address = product.address
    principals.get(request.consumer)
    if request.consumer == address.domain:
        raise MeshError(f"{request.consumer} owns {address}: its own domain reads it without an agreement")
    if not request.purpose.strip():
        raise MeshError("--purpose: say what the data is for (an agreement records why access was given)")
    names = {c.name: c for c in contract.columns}
    if unknown := [c for c in (*request.columns, *request.clear) if c not in names]:
        raise MeshError(f"{contract.file}: {address} has no column {', '.join(unknown)} — its columns: {', '.join(names)}")
    if not_personal := [c for c in request.clear if not names[c].is_personal]:
        raise MeshError(f"--clear {' '.join(not_personal)}: not personal in {address}, so every reader sees it in clear already")
    if request.columns and (uncovered := [c for c in request.clear if c not in request.columns]):
        raise MeshError(f"--clear {' '.join(uncovered)}: ask for the column too (--columns)")
    today = now.date()
    if request.until is not None and request.until < today:
        raise MeshError(f"--until {request.until}: that day has passed (today is {today}) — give a later end date")
    if waiting := [a for a in catalog.agreements.of(address, request.consumer) if a.status == "requested"]:
        raise MeshError(
            f"{request.consumer} already asked for {address}: request {waiting[0].id} waits for its owner "
            f"({', '.join(contract.owners)}) — {waiting[0].file}"
        )
    agreement_id = new_id(request.consumer, address)
    folder = agreements_folder(catalog.root, request.consumer, catalog.domains)
    agreement = Agreement(
        id=agreement_id,
        product=address.unversioned(),
        consumer=request.consumer,
        purpose=request.purpose.strip(),
        columns=request.columns,
        clear=request.clear,
        start=today,
        end=request.until,
        status="requested",
        requested_by=requested_by,
        requested_at=now,
        file=folder / f"{agreement_id}.yaml",
    )
    agreement.write()
    return agreement


def approve(
    catalog: Catalog,
    agreement_id: str,
    owner: str,
    person: str,
    now: dt.datetime,
    until: dt.date | None = None,
    note: str | None = None,
) -> Agreement:
    """Approve a request as `owner` (the product's domain): the grant written into the contract, the agreement active."""
    agreement, contract = _decidable(catalog, agreement_id, owner, "approve", ("requested",))
    today = now.date()
    end = until if until is not None else agreement.end
    if end is not None and end < today:
        raise MeshError(f"--until {end}: that day has passed (today is {today}) — give a later end date")
    approved = decided(replace(agreement, start=today), "active", f"{owner} ({person})", now, note, end)
    write_grant(contract.file, agreement.consumer, agreement.clear, agreement.id)
    approved.write()
    return approved


def deny(catalog: Catalog, agreement_id: str, owner: str, person: str, now: dt.datetime, note: str) -> Agreement:
    """Deny a request as `owner`, saying why (`note`)."""
    if not note or not note.strip():
        raise MeshError("--note: say why the request is denied (the requester reads it)")
    agreement, _ = _decidable(catalog, agreement_id, owner, "deny", ("requested",))
    denied = decided(agreement, "denied", f"{owner} ({person})", now, note.strip())
    denied.write()
    return denied


def revoke(catalog: Catalog, agreement_id: str, owner: str, person: str, now: dt.datetime, note: str | None = None) -> Agreement:
    """Revoke an approved agreement as `owner`: its grant taken out of the contract (what another agreement of the
    same consumer in force grants stays)."""
    agreement, contract = _decidable(catalog, agreement_id, owner, "revoke", ("active",))
    today = now.date()
    others = [
        a
        for a in agreements_of_reader(contract, catalog.agreements, agreement.consumer)
        if a.id != agreement.id and a.in_force(today)
    ]
    keep_clear = tuple(sorted({c for a in others for c in a.clear}))
    remove_grant(
        contract.file, agreement.consumer, agreement.clear, agreement.id, keep_reading=bool(others), keep_clear=keep_clear
    )
    revoked = decided(agreement, "revoked", f"{owner} ({person})", now, note)
    revoked.write()
    return revoked


def _decidable(
    catalog: Catalog, agreement_id: str, owner: str, what: str, statuses: tuple[str, ...]
) -> tuple[Agreement, Contract]:
    agreement = catalog.agreements.get(agreement_id)
    if agreement.product.domain != owner:
        raise MeshError(
            f"{owner} may not {what} {agreement.id}: {agreement.product} is the {agreement.product.domain} domain's — "
            f"run it as {agreement.product.domain} (its owner decides)"
        )
    if agreement.status not in statuses:
        done = f"{agreement.status} by {agreement.decided_by}" if agreement.decided_by else agreement.status
        raise MeshError(f"{agreement.id} is {done}: only {' or '.join(statuses)} agreements can be {what}d")
    contract = catalog.product(agreement.product).contract
    return agreement, contract


# mesh check.


def agreement_violations(catalog: Catalog, principals: Principals, today: dt.date, warning_days: int) -> list[Violation]:
    """What `mesh check` reports of the mesh's agreements (see the module)."""
    agreements = catalog.agreements
    found = [
        Violation(
            POLICY, "error", "(agreements)", p.file, p.line, f"{p.field or 'document'}: {p.message}", p.fix or "fix the file"
        )
        for p in agreements.problems
    ]
    for written in agreements:
        where = str(written.product)
        if written.product not in {a.unversioned() for a in catalog.products}:
            found.append(
                Violation(
                    POLICY,
                    "error",
                    where,
                    written.file,
                    None,
                    f"agreement {written.id} names no product of the mesh",
                    "correct product: or delete the file",
                )
            )
        elif written.consumer not in principals:
            found.append(
                Violation(POLICY, "error", where, written.file, None, principals.unknown(written.consumer), "or delete the file")
            )
    for product in sorted(catalog.products.values(), key=lambda p: p.address):
        contract = product.contract
        line = contract.source.line_of(("customProperties",))
        for agreement_id in contract.settings.agreements:
            agreement = agreements.by_id.get(agreement_id)
            if agreement is None:
                found.append(
                    Violation(
                        POLICY,
                        "error",
                        str(product.address),
                        contract.file,
                        line,
                        f"agreements: no agreement '{agreement_id}' in the mesh",
                        "restore its file, or remove the id and the grant it gave",
                    )
                )
                continue
            state = agreement.state(today)
            if state in ("ended", "revoked", "denied", "requested"):
                said = {
                    "ended": f"ended on {agreement.end}",
                    "revoked": "was revoked",
                    "denied": "was denied",
                    "requested": "is not approved",
                }[state]
                found.append(
                    Violation(
                        POLICY,
                        "error",
                        str(product.address),
                        contract.file,
                        line,
                        f"agreements: {agreement.consumer}'s grant comes from agreement {agreement.id}, which {said}",
                        f"renew it (mesh access request … --as {agreement.consumer}, then approve) or take the grant out "
                        f"(mesh access revoke {agreement.id})",
                    )
                )
            elif state == "active" and (left := agreement.days_left(today)) is not None and left <= warning_days:
                found.append(
                    Violation(
                        POLICY,
                        "warning",
                        str(product.address),
                        agreement.file,
                        None,
                        f"agreement {agreement.id} ({agreement.consumer} reads {agreement.product}) ends on {agreement.end}, "
                        f"in {left} day{'s' if left != 1 else ''}",
                        f"{agreement.consumer} renews it with mesh access request, or it ends then",
                    )
                )
    return found


# mesh access audit.


@dataclass(frozen=True)
class UnagreedReads:
    """A consumer's granted reads of another domain's product with no agreement in force."""

    consumer: str
    product: Address
    access: str | None  # the product's access level (None: no longer in the mesh)
    reads: int
    last_at: str
    clear: list[str]  # the columns read in clear


@dataclass(frozen=True)
class UnusedAgreement:
    id: str
    consumer: str
    product: Address
    end: dt.date | None
    state: str


@dataclass(frozen=True)
class EndedGrant:
    """A contract's grant whose agreement ended or was revoked."""

    id: str
    consumer: str
    product: Address
    state: str
    end: dt.date | None
    contract: Path


@dataclass(frozen=True)
class Audit:
    """What the access log says of the agreements over a window (`mesh access audit`)."""

    since: dt.datetime = field(metadata={"json_value": lambda moment: moment.isoformat(timespec="seconds")})
    # (consumer, product) read across domains, granted, with no agreement in force
    without_agreement: list[UnagreedReads] = field(metadata={"json_name": "reads_without_agreement"})
    # agreements in force in the window that no read used
    unused: list[UnusedAgreement] = field(metadata={"json_name": "unused_agreements"})
    ended_grants: list[EndedGrant] = field(metadata={"json_name": "grants_of_ended_agreements"})


def audit(catalog: Catalog, reads: list, since: dt.datetime, today: dt.date) -> Audit:
    """Audit `reads` (the access log's `AccessRecord`s) made since `since` against the mesh's agreements."""
    agreements = catalog.agreements
    granted: dict[tuple[str, Address], list] = {}
    for read in reads:
        if read.outcome != "granted" or dt.datetime.fromisoformat(read.at) < since:
            continue
        try:
            product = Address.parse(read.product).unversioned()
        except AddressError:  # a read of an address that never was one (it was denied as such)
            continue
        if product.domain != read.consumer:
            granted.setdefault((read.consumer, product), []).append(read)
    without = []
    for (consumer, product), found in sorted(granted.items(), key=lambda item: (str(item[0][1]), item[0][0])):
        covering = [a for a in agreements.of(product, consumer) if a.status == "active" and a.start <= today]
        if not covering:
            access = catalog.product(product).contract.settings.access if product in catalog.products else None
            without.append(
                UnagreedReads(consumer, product, access, len(found), found[-1].at, sorted({c for r in found for c in r.clear}))
            )
    unused = []
    for agreement in sorted(agreements, key=lambda a: a.id):
        overlaps = (
            agreement.status == "active" and agreement.start <= today and (agreement.end is None or agreement.end >= since.date())
        )
        if overlaps and not granted.get((agreement.consumer, agreement.product)):
            unused.append(
                UnusedAgreement(agreement.id, agreement.consumer, agreement.product, agreement.end, agreement.state(today))
            )
    ended = []
    for granting in sorted(catalog.products.values(), key=lambda p: p.address):
        for agreement in agreements.referenced(granting.contract.settings.agreements):
            if agreement.state(today) in ("ended", "revoked"):
                ended.append(
                    EndedGrant(
                        agreement.id,
                        agreement.consumer,
                        granting.address,
                        agreement.state(today),
                        agreement.end,
                        granting.contract.file,
                    )
                )
    return Audit(since, without, unused, ended)
