"""`mesh templates`: what `mesh new` can create."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import print_json
from mesh_platform.scaffold.domain import DESCRIPTION as DOMAIN_DESCRIPTION
from mesh_platform.scaffold.templates import DOMAIN_TEMPLATE


@dataclass(frozen=True)
class TemplateParameter:
    name: str
    description: str


@dataclass(frozen=True)
class Template:
    """One template `mesh new` renders: a domain's, or a recipe type's."""

    name: str
    kind: str  # domain or product
    description: str
    inputs: str  # how many inputs a product of it reads, in words ("" for a domain)
    parameters: list[TemplateParameter]
    from_file: str | None = field(metadata={"json_name": "from"})  # what `mesh new --from FILE` takes


def templates_command(as_json: JsonOption = False) -> None:
    """List the templates with a one-line description and their parameters."""
    from mesh_platform.recipes import recipe_types  # the recipe types are Dagster components: only here

    rows = [Template(DOMAIN_TEMPLATE, "domain", DOMAIN_DESCRIPTION, "", [], None)]
    rows += [
        Template(
            name,
            "product",
            recipe.summary(),
            _inputs_text(*recipe.input_range()),
            [TemplateParameter(p, text) for p, text in recipe.parameters.items()],
            recipe.from_file,
        )
        for name, recipe in recipe_types().items()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        usage = "mesh new domain NAME --owner OWNER" if row.kind == "domain" else f"--template {row.name}  ({row.inputs})"
        typer.echo(f"{row.name:<11} {row.description}")
        typer.echo(f"{'':<11} {usage}")
        for parameter in row.parameters:
            typer.echo(f"{'':<11}   --set {parameter.name}=…  {parameter.description}")
        if row.from_file:
            typer.echo(f"{'':<11}   --from FILE  {row.from_file}")


def _inputs_text(low: int, high: int | None) -> str:
    if high == 0:
        return "no inputs"
    if low == high:
        return f"{low} input" + ("s" if low != 1 else "")
    return f"{low}+ inputs" if high is None else f"{low}–{high} inputs"
