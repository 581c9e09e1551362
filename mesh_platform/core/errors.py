"""Errors a user can cause. Each names the file, the field, the line and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from mesh_platform.core.address import Address


class MeshError(Exception):
    """An error with a message meant for the person running the mesh."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file: where it is, what is wrong, what to do."""

    file: Path
    field: str
    line: int | None
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        text = f"{where}: {self.field or '(document)'}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class FileProblemsError(MeshError):
    """A file that cannot be used; lists every problem found in it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ContractError(FileProblemsError):
    """A contract that cannot be loaded."""


class RecipeError(FileProblemsError):
    """A product recipe (`defs.yaml`) that cannot be used."""


class GlossaryError(FileProblemsError):
    """A glossary file that cannot be used."""


class MacroError(FileProblemsError):
    """A SQL macros file (the mesh's or a domain's) that cannot be used."""


class UnitTestError(FileProblemsError):
    """A product's unit tests file (`tests.yaml`) that cannot be used."""


class AccessDeniedError(MeshError):
    """A read the product's access level does not grant the reading principal."""


class StoreRefusedError(AccessDeniedError):
    """The object store refused the credentials in use (AccessDenied, an unknown key): the platform granted what the
    store's policies for that principal do not (yet) allow, or the key is not the principal's."""

    def __init__(self, message: str, code: str = "", uri: str = ""):
        super().__init__(message)
        self.code, self.uri = code, uri  # what the store answered, and what was asked for


class UnknownPrincipalError(MeshError):
    """A name read as, or granted to, that is neither a domain nor a principal the principals file declares."""


class IdentityError(MeshError):
    """A principal that cannot be established: a claim the store's credentials contradict, or a store that cannot say."""


class AddressError(MeshError):
    """An address that is malformed or names no product of the mesh."""


class SchemaDriftError(MeshError):
    """A build whose output columns differ from its contract."""


class DeliveryTypeError(MeshError):
    """Delivered files (a source product's) with values that do not convert to the contract's types."""


class PortError(MeshError):
    """A port that cannot be read: not published yet, no such version, or retired."""


class SupersededBuildError(MeshError):
    """A build whose result is older than the port's current version (a later-started build published first)."""


class DeprecatedPortWarning(UserWarning):
    """A read of an older major version of a product, served only until its retirement date."""


class RuleOutcome(Protocol):
    """What the quality gate reports of a rule's result (`quality.evaluation.RuleResult`, a layer above)."""

    @property
    def message(self) -> str: ...


RuleOutcomeT = TypeVar("RuleOutcomeT", bound=RuleOutcome)


class QualityGateError(MeshError, Generic[RuleOutcomeT]):
    """A build whose staged data fails error-severity rules of its contract: it is not published.

    `results`: every rule's result (the failed ones in `failed`), as the build's checks report them."""

    def __init__(self, address: Address, failed: Sequence[RuleOutcomeT], results: Sequence[RuleOutcomeT], staged_at: str) -> None:
        self.address = address
        self.failed = failed
        self.results = results
        self.staged_at = staged_at
        listed = "\n  - ".join(r.message for r in failed)
        super().__init__(
            f"{address}: not published, {len(failed)} blocking check(s) failed:\n  - {listed}\n"
            f"The port keeps its current version; the rejected data stays in {staged_at} until the next build."
        )


class PolicyViolationError(MeshError):
    """A product refused at materialization because it violates error-severity policies."""

    def __init__(self, address: Address, violations: Sequence[object]) -> None:
        self.address = address
        self.violations = violations
        listed = "\n  - ".join(str(v) for v in violations)
        super().__init__(f"{address}: refused by governance, {len(violations)} policy violation(s):\n  - {listed}")
