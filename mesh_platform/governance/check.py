"""`mesh check`: contract validation and every policy, over the whole mesh or one domain, all at once
(and the SQL macros files, and the products' unit tests when the caller runs them).

Needs no Dagster instance and imports no Dagster: it reads the repository's files
(and the ports' commit logs for publish dates), so it is fast enough for
pre-commit hooks and CI gates. The same policies run when a domain's definitions
load (those that read no state) and in each product's blocking `governance` check.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mesh_platform.catalog.catalog import Product
from mesh_platform.core.errors import ContractError, FileProblemsError, Problem
from mesh_platform.core.settings import MeshSettings
from mesh_platform.core.sql_macros import SqlMacros
from mesh_platform.governance import mesh_policies as shipped
from mesh_platform.governance.agreements import agreement_violations
from mesh_platform.governance.glossary import TERM_PARAMETER, register_term_parameter, rules_with_terms
from mesh_platform.governance.policies import Policy, Violation, policies_in
from mesh_platform.governance.view import MeshView
from mesh_platform.quality.evaluation import rules_reading_files
from mesh_platform.storage.sandbox import sandbox
from mesh_platform.storage.sql_functions import register_sql_functions

DOMAIN_POLICY_FILE = "policies.py"
GOVERNANCE_SCOPE = "governance"  # the id prefix of the governance group's own mesh-wide policies (mesh.yaml's `policies`)
# A product → what definitions load would refuse in its recipe, and the files its SQL reads that a build refuses
# (`recipes.validation.checked_recipe`; readable: the folders a build's SQL may read, its domain's landing folder).
RecipeCheck = Callable[[Product, MeshView, list[Path]], list[Problem]]
# A product → how its recipe's output differs from its contract (`recipes.output`; readable: as above).
OutputCheck = Callable[[Product, MeshView, list[Path]], list[Problem]]
OUTPUT_POLICY = "mesh.output-schema"
ProductCheck = Callable[[Product], list[Problem]]  # a product → what is wrong in it (its failing unit tests)


@dataclass
class CheckReport:
    violations: list[Violation]
    products: int
    policies: list[Policy]

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def platform_policies() -> list[Policy]:
    """The policies the platform ships (`governance/mesh_policies.py`): every mesh meets them."""
    return policies_in(shipped, scope="mesh")


def mesh_policies(view: MeshView) -> tuple[list[Policy], list[Violation]]:
    """Every mesh-wide policy: the platform's, then the governance group's own (mesh.yaml's `policies`, ids
    `governance.…`), and why any of the group's cannot run."""
    file = view.policies_file
    own, problems = (
        view.policy_file(file, GOVERNANCE_SCOPE, policies_in_file) if file is not None and file.is_file() else ([], [])
    )
    return [*platform_policies(), *own], list(problems)  # a copy: the view keeps the file's reading, callers add to the list


def domain_policies(view: MeshView, domain: str) -> list[Policy]:
    """The domain's own policies (`domains/<domain>/policies.py`) that may run: ids named `<domain>.…`."""
    return domain_policy_file(view, domain)[0]


def domain_policy_file(view: MeshView, domain: str) -> tuple[list[Policy], list[Violation]]:
    """The domain's policies that may run, and why any cannot: the file fails to import, or an id is not the domain's."""
    file = view.catalog.domains[domain].folder / DOMAIN_POLICY_FILE
    if not file.is_file():
        return [], []
    own, problems = view.policy_file(file, domain, policies_in_file)
    return list(own), list(problems)


