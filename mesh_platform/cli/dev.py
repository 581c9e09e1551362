"""`mesh dev`: the development namespace `mesh materialize --dev` builds into."""

from __future__ import annotations

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption, NamespaceOption
from mesh_platform.cli.output import print_json, print_table
from mesh_platform.runtime.development import namespace, reset_namespace

dev = typer.Typer(
    help="Your development namespace: what mesh materialize --dev built, which no consumer reads.", no_args_is_help=True
)


@dev.command("show")
def show_command(
    ctx: typer.Context,
    name: NamespaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """The ports of the namespace: each product built there and its current version."""
    found = namespace(mesh_context(ctx).settings, name)
    if as_json:
        print_json(found)
        return
    typer.echo(f"development namespace {found.name} ({found.folder})")
    if not found.ports:
        typer.echo("  nothing built yet: mesh materialize --dev ADDRESS …")
        return
    rows: list[list[object]] = []
    for port in found.ports:
        latest = port.latest
        if latest is None:
            rows.append([f"  {port.address}", "-", "-", "-"])
        else:
            shown = "-" if latest.rows is None else latest.rows
            rows.append([f"  {port.address}", latest.version, shown, f"{latest.published_at:%Y-%m-%d %H:%M}"])
    print_table(["  address", "version", "rows", "published (UTC)"], rows)


@dev.command("reset")
def reset_command(ctx: typer.Context, name: NamespaceOption = None) -> None:
    """Throw the namespace away: its ports, vault, DuckDB files and Dagster instance (its folder). The mesh is not touched."""
    found = reset_namespace(mesh_context(ctx).settings, name)
    if not found.exists:
        typer.echo(f"development namespace {found.name}: nothing to remove ({found.folder} does not exist)")
        return
    typer.echo(f"removed the development namespace {found.name} ({found.folder}, {len(found.ports)} ports)")
