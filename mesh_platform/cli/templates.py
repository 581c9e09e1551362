"""`mesh templates`: what `mesh new` can create."""

from __future__ import annotations

import typer

from mesh_platform.cli.output import print_json
from mesh_platform.scaffold.domain import DESCRIPTION as DOMAIN_DESCRIPTION
from mesh_platform.scaffold.templates import DOMAIN_TEMPLATE


def templates_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the templates with a one-line description and their parameters."""
    from mesh_platform.recipes import recipe_types  # the recipe types are Dagster components: only here

    rows = [
        {
            "name": DOMAIN_TEMPLATE,
            "kind": "domain",
            "description": DOMAIN_DESCRIPTION,
            "inputs": "",
            "parameters": [],
            "from": None,
        }
    ]
    rows += [
        {
            "name": name,
            "kind": "product",
            "description": recipe.summary(),
            "inputs": _inputs_text(*recipe.input_range()),
            "parameters": [{"name": p, "description": text} for p, text in recipe.parameters.items()],
            "from": recipe.from_file,
        }
        for name, recipe in recipe_types().items()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        usage = (
            "mesh new domain NAME --owner OWNER" if row["kind"] == "domain" else f"--template {row['name']}  ({row['inputs']})"
        )
        typer.echo(f"{row['name']:<11} {row['description']}")
        typer.echo(f"{'':<11} {usage}")
        for parameter in row["parameters"]:
            typer.echo(f"{'':<11}   --set {parameter['name']}=…  {parameter['description']}")
        if row["from"]:
            typer.echo(f"{'':<11}   --from FILE  {row['from']}")


def _inputs_text(low: int, high: int | None) -> str:
    if high == 0:
        return "no inputs"
    if low == high:
        return f"{low} input" + ("s" if low != 1 else "")
    return f"{low}+ inputs" if high is None else f"{low}–{high} inputs"
