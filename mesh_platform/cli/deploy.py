"""`mesh deploy`: what a deployment is, and the files other tools take to run it (Helm values)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.output import warn_reach
from mesh_platform.runtime.code_servers import code_servers, workspace_file
from mesh_platform.runtime.kubernetes import render

deploy = typer.Typer(help="Deployments: deploy/<env>.yaml, chosen with mesh --env ENV (default: local, embedded).", no_args_is_help=True)


EnvOption = Annotated[str | None, typer.Option("--env", help="The deployment, deploy/ENV.yaml (the same as mesh --env ENV).")]


@deploy.command("show")
def show_command(ctx: typer.Context, env: EnvOption = None) -> None:
    """Where this deployment keeps Dagster's state and the ports, how domains are served, how many runs may go."""
    settings = mesh_context(ctx, require_environment=False, environment=env).settings
    deployment = settings.deployment
    summary = {
        "deployment": deployment.name,
        "file": str(deployment.file) if deployment.file else "(none: defaults and the environment)",
        "dagster_home": str(settings.dagster_home),
        "dagster_storage": "PostgreSQL (instance.postgres_url)" if deployment.uses_postgres else "SQLite under dagster_home",
        "runs": ({**deployment.runs.model_dump(), "builds_per_domain": "one at a time (the domain's DuckDB file has one writer)"}
                 if deployment.runs else "Dagster's defaults"),
        "port_store": settings.port_store_uri,
        "code_locations": (
            {s.domain.name: f"grpc {s.host}:{s.port}" for s in code_servers(settings)} if deployment.code_servers
            else "Python modules of workspace.yaml"
        ),
        "workspace": str(workspace_file(settings)),
    }
    typer.echo(yaml.safe_dump(summary, sort_keys=False).rstrip())
    warn_reach(settings)


@deploy.command("k8s")
def k8s_command(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the values to this file (default: print them).")] = None,
    env: EnvOption = None,
) -> None:
    """Render the values of Dagster's Helm chart for this deployment (its kubernetes: block): one code
    server deployment per domain, PostgreSQL, the K8sRunLauncher and the run queue."""
    text = render(mesh_context(ctx, require_environment=False, environment=env).settings)  # rendered anywhere: the cluster has the secrets
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    typer.echo(f"wrote {output}")
