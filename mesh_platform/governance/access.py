"""Who may read a product, and what they see of it.

Access level (contract `customProperties`):
  public      any principal, and readers naming none;
  restricted  the owning domain and the principals listed in `consumers` (domains, or consumers
              declared in the principals file: `governance.principals`);
  internal    the owning domain only.

Status (ODCS): a `draft` (or `proposed`) product is not published yet, and a `retired` one no longer
is: whatever its access level, only its own domain reads it. A port version published while the product
was a draft stays its domain's too, until a build publishes it as active.

Masking: a column classified `personal` or `sensitive` is published as a keyed token —
SHA-256 of the mesh secret and the value, so equal values still join — and reaches a
reader outside the owning domain as that token or, per the column's `masking` custom
property (`hash`, the default, or `drop`), not at all. The owning domain, and the
principals a column's `unmaskedFor` custom property names, see the clear value, which the
platform joins back from the domain's vault (`storage.vault`).

Enforced where data is read: every port read by a build, by `read_product` and by
query commands goes through `decide` (see `governance.reads`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.contract.model import PERSONAL_CLASSIFICATIONS, Contract
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AccessDeniedError, MeshError

CONSUMER_ENV = "MESH_CONSUMER"
OUTSIDER = "a reader outside every principal"  # a read naming no principal: public products only


@dataclass(frozen=True)
class ReadDecision:
    """A granted read: who reads what, and which personal columns they see how."""

    address: Address
    consumer: str | None  # None: a reader outside every domain
    owner: str
    version: int | None = None
    hashed: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()  # personal columns this consumer sees in clear: the owner, or by the contract's grant

    @property
    def cross_domain(self) -> bool:
        return self.consumer != self.owner

    @property
    def consumer_label(self) -> str:
        return self.consumer or "(no domain)"


def decide(contract: Contract, consumer: str | None, address: Address | None = None) -> ReadDecision:
    """Whether `consumer` may read the product and how its personal columns reach them.

    Raises `AccessDeniedError` naming the product, the consumer and whom to ask."""
    address = address or contract.address
    owner = contract.domain
    if consumer == owner:
        return ReadDecision(address, consumer, owner, clear=tuple(c.name for c in contract.columns if c.is_personal))
    if not may_read(contract, consumer):
        raise AccessDeniedError(denial_message(contract, consumer, address))
    hashed, dropped, clear = [], [], []
    for column in contract.columns:
        if not column.is_personal:
            continue
        if consumer is not None and consumer in column.settings.unmasked_for:
            clear.append(column.name)
        elif column.settings.masking == "drop":
            dropped.append(column.name)
        else:
            hashed.append(column.name)
    return ReadDecision(address, consumer, owner, hashed=tuple(hashed), dropped=tuple(dropped), clear=tuple(clear))


def may_read(contract: Contract, consumer: str | None) -> bool:
    """May `consumer` (None = no domain) read the product at all: its status, then its access level?"""
    if consumer == contract.domain:
        return True
    return not owner_only(contract) and granted_by_access(contract, consumer)


def granted_by_access(contract: Contract, consumer: str | None) -> bool:
    """The access level alone (what a draft grants once it is published)."""
    if consumer == contract.domain or contract.settings.access == "public":
        return True
    return contract.settings.access == "restricted" and consumer in contract.settings.consumers


def owner_only(contract: Contract) -> bool:
    """Whether the product's status keeps every other domain out: a draft, or retired."""
    return contract.is_draft or contract.status == "retired"


def unpublished_reason(contract: Contract) -> str:
    """Why a draft or retired product is its own domain's only, and what its owner does about it (one clause each)."""
    owners = ", ".join(contract.owners)
    if contract.is_draft:
        return (
            f"it is a draft (status: {contract.status}), read by the {contract.domain} domain only until it is published; "
            f"its owner ({owners}) publishes it by setting status: active in {contract.file}"
        )
    return (
        f"it is retired (status: retired): only the {contract.domain} domain reads it now; "
        f"ask its owner ({owners}) what replaces it"
    )


