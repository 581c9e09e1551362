"""`mesh check`: every contract problem and policy violation, with file, line and what to do."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption, domain_option
from mesh_platform.cli.output import fail, print_json
from mesh_platform.cli.policies import PolicySummary
from mesh_platform.governance.check import check_mesh
from mesh_platform.governance.policies import Violation


@dataclass(frozen=True)
class CheckResult:
    """What `mesh check --json` prints: the verdict, what was checked, and every violation by its fields."""

    ok: bool
    products: int
    policies: list[PolicySummary]
    violations: list[Violation]


def check_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    domain: Annotated[str | None, domain_option("Check one domain only.")] = None,
    unit_tests: Annotated[bool, typer.Option("--unit-tests/--no-unit-tests", help="Run the unit tests (mesh test).")] = True,
) -> None:
    """Validate every contract, run every policy, compare each recipe's output with its contract and run the products'
    unit tests; exit 1 on any error-severity violation."""
    # The recipe types are Dagster components: imported only by the commands that need them.
    from mesh_platform.product.unit_tests import TestSetting, unit_test_problems
    from mesh_platform.recipes.output import output_problems
    from mesh_platform.recipes.validation import checked_recipe, load_recipe

    context = mesh_context(ctx)
    settings, view = context.settings, context.checked_view
    if domain and domain not in view.catalog.domains:
        raise fail(f"there is no domain '{domain}' (domains: {', '.join(view.catalog.domains)})")
    setting = TestSetting(view.catalog, view.glossary, settings.macros_file)
    tests = functools.partial(unit_test_problems, setting=setting, load_recipe=load_recipe) if unit_tests else None
    report = check_mesh(view, settings, domain, checked_recipe, output_problems, unit_tests=tests)
    if as_json:
        print_json(CheckResult(report.ok, report.products, [PolicySummary.of(p) for p in report.policies], report.violations))
    else:
        for violation in report.violations:
            typer.echo(str(violation))
        typer.echo(
            f"checked {report.products} products against {len(report.policies)} policies: "
            f"{len(report.errors)} errors, {len(report.violations) - len(report.errors)} warnings"
        )
    if not report.ok:
        raise typer.Exit(code=1)
