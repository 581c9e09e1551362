"""`mesh policies`: the policies in force, from their own docstrings."""

from __future__ import annotations

import typer

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.cli.output import print_json, print_table
from mesh_platform.governance.check import domain_policies, mesh_policies
from mesh_platform.governance.policies import Policy


def policies_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the mesh-wide policies as the README's Markdown table."),
) -> None:
    """List every policy: the mesh-wide ones and each domain's own, with severity and what it requires."""
    if markdown:
        typer.echo(policies_markdown(mesh_policies()), nl=False)
        return
    catalog = Catalog.load()
    policies = [*mesh_policies(), *(p for d in catalog.domains for p in domain_policies(catalog, d))]
    if as_json:
        print_json({"policies": [{"id": p.id, "severity": p.severity, "scope": p.scope, "description": p.description} for p in policies]})
    else:
        print_table(["policy", "severity", "scope", "requires"], [[p.id, p.severity, p.scope, p.description] for p in policies])


def policies_markdown(policies: list[Policy]) -> str:
    """The README's policy table; its text is each policy's docstring, so the two cannot drift."""
    rows = ["| policy | severity | requires |", "|---|---|---|"]
    rows += [f"| `{p.id}` | {p.severity} | {p.description} |" for p in policies]
    return "\n".join(rows) + "\n"
