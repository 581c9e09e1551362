"""`mesh test`: the products' unit tests (given these input rows, the product is these rows), without a materialized mesh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption, domain_option
from mesh_platform.cli.output import print_json

if TYPE_CHECKING:
    from mesh_platform.product.unit_tests import UnitTestResult


@dataclass(frozen=True)
class TestRun:
    """What `mesh test --json` prints: the verdict, the products tested, each test's result."""

    ok: bool
    products: int
    tests: list[UnitTestResult]


def test_command(
    ctx: typer.Context,
    addresses: Annotated[
        list[str] | None, typer.Argument(help="Products to test (mesh://<domain>/<product>); default: every product with tests.")
    ] = None,
    domain: Annotated[str | None, domain_option("Test one domain's products only.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the unit tests in the products' tests.yaml files; exit 1 if one fails or cannot run."""
    # The recipe types are Dagster components, and the tests run them: imported only here.
    from mesh_platform.product.unit_tests import TestSetting, mesh_tests
    from mesh_platform.recipes.validation import load_recipe

    context = mesh_context(ctx)
    settings, catalog = context.settings, context.catalog
    setting = TestSetting(catalog, context.view.glossary, settings.macros_file)
    report = mesh_tests(setting, load_recipe, addresses or (), domain)
    if as_json:
        print_json(TestRun(report.ok, report.products, list(report.results)))
    elif not report.results:
        typer.echo("no unit tests: a product's tests go in tests.yaml beside its contract (README: Unit tests)")
    else:
        for result in report.results:
            label = {"passed": "PASS ", "failed": "FAIL ", "error": "ERROR"}[result.status]
            where = "" if result.status == "passed" else f"  ({result.where})"
            typer.echo(f"{label} {result.address} {result.name}{where}")
            if result.status != "passed":
                if result.status == "error" or result.message:
                    typer.echo(f"      {result.summary}")
                for line in result.diff():
                    typer.echo(f"      {line}")
        typer.echo(
            f"ran {_count(len(report.results), 'unit test')} of {_count(report.products, 'product')}: "
            f"{report.count('passed')} passed, {report.count('failed')} failed, {_count(report.count('error'), 'error')}"
        )
    if not report.ok:
        raise typer.Exit(code=1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