def denial_message(contract: Contract, consumer: str | None, address: Address | None = None) -> str:
    """Why `consumer` may not read the product, in one line: the product, the principal, the grant that is
    missing, and whom to ask (the contract's owners)."""
    address = address or contract.address
    who = consumer or OUTSIDER
    if owner_only(contract):
        return f"access denied: {who} may not read {address}: {unpublished_reason(contract)}"
    owners = ", ".join(contract.owners)
    if consumer is None:
        level = (
            f"internal to the {contract.domain} domain"
            if contract.settings.access == "internal"
            else f"restricted to {', '.join([contract.domain, *contract.settings.consumers])}"
        )
        return (
            f"access denied: {who} may not read {address}: it is {level}; read as a principal it grants "
            f"(mesh query --as NAME, read_product(consumer=…) or {CONSUMER_ENV}), or ask its owner ({owners})"
        )
    if contract.settings.access == "internal":
        missing = f"it is internal to the {contract.domain} domain, and {consumer} is not in consumers of {address}"
        grant = f"make it restricted to {consumer} (customProperties access: restricted, consumers: [{consumer}])"
    else:
        readers = ", ".join([contract.domain, *contract.settings.consumers])
        missing = f"{consumer} is not in consumers of {address} (restricted to {readers})"
        grant = f"add {consumer} to its customProperties consumers"
    return (
        f"access denied: {consumer} may not read {address}: {missing}; to request access, ask its owner ({owners}) to "
        f"{grant} in {contract.file}"
    )


def clear_denial_message(contract: Contract, consumer: str | None, column: str, address: Address | None = None) -> str:
    """Why `consumer` may not see `column` of the product in clear (the store refusing the vault, say), in one line."""
    address = address or contract.address
    who = consumer or OUTSIDER
    owners = ", ".join(contract.owners)
    ask = (
        f"ask its owner ({owners}) to add {consumer} to unmaskedFor of column {column} in {contract.file}"
        if consumer
        else f"read as a principal it grants in clear, or ask its owner ({owners})"
    )
    return (
        f"access denied: {who} may not read {column} of {address} in clear: {column} is not unmaskedFor {who}; to "
        f"request access, {ask}"
    )


def draft_version_message(contract: Contract, consumer: str | None, address: Address, version: int) -> str:
    """Why another domain may not read a port version published while the product was a draft."""
    who = consumer or OUTSIDER
    owners = ", ".join(contract.owners)
    return (
        f"access denied: {who} may not read {address} version {version}: it was published while the product was a draft, "
        f"for the {contract.domain} domain only; its owner ({owners}) publishes it as active: "
        f"mesh materialize {address.unversioned()}"
    )


def personal_columns(document: dict | None) -> set[str]:
    """Personal columns of a contract document (e.g. the one an older port version was published under)."""
    schema = (document or {}).get("schema") or [{}]
    return {p.get("name") for p in schema[0].get("properties") or [] if p.get("classification") in PERSONAL_CLASSIFICATIONS}


def hashing_key_holders(catalog: Catalog) -> frozenset[str]:
    """The domains whose processes hold the hashing key: those with a product that publishes a personal column.
    Every other domain's code server and runs go without it (`MeshSettings.environment(hashing_key=False)`)."""
    return frozenset(p.address.domain for p in catalog.products.values() if p.contract.has_personal_data)


def mesh_secret(secret: str | None, secret_file: Path | None) -> str:
    """The key personal values are hashed with: `secret` when given (`MESH_SECRET`), else the one kept in `secret_file`.

    The file (created on first use, readable by its owner only) keeps a local mesh's hashes
    stable between runs; a shared deployment sets `MESH_SECRET` from its secret store. Only
    processes that publish personal columns hold it: a consumer's reader has none (`secret_file` None)."""
    if secret:
        return secret
    if secret_file is None:
        raise MeshError("this process holds no hashing key: only builds that publish personal columns do (MESH_SECRET)")
    file = Path(secret_file)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        draft = file.with_name(f".secret-{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, file)  # atomic: of two processes starting at once, one secret wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return file.read_text().strip()


def contract_as_seen_by(contract: Contract, consumer: str, decision: ReadDecision | None = None) -> Contract:
    """The contract's columns as a consumer's builds receive them: dropped personal columns gone,
    hashed ones text (still personal). Raises `AccessDeniedError` when the consumer may not read it.
    `decision`: what was decided for the read (default: `decide`; e.g. narrowed to the consumer's agreements)."""
    decision = decision or decide(contract, consumer)
    if not decision.hashed and not decision.dropped:
        return contract
    hashed = set(decision.hashed)
    columns = tuple(
        c.changed(
            logical_type="string",
            physical_type="VARCHAR",
            logical_type_options=None,
            quality=None,
            description=f"{c.description} (keyed hash)".strip(),
        )
        if c.name in hashed
        else c
        for c in contract.columns
        if c.name not in decision.dropped
    )
    return replace(contract, columns=columns)
