"""`mesh new domain` and `mesh new product`: self-serve scaffolding from templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.core.errors import MeshError
from mesh_platform.scaffold.domain import new_domain
from mesh_platform.scaffold.product import new_product

new = typer.Typer(help="Create a domain or a data product from a template.", no_args_is_help=True)


@new.command("domain")
def domain_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The domain's name: a lowercase identifier.")],
    owner: Annotated[str, typer.Option("--owner", help="team:<name> or an e-mail address.")],
    description: Annotated[str | None, typer.Option("--description", help="One sentence about the domain.")] = None,
) -> None:
    """Create a domain package and register its code location in workspace.yaml."""
    settings = mesh_context(ctx).settings
    created = new_domain(settings, name, owner, description)
    for file in created.files:
        typer.echo(f"  created {file.relative_to(settings.root)}")
    typer.echo(f"domain '{name}' created and registered in {settings.workspace_file.name}")
    typer.echo(f"next: mesh new product {name}/<name> --template <template>   (mesh templates lists them)")


@new.command("product")
def product_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="DOMAIN/NAME of the new product.")],
    template: Annotated[str, typer.Option("--template", "-t", help="The template (mesh templates lists them).")],
    inputs: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input product's address (repeatable).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="team:<name> or e-mail (default: the domain's owner).")] = None,
    assignments: Annotated[list[str] | None, typer.Option("--set", help="A template parameter, NAME=VALUE (repeatable).")] = None,
    source_file: Annotated[
        Path | None,
        typer.Option("--from", help="source: a CSV, JSON lines or Parquet file to infer the contract from; sql: the query."),
    ] = None,
) -> None:
    """Create a data product from a template, its contract inferred from its data, query or inputs."""
    from mesh_platform.recipes import recipe_types  # the recipe types are Dagster components: only when creating

    parameters = {}
    for item in assignments or []:
        key, equals, value = item.partition("=")
        if not equals:
            raise MeshError(f"--set '{item}' is not NAME=VALUE")
        parameters[key.strip()] = value.strip()
    settings = mesh_context(ctx).settings
    created = new_product(settings, target, template, recipe_types(), inputs or [], owner, parameters, source_file)
    for file in created.files:
        typer.echo(f"  created {file.relative_to(settings.root)}")
    for note in created.notes:
        typer.echo(f"  note: {note}")
    if created.sample_file:
        typer.echo(f"  example delivery written to {created.sample_file}")
    typer.echo(f"{created.address} created; review contract.yaml, then: mesh materialize {created.address}")
