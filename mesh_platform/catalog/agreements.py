"""Usage agreements: the edges of the mesh between a product and a principal that reads it.

A consumer asks for access (`mesh access request`): the request is a file in the consumer's own folder —
`<domain folder>/agreements/<id>.yaml` for a domain, `governance/agreements/<principal>/<id>.yaml` for a
consumer the principals file declares — so it travels as a pull request like every other change. The owning
domain approves it (the grant is written into the product's contract, which lists the agreement's id under
the custom property `agreements`), denies it, or later revokes it. An agreement records who asked, who
decided, why (its purpose), for which columns and clear columns, from when until when, and its status:

  requested  filed, waiting for the owner;
  active     approved: in force from `start` through `end` (inclusive), ended after;
  denied     refused by the owner (its note says why);
  revoked    withdrawn by the owner after it was active.

Dates are calendar days (UTC): an agreement ending on 2027-01-01 is in force that whole day.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from mesh_platform.catalog.workspace import Domain
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError, FileProblemsError, MeshError, Problem
from mesh_platform.core.yaml_document import load_yaml_document

AGREEMENTS_FOLDER = "agreements"
GOVERNANCE_AGREEMENTS = Path("governance") / AGREEMENTS_FOLDER  # a declared consumer's: <this>/<principal>/
STATUSES = ("requested", "active", "denied", "revoked")
_ID = re.compile(r"^[a-z][a-z0-9_]*-[a-z][a-z0-9_]*-[0-9a-f]{6}$")
_KEYS = {
    "id",
    "product",
    "consumer",
    "purpose",
    "columns",
    "clear",
    "start",
    "end",
    "status",
    "requested_by",
    "requested_at",
    "decided_by",
    "decided_at",
    "note",
}


class AgreementError(FileProblemsError):
    """An agreement file that cannot be read."""


@dataclass(frozen=True)
class Agreement:
    """One usage agreement between a product and a consumer (see the module)."""

    id: str
    product: Address  # unversioned
    consumer: str
    purpose: str
    columns: tuple[str, ...]  # the columns it covers; (): every column
    clear: tuple[str, ...]  # personal columns it grants in clear
    start: dt.date
    end: dt.date | None  # None: open-ended
    status: str
    requested_by: str
    requested_at: dt.datetime
    file: Path
    decided_by: str | None = None  # who approved, denied or revoked it: the owning domain, and the person
    decided_at: dt.datetime | None = None
    note: str | None = None

    def state(self, today: dt.date) -> str:
        """requested, active, not started, ended, denied or revoked, on `today`."""
        if self.status != "active":
            return self.status
        if today < self.start:
            return "not started"
        if self.end is not None and today > self.end:
            return "ended"
        return "active"

    def in_force(self, today: dt.date) -> bool:
        return self.state(today) == "active"

    def days_left(self, today: dt.date) -> int | None:
        """Days until it ends (0: its last day), None when open-ended."""
        return None if self.end is None else (self.end - today).days

    def covers(self, column: str) -> bool:
        return not self.columns or column in self.columns

    @property
    def scope(self) -> str:
        """What it covers, in words: its columns (or every column), and those in clear."""
        columns = ", ".join(self.columns) if self.columns else "every column"
        return columns + (f"; in clear: {', '.join(self.clear)}" if self.clear else "")

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "product": str(self.product),
            "consumer": self.consumer,
            "purpose": self.purpose,
            "columns": list(self.columns),
            "clear": list(self.clear),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": _timestamp(self.requested_at),
        }
        if self.decided_by is not None:
            document |= {"decided_by": self.decided_by, "decided_at": _timestamp(self.decided_at)}
        if self.note:
            document["note"] = self.note
        return document

    def write(self) -> None:
        """Write the agreement to its file (a new one, or its new state)."""
        header = (
            f"# Usage agreement {self.id}: {self.consumer} reads {self.product}. Filed by mesh access request; "
            "the owning domain approves, denies or revokes it (mesh access approve|deny|revoke).\n"
        )
        self.file.parent.mkdir(parents=True, exist_ok=True)  # a file of the repository, reviewed in a pull request
        self.file.write_text(header + yaml.safe_dump(self.to_document(), sort_keys=False, allow_unicode=True))


@dataclass(frozen=True)
class AgreementOn:
    """An agreement on a day, as `--json` prints it: its document, its state that day, its file and its age."""

    agreement: Agreement = field(metadata={"json_inline": True, "json_value": Agreement.to_document})
    state: str
    file: Path
    age_days: int
    days_left: int | None  # None: open-ended

    @classmethod
    def of(cls, agreement: Agreement, today: dt.date) -> AgreementOn:
        age = (today - agreement.requested_at.date()).days
        return cls(agreement, agreement.state(today), agreement.file, age, agreement.days_left(today))


def new_id(consumer: str, product: Address) -> str:
    """A fresh agreement id: `<consumer>-<product>-<6 hex digits>` (unique across branches, short to type)."""
    return f"{consumer}-{product.product}-{secrets.token_hex(3)}"


def agreements_folder(root: Path, consumer: str, domains: dict[str, Domain]) -> Path:
    """Where `consumer`'s agreements are kept: its domain's folder, or the governance folder for a declared consumer."""
    if consumer in domains:
        return domains[consumer].folder / AGREEMENTS_FOLDER
    return root / GOVERNANCE_AGREEMENTS / consumer


@dataclass(frozen=True)
class Agreements:
    """Every agreement of the mesh, as its files are; `problems`: the files that cannot be read (each skipped)."""

    by_id: dict[str, Agreement] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    @classmethod
    def load(cls, root: Path, domains: dict[str, Domain]) -> Agreements:
        files = [f for d in domains.values() for f in sorted((d.folder / AGREEMENTS_FOLDER).glob("*.yaml"))]
        files += sorted((root / GOVERNANCE_AGREEMENTS).glob("*/*.yaml"))
        found: dict[str, Agreement] = {}
        problems: list[Problem] = []
        for file in files:
            try:
                agreement = read_agreement(file)
            except AgreementError as error:
                problems += error.problems
                continue
            if agreement.id in found:
                problems.append(
                    Problem(
                        file,
                        "id",
                        None,
                        f"agreement id {agreement.id} is also {found[agreement.id].file}'s",
                        "give one of them a new id (mesh access request makes unique ones)",
                    )
                )
                continue
            expected = agreements_folder(root, agreement.consumer, domains)
            if file.parent.resolve() != expected.resolve():
                problems.append(
                    Problem(
                        file,
                        "consumer",
                        None,
                        f"an agreement of {agreement.consumer} is kept in {expected}",
                        "move the file there (a consumer files its own requests)",
                    )
                )
                continue
            found[agreement.id] = agreement
        return cls(found, tuple(problems))

    def __iter__(self) -> Iterator[Agreement]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, agreement_id: str) -> Agreement:
        """The agreement with this id; an unknown id names the ones that wait."""
        if agreement_id in self.by_id:
            return self.by_id[agreement_id]
        waiting = [a.id for a in self if a.status == "requested"]
        hint = f"requests waiting: {', '.join(waiting)}" if waiting else "no request waits (mesh access requests lists them)"
        raise MeshError(f"no agreement '{agreement_id}' in the mesh — {hint}")

    def of(self, product: Address, consumer: str | None = None) -> list[Agreement]:
        """The agreements on `product` (any major), of `consumer` when given, oldest first."""
        wanted = product.unversioned()
        found = [a for a in self if a.product == wanted and (consumer is None or a.consumer == consumer)]
        return sorted(found, key=lambda a: a.requested_at)

    def referenced(self, ids: Iterable[str]) -> list[Agreement]:
        return [self.by_id[i] for i in ids if i in self.by_id]


def read_agreement(file: Path) -> Agreement:
    """One agreement file; `AgreementError` names each field that is wrong."""
    loaded = load_yaml_document(file, AgreementError)
    document = loaded.data
    problems: list[Problem] = []

    def fail(key: str, message: str, fix: str) -> None:
        problems.append(loaded.problem((key,), message, fix))

    if not isinstance(document, dict):
        raise AgreementError(
            [Problem(file, "", None, "an agreement file is a mapping of its fields", "file it with mesh access request")]
        )
    for key in sorted(set(document) - _KEYS):
        fail(key, f"unknown field '{key}'", f"use only {', '.join(sorted(_KEYS))}")
    text = {key: document.get(key) for key in _KEYS}
    identifier = str(text["id"] or "")
    if not _ID.match(identifier) or identifier != file.stem:
        fail(
            "id",
            f"id '{identifier}' is not the file's name ({file.stem}) or not an agreement id",
            "keep the id mesh access request gave",
        )
    try:
        product = Address.parse(str(text["product"] or "")).unversioned()
    except AddressError as error:
        fail("product", str(error), "write mesh://<domain>/<product>")
        product = Address("invalid", "invalid")
    for key in ("consumer", "purpose", "requested_by"):
        if not isinstance(value := text[key], str) or not value.strip():
            fail(key, f"{key} is missing", f"give the {key.replace('_', ' ')}")
    status = text["status"]
    if status not in STATUSES:
        fail("status", f"status '{status}' is unknown", f"one of: {', '.join(STATUSES)}")
    columns = _names(text["columns"], "columns", fail)
    clear = _names(text["clear"], "clear", fail)
    start = _date(text["start"], "start", fail)
    end = _date(text["end"], "end", fail) if text["end"] is not None else None
    if start and end and end < start:
        fail("end", f"it ends ({end}) before it starts ({start})", "give an end on or after the start")
    requested_at = _moment(text["requested_at"], "requested_at", fail)
    decided_at = _moment(text["decided_at"], "decided_at", fail) if text["decided_at"] is not None else None
    if status in ("active", "denied", "revoked") and not text["decided_by"]:
        fail("decided_by", f"an agreement {status} names no one who decided it", "approve, deny or revoke it with mesh access")
    if problems:
        raise AgreementError(problems)
    return Agreement(
        id=identifier,
        product=product,
        consumer=str(text["consumer"]),
        purpose=str(text["purpose"]).strip(),
        columns=columns,
        clear=clear,
        start=start,
        end=end,
        status=str(status),
        requested_by=str(text["requested_by"]),
        requested_at=requested_at,
        file=file,
        decided_by=text["decided_by"],
        decided_at=decided_at,
        note=str(text["note"]) if text["note"] else None,
    )


def decided(
    agreement: Agreement, status: str, by: str, at: dt.datetime, note: str | None, end: dt.date | None = None
) -> Agreement:
    """The agreement approved, denied or revoked (`status`) by `by` at `at`."""
    return replace(
        agreement,
        status=status,
        decided_by=by,
        decided_at=at,
        note=note or agreement.note,
        end=end if end is not None else agreement.end,
    )


def _names(value: Any, key: str, fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        fail(key, f"{key} must be a list of column names", "e.g. [customer_id, email]")
        return ()
    return tuple(value)


def _date(value: Any, key: str, fail) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        fail(key, f"'{value}' is not a date", "write YYYY-MM-DD")
        return dt.date.min


def _moment(value: Any, key: str, fail) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        fail(key, f"'{value}' is not a time", "write an ISO 8601 time")
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _timestamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
