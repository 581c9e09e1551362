"""`mesh serve`: the domains' gRPC code servers of a deployment with `code_servers`."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.output import say, warn_reach
from mesh_platform.runtime.code_servers import code_server, code_servers, serve


def serve_command(
    ctx: typer.Context,
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to serve (default: every domain of workspace.yaml).")
    ] = None,
) -> None:
    """Serve domains' code locations over gRPC, one Dagster code server each, until stopped (Ctrl-C, SIGTERM).

    The deployment (mesh --env ENV, or MESH_ENV) says where: its code_servers block. A server that dies is
    started again while the others keep serving; serve each domain alone (one `mesh serve DOMAIN` each) to
    restart or upgrade it without the others."""
    context = mesh_context(ctx)
    settings = context.settings
    servers = [code_server(settings, name) for name in domains] if domains else code_servers(settings)
    warn_reach(settings)
    raise typer.Exit(code=serve(settings, context.catalog, servers, say))
