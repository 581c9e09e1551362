"""`mesh templates`: what `mesh new` can create."""

from __future__ import annotations

import typer

from mesh_platform.cli.output import print_json
from mesh_platform.scaffold.templates import load_templates
from mesh_platform.core.settings import MeshSettings


def templates_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the templates with a one-line description and their parameters."""
    templates = load_templates(MeshSettings.from_env().root / "templates")
    rows = [
        {
            "name": t.name,
            "kind": t.kind,
            "description": t.description,
            "inputs": _inputs_text(t.min_inputs, t.max_inputs) if t.kind == "product" else "",
            "parameters": [{"name": p.name, "description": p.description} for p in t.parameters],
        }
        for t in sorted(templates.values(), key=lambda t: (t.kind != "domain", t.name))
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        usage = "mesh new domain NAME --owner OWNER" if row["kind"] == "domain" else f"--template {row['name']}  ({row['inputs']})"
        typer.echo(f"{row['name']:<11} {row['description']}")
        typer.echo(f"{'':<11} {usage}")
        for parameter in row["parameters"]:
            typer.echo(f"{'':<11}   --set {parameter['name']}=…  {parameter['description']}")


def _inputs_text(low: int, high: int | None) -> str:
    if high == 0:
        return "no inputs"
    if low == high:
        return f"{low} input" + ("s" if low != 1 else "")
    return f"{low}+ inputs" if high is None else f"{low}–{high} inputs"