def policies_in_file(file: Path, scope: str) -> tuple[list[Policy], list[Violation]]:
    """The policies a file registers whose ids are `<scope>.…` (a domain's, or the governance group's), and its problems."""
    whose = "the governance group's" if scope == GOVERNANCE_SCOPE else "the domain's"

    def load() -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"mesh_policies_of.{scope}", file)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def problem(line: int | None, message: str, fix: str) -> Violation:
        return Violation("mesh.policy-file", "error", f"({scope} policies)", file, line, message, fix)

    try:
        found = policies_in(load(), scope="mesh" if scope == GOVERNANCE_SCOPE else scope)
    except Exception as error:  # the mesh's own code: any error is reported, never raised into mesh check
        line = (
            error.lineno
            if isinstance(error, SyntaxError)
            else next(
                (frame.lineno for frame in reversed(traceback.extract_tb(error.__traceback__)) if Path(frame.filename) == file),
                None,
            )
        )
        refused = "every product is refused" if scope == GOVERNANCE_SCOPE else "the domain's products are refused"
        return [], [
            problem(
                line, f"{whose} policies cannot be loaded: {type(error).__name__}: {error}", f"fix the file; until then {refused}"
            )
        ]
    valid, problems = [], []
    for rule in found:
        if rule.id.startswith(f"{scope}."):
            valid.append(rule)
        else:
            line = inspect.getsourcelines(rule.check)[1]
            adds_to = "the platform's" if scope == GOVERNANCE_SCOPE else "the mesh-wide ones"
            problems.append(
                problem(
                    line,
                    f"policy id '{rule.id}' is not {whose}: its policies add to {adds_to} and cannot replace them",
                    f"name it {scope}.<rule>",
                )
            )
    return valid, problems


def check_mesh(
    view: MeshView,
    settings: MeshSettings,
    domain: str | None = None,
    recipe_problems: RecipeCheck | None = None,
    output_problems: OutputCheck | None = None,
    unit_tests: ProductCheck | None = None,
) -> CheckReport:
    """Every contract problem and policy violation of the mesh `view` shows (`settings`: its paths), every SQL
    rule reading a file a build refuses, and what DuckDB refuses in the mesh's SQL macros (`settings.macros_file`) and each
    domain's; with `recipe_problems`, every recipe setting definitions load would refuse too, and recipe SQL reading
    such a file (`recipes.validation`); with `output_problems`, every difference between a recipe's output and its
    contract (`recipes.output`); with `unit_tests`, the products' failing unit tests (`product.unit_tests`)."""
    catalog = view.catalog
    shared, violations = mesh_policies(view)
    domains = [domain] if domain else list(catalog.domains)
    policies = list(shared)
    if domain is None:
        violations += glossary_violations(view) + principals_violations(view)
        violations += agreement_violations(catalog, view.readers, settings.clock.today(), settings.project.agreement_warning_days)
    violations += macro_violations(view, settings.macros_file, domains)
    for name in domains:
        own, problems = domain_policy_file(view, name)
        policies += own
        violations += problems
        for file, error in sorted(catalog.broken_in(name).items()):
            violations += _contract_violations(file, error)
        readable = [settings.landing_dir(name)]  # what a build's SQL may read besides its inputs
        for product in sorted(catalog.in_domain(name), key=lambda p: p.address):
            violations += _rules_violations(product, view, readable)
            if recipe_problems is not None:
                found = recipe_problems(product, view, readable)
                violations += [_violation("mesh.recipe", str(product.address), p) for p in found]
            if output_problems is not None:
                violations += [
                    _violation(OUTPUT_POLICY, str(product.address), p) for p in output_problems(product, view, readable)
                ]
            violations += _run(product, view, [*shared, *own])
            if unit_tests is not None:
                violations += [_violation("mesh.unit-test", str(product.address), p) for p in unit_tests(product)]
    return CheckReport(violations, sum(len(catalog.in_domain(n)) for n in domains), policies)


def macro_violations(view: MeshView, macros_file: Path | None, domains: list[str]) -> list[Violation]:
    """What is wrong in the mesh's macros file and in each of `domains`' (each domain's on top of the mesh's),
    as DuckDB sees it with the platform's SQL functions. A macro reading a table is bound where the table is: not here."""
    found = []
    for name in [None, *domains]:
        own = macros_file if name is None else view.catalog.domains[name].macros_file
        if own is None or not own.is_file():
            continue
        macros = SqlMacros.of([macros_file] if name is None else [macros_file, own])
        connection = sandbox()
        try:
            register_sql_functions(connection)
            register_term_parameter(connection, view.glossary, name or "")
            problems = macros.try_install(connection)[1]
        finally:
            connection.close()
        where = "(mesh macros)" if name is None else f"({name} macros)"
        found += [_violation("mesh.macros", where, p) for p in problems if p.file == own]
    return found


