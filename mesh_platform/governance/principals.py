"""Principals: who may be granted a product. Every domain is one; so is every consumer that is no domain
(an analyst group, a BI service account, an ML pipeline), declared once in the governance group's principals file:

    # governance/principals.yaml (mesh.yaml's `principals`)
    principals:
      finance_bi:
        owner: sales                      # a domain, or the team (team:<name>) or e-mail that answers for it
        description: The finance dashboards' BI service account.

A declared principal is usable wherever a domain is as a reader: a contract's `consumers` and `unmaskedFor`,
the access log, `mesh query --as`, `read_product(consumer=…)`. No file, or `principals: {}`, declares none.
A broken file declares only its valid entries, and never takes a domain down: `mesh check` lists its problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh_platform.core.errors import FileProblemsError, MeshError, Problem, UnknownPrincipalError
from mesh_platform.core.names import check_name
from mesh_platform.core.yaml_document import YamlDocument, load_yaml_document

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEAM = re.compile(r"^team:\S+$")
FORMAT = "principals: {<name>: {owner: <domain, team:<name> or e-mail>, description: …}}"


class PrincipalsError(FileProblemsError):
    """A principals file with entries that cannot be used."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str = Field(min_length=1, description="The domain, team (team:<name>) or e-mail that answers for the principal.")
    description: str = Field(min_length=1, description="Who or what reads as this principal.")


@dataclass(frozen=True)
class Principal:
    """One reader of the mesh: a domain, or a consumer declared in the principals file."""

    name: str
    owner: str
    description: str
    is_domain: bool = False


@dataclass(frozen=True)
class Principals:
    """The mesh's principals: its domains, and the consumers `file` declares (its valid entries)."""

    file: Path
    domains: tuple[str, ...]
    declared: dict[str, Principal] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()  # what is wrong in the file (its broken entries are not declared)
    source: YamlDocument | None = None
    broken: frozenset[str] = frozenset()  # the names of entries left out for their problems

    @property
    def unreadable(self) -> bool:
        """The file is there but cannot be read at all: it declares nothing."""
        return self.source is None and bool(self.problems)

    def undecided(self, name: str) -> bool:
        """Whether the file's problems keep from telling whether `name` is a principal (mesh check reports them)."""
        return self.unreadable or name in self.broken

    def __contains__(self, name: object) -> bool:
        return name in self.domains or name in self.declared

    @property
    def names(self) -> list[str]:
        return sorted({*self.domains, *self.declared})

    def get(self, name: str) -> Principal:
        """The principal `name`; `UnknownPrincipalError` naming the known ones when there is none."""
        if name in self.domains:
            return Principal(name, name, f"the {name} domain", is_domain=True)
        if name in self.declared:
            return self.declared[name]
        raise UnknownPrincipalError(self.unknown(name))

    def unknown(self, name: str) -> str:
        """Why `name` names no principal, and what to do (one line)."""
        declared = ", ".join(sorted(self.declared)) or "none"
        said = (
            f"'{name}' is no principal of the mesh: neither a domain ({', '.join(sorted(self.domains)) or 'none'}) "
            f"nor declared in {self.file} ({declared})"
        )
        if self.undecided(name):
            return f"{said}; that file has problems (mesh check lists them): fix it"
        return f"{said}; declare it there ({FORMAT})"

    def line_of(self, name: str) -> int | None:
        return self.source.line_of(("principals", name)) if self.source else None


def load_principals(file: Path, domains: Iterable[str]) -> Principals:
    """The principals of a mesh with `domains`, declared in `file` (none there: the domains only). Never raises:
    an unreadable file declares nothing, a broken entry is left out, and each problem is kept with its line."""
    file, domains = Path(file), tuple(domains)
    if not file.exists():
        return Principals(file, domains)
    try:
        document = load_yaml_document(file, PrincipalsError)
    except PrincipalsError as error:
        return Principals(file, domains, problems=tuple(error.problems))
    problems: list[Problem] = []
    for key in document.data:
        if key != "principals":
            problems.append(
                document.problem((key,), f"unknown setting '{key}' (a typo?)", f"the file holds one mapping: {FORMAT}")
            )
    entries = document.data.get("principals") or {}
    if not isinstance(entries, dict):
        problems.append(
            document.problem(("principals",), "principals must be a mapping of name → owner and description", f"write {FORMAT}")
        )
        entries = {}
    declared, broken = {}, set()
    for name, entry in entries.items():
        if (principal := _principal(document, str(name), entry, domains, problems)) is not None:
            declared[principal.name] = principal
        else:
            broken.add(str(name))
    return Principals(file, domains, declared, tuple(problems), document, frozenset(broken))


def _principal(
    document: YamlDocument, name: str, entry: object, domains: tuple[str, ...], problems: list[Problem]
) -> Principal | None:
    path = ("principals", name)
    found = len(problems)
    try:
        check_name(name, "principal")
    except MeshError as error:
        problems.append(document.problem(path, str(error), "rename the principal"))
    if name in domains:
        problems.append(
            document.problem(
                path,
                f"principal '{name}' is named like the {name} domain, which is a principal already",
                "remove the entry (a domain needs none), or give the consumer another name",
            )
        )
    try:
        spec = _Entry.model_validate(entry if entry is not None else {})
    except ValidationError as error:
        problems += document.validation_problems(error, f"write {name}: {{owner: …, description: …}}", path)
        return None
    owner = spec.owner.strip()
    if owner not in domains and not _EMAIL.match(owner) and not _TEAM.match(owner):
        problems.append(
            document.problem(
                (*path, "owner"),
                f"owner '{owner}' of principal '{name}' is no domain of the mesh, team or e-mail address",
                f"name a domain ({', '.join(domains) or 'none'}), team:<name> or the e-mail of who answers for it",
            )
        )
    if len(problems) > found:
        return None
    return Principal(name, owner, spec.description.strip())
