"""`mesh reset`: empty the mesh's state (MESH_HOME), keep its sources."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import dry_run_option
from mesh_platform.cli.output import fail
from mesh_platform.runtime.reset import reset, reset_plan


def reset_command(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed where there is no terminal to ask on).")] = False,
    dry_run: Annotated[bool, dry_run_option("Only list what would be removed and kept.")] = False,
) -> None:
    """Delete the mesh's state — Dagster's runs, the DuckDB workspaces, the ports, the vault, the access log —
    and keep the source files in the landing zone. The next mesh materialize --all builds everything anew."""
    settings = mesh_context(ctx).settings
    plan = reset_plan(settings)
    if not plan.remove:
        typer.echo(f"nothing to reset: {plan.home} holds no state of the mesh")
        return
    for path in plan.remove:
        typer.echo(f"  remove {path}")
    for path in plan.keep:
        typer.echo(f"  keep   {path}  (not the mesh's state)")
    typer.echo(f"  keep   {plan.landing}  (the landing zone: the source files)")
    if dry_run:
        typer.echo(f"would remove {len(plan.remove)} entries of {plan.home} ({plan.bytes / 1e6:,.1f} MB)")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise fail("mesh reset deletes the mesh's state; pass --yes to confirm where no terminal can ask")
        typer.confirm(f"delete these {len(plan.remove)} entries of {plan.home}?", abort=True)
    size = plan.bytes
    reset(plan)
    typer.echo(f"removed {len(plan.remove)} entries of {plan.home} ({size / 1e6:,.1f} MB); the source files are kept")