def check_product(product: Product, view: MeshView) -> list[Violation]:
    """Every policy (mesh-wide and the product's domain's) over one product; those reading
    published state only when the view can read it (not while definitions load)."""
    shared, shared_problems = mesh_policies(view)
    own, problems = domain_policy_file(view, product.address.domain)
    # A policy file that cannot run refuses the products it governs: its rules would silently not apply.
    return [*shared_problems, *problems, *_run(product, view, [*shared, *own])]


def _run(product: Product, view: MeshView, policies: list[Policy]) -> list[Violation]:
    return [v for rule in policies if view.reads_state or not rule.reads_state for v in rule.run(product, view)]


def _contract_violations(file: Path, error: FileProblemsError) -> list[Violation]:
    return [_violation("mesh.contract", f"({file.parent.name})", p) for p in error.problems]


def _violation(policy_id: str, address: str, problem: Problem) -> Violation:
    return Violation(
        policy_id,
        "error",
        address,
        problem.file,
        problem.line,
        f"{problem.field or 'document'}: {problem.message}",
        problem.fix or "fix the file",
    )


def glossary_violations(view: MeshView) -> list[Violation]:
    """Problems of the glossary file itself, and crosswalks naming products or columns that do not exist."""
    catalog, glossary, error = view.catalog, view.glossary, view.glossary_error
    if error is not None:
        return [
            Violation(
                "mesh.glossary",
                "error",
                "(glossary)",
                p.file,
                p.line,
                f"{p.field or 'document'}: {p.message}",
                p.fix or "fix the file",
            )
            for p in error.problems
        ]
    violations = []
    for term in glossary.terms.values():
        if term.crosswalk is None:
            continue
        path = ("terms", term.name, "crosswalk")
        product = catalog.products.get(term.crosswalk.product.unversioned())
        if product is None:
            violations.append(
                Violation(
                    "mesh.glossary",
                    "error",
                    "(glossary)",
                    glossary.file,
                    glossary.line_of((*path, "product")),
                    f"the {term.name} crosswalk names {term.crosswalk.product}, which is no product of the mesh",
                    "name the product that maps the identifiers (mesh list shows them)",
                )
            )
            continue
        columns = {c.name for c in product.contract.columns}
        for meaning, column in term.crosswalk.columns.items():
            if column not in columns:
                violations.append(
                    Violation(
                        "mesh.glossary",
                        "error",
                        "(glossary)",
                        glossary.file,
                        glossary.line_of((*path, "columns", meaning)),
                        f"{term.crosswalk.product} has no column '{column}' for the {meaning} meaning of {term.name}",
                        f"use one of its columns: {', '.join(sorted(columns))}",
                    )
                )
    return violations


def principals_violations(view: MeshView) -> list[Violation]:
    """Problems of the principals file: an entry that cannot be read, named like a domain, or without an owner."""
    return [
        Violation(
            "mesh.principals",
            "error",
            "(principals)",
            p.file,
            p.line,
            f"{p.field or 'document'}: {p.message}",
            p.fix or "fix the file",
        )
        for p in view.readers.problems
    ]


def _rules_violations(product: Product, view: MeshView, readable: list[Path]) -> list[Violation]:
    try:
        rules = rules_with_terms(product.contract, view.glossary)
    except ContractError as error:
        problems = error.problems
    else:
        problems = rules_reading_files(product.contract, rules, readable, TERM_PARAMETER.declare)
    address = str(product.address)
    return [Violation("mesh.contract", "error", address, p.file, p.line, f"{p.field}: {p.message}", p.fix) for p in problems]
