"""`mesh ui` and `mesh demo`: serve the Dagster UI; the demo seeds and materializes first."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.materialize import materialize_command
from mesh_platform.cli.options import PortOption, port_option, rows_option
from mesh_platform.cli.output import say, warn_reach
from mesh_platform.cli.seed import seed
from mesh_platform.demo import DEFAULT_ROWS
from mesh_platform.runtime.ui import serve_daemon, serve_ui, ui_port


def ui(ctx: typer.Context, port: PortOption = None) -> None:
    """Serve the Dagster UI for every domain on 127.0.0.1 until stopped (Ctrl-C, SIGTERM).

    Embedded, with the daemon (dagster dev); in a deployment, the webserver alone, as Dagster runs it in
    production: run `mesh daemon` beside it."""
    settings = mesh_context(ctx).settings
    port = port or ui_port()
    warn_reach(settings)
    raise typer.Exit(code=serve_ui(settings, port, say))


def daemon(ctx: typer.Context) -> None:
    """Run Dagster's daemon for a deployment until stopped (Ctrl-C, SIGTERM).

    Schedules, sensors, automation and the run queue, which launches the queued runs through the domains'
    code servers; the webserver (mesh ui) runs beside it, each a service of its own."""
    settings = mesh_context(ctx).settings
    warn_reach(settings)
    raise typer.Exit(code=serve_daemon(settings, say))


def demo(
    ctx: typer.Context,
    rows: Annotated[int, rows_option("Size of the demo data (sales orders).")] = DEFAULT_ROWS,
    port: Annotated[int | None, port_option("UI port (default: MESH_UI_PORT or 3000).")] = None,
) -> None:
    """Seed the demo data, materialize every product of every domain, then serve the UI."""
    typer.echo("1/3 seeding demo source data")
    seed(ctx, rows=rows, random_seed=7)
    typer.echo(f"2/3 materializing all {len(mesh_context(ctx).catalog.products)} products")
    try:
        materialize_command(ctx, addresses=[], all_products=True, domains=[])
    except typer.Exit:
        typer.echo("some products failed (above); serving the UI anyway, where each run shows why", err=True)
    typer.echo("3/3 serving the UI")
    ui(ctx, port=port)
