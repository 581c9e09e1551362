"""What a policy is: a small, named, documented rule over one product and its place in the mesh.

    from mesh_platform.governance import Finding, policy

    @policy("sales.amounts-in-usd", severity="error")
    def amounts_in_usd(product: Product, mesh: MeshView) -> Iterator[Finding]:
        \"\"\"Money columns of sales products are in US dollars (their names end in _usd).\"\"\"
        for index, column in enumerate(product.contract.columns):
            if column.name.startswith("amount") and not column.name.endswith("_usd"):
                yield Finding(f"{column.name} does not say its currency", "rename it <name>_usd",
                              ("schema", 0, "properties", index, "name"))

Mesh-wide policies live in `mesh_platform/governance/mesh_policies.py`; a domain
adds its own in `domains/<domain>/policies.py`, which apply to its products
only and come on top of the mesh-wide ones (a domain cannot switch those off).

A policy that looks at published state (`mesh.ports`, e.g. when a version was
first published) says so with `reads_state=True`: it runs when the product runs
(its blocking `governance` check) and in `mesh check`, never when definitions
load, so a code location's definitions depend on its files alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from mesh_platform.contract.model import Severity
from mesh_platform.core.yaml_document import FieldPath, load_yaml_document

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.governance.view import MeshView


@dataclass(frozen=True)
class Finding:
    """What a policy function reports: the problem, the fix, and where (a field of the contract or recipe)."""

    message: str
    fix: str
    path: FieldPath = ()
    in_recipe: bool = False


@dataclass(frozen=True)
class Violation:
    policy: str
    severity: Severity
    address: str
    file: Path
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{self.severity} {self.policy} {self.address} {where}: {self.message} — {self.fix}"


# What a policy is written as: a function of the product and the mesh around it that yields (or returns) its findings.
PolicyFunction = Callable[["Product", "MeshView"], Iterable[Finding]]
# `policy` hands back the function it marks, with its own type (a generator function stays one).
PolicyFunctionT = TypeVar("PolicyFunctionT", bound=PolicyFunction)


@dataclass(frozen=True)
class Policy:
    id: str
    severity: Severity
    description: str
    check: PolicyFunction
    scope: str  # "mesh", or the domain whose products it applies to
    reads_state: bool = False  # looks at published state: evaluated when the product runs, not at load

    def run(self, product: Product, mesh: MeshView) -> list[Violation]:
        try:
            findings = list(self.check(product, mesh) or ())
        except Exception as error:  # a policy's own bug is reported against the product, never raised
            where = Path(inspect.getsourcefile(self.check) or product.contract.file)
            message = f"policy {self.id} failed on this product: {type(error).__name__}: {error}"
            return [
                Violation(
                    self.id,
                    "error",
                    str(product.address),
                    where,
                    inspect.getsourcelines(self.check)[1],
                    message,
                    "fix the policy; until then the product is refused",
                )
            ]
        violations = []
        for finding in findings:
            file: Path
            line: int | None
            if finding.in_recipe:
                file, line = product.recipe_file, load_yaml_document(product.recipe_file).line_of(finding.path)
            else:
                file, line = product.contract.file, product.contract.line_of(finding.path) if finding.path else None
            violations.append(Violation(self.id, self.severity, str(product.address), file, line, finding.message, finding.fix))
        return violations


POLICY_ATTRIBUTE = "mesh_policy"  # what `policy` marks a function with: the module defining it is read, never re-imported


def policy(
    policy_id: str, severity: Severity = "error", reads_state: bool = False
) -> Callable[[PolicyFunctionT], PolicyFunctionT]:
    """Mark a function as a policy; the first paragraph of its docstring (its lines joined) is the policy's description."""

    def mark(function: PolicyFunctionT) -> PolicyFunctionT:
        description = inspect.getdoc(function) or ""
        if not description:
            raise ValueError(f"policy {policy_id} needs a docstring saying what it requires")
        setattr(
            function,
            POLICY_ATTRIBUTE,
            Policy(
                policy_id,
                severity,
                " ".join(description.split("\n\n")[0].split()),
                function,
                scope="mesh",
                reads_state=reads_state,
            ),
        )
        return function

    return mark


def policies_in(module: ModuleType, scope: str) -> list[Policy]:
    """The policies `module` defines (its functions marked with `policy`, not those it imports), in its order, given `scope`."""
    found: list[Policy] = []
    for value in vars(module).values():
        marked = getattr(value, POLICY_ATTRIBUTE, None)
        if isinstance(marked, Policy) and getattr(value, "__module__", None) == module.__name__:
            found.append(replace(marked, scope=scope))
    return found
