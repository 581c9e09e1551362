"""`mesh check`: every contract problem and policy violation, with file, line and what to do."""

from __future__ import annotations

import typer

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.cli.output import fail, print_json
from mesh_platform.governance import check_mesh


def check_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    domain: str = typer.Option(None, "--domain", "-d", help="Check one domain only."),
) -> None:
    """Validate every contract and run every policy; exit 1 on any error-severity violation."""
    catalog = Catalog.load()
    if domain and domain not in catalog.domains:
        raise fail(f"there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
    report = check_mesh(catalog, domain)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "products": report.products,
                "policies": [{"id": p.id, "severity": p.severity, "scope": p.scope, "description": p.description} for p in report.policies],
                "violations": [{**v.__dict__, "file": str(v.file)} for v in report.violations],
            }
        )
    else:
        for violation in report.violations:
            typer.echo(str(violation))
        typer.echo(
            f"checked {report.products} products against {len(report.policies)} policies: "
            f"{len(report.errors)} errors, {len(report.violations) - len(report.errors)} warnings"
        )
    if not report.ok:
        raise typer.Exit(code=1)
