"""`mesh deploy`: what a deployment is, and the files other tools take to run it (Helm values)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import EnvOption, json_option, output_option
from mesh_platform.cli.output import print_json, warn_reach
from mesh_platform.runtime.code_servers import code_servers, workspace_file
from mesh_platform.runtime.kubernetes import render

deploy = typer.Typer(
    help="Deployments: deploy/<env>.yaml, chosen with mesh --env ENV (default: local, embedded).", no_args_is_help=True
)


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
        "runs": (
            {**deployment.runs.model_dump(), "builds_per_domain": "one at a time (the domain's DuckDB file has one writer)"}
            if deployment.runs
            else "Dagster's defaults"
        ),
        "port_store": settings.port_store_uri,
        "code_locations": (
            {s.domain.name: f"grpc {s.host}:{s.port}" for s in code_servers(settings)}
            if deployment.code_servers
            else "Python modules of workspace.yaml"
        ),
        "workspace": str(workspace_file(settings)),
        "notifications": deployment.notifications.described() if deployment.notifications else "off (no notifications: block)",
    }
    typer.echo(yaml.safe_dump(summary, sort_keys=False).rstrip())
    warn_reach(settings)


@deploy.command("k8s")
def k8s_command(
    ctx: typer.Context,
    output: Annotated[Path | None, output_option("Write the values to this file (default: print them).")] = None,
    env: EnvOption = None,
) -> None:
    """Render the values of Dagster's Helm chart for this deployment (its kubernetes: block): one code
    server deployment per domain, PostgreSQL, the K8sRunLauncher and the run queue."""
    context = mesh_context(ctx, require_environment=False, environment=env)
    text = render(context.settings, context.catalog)  # rendered anywhere: the cluster has the secrets
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    typer.echo(f"wrote {output}")


@deploy.command("access")
def access_command(
    ctx: typer.Context,
    env: EnvOption = None,
    output: Annotated[Path | None, output_option("Write the policies here (default: MESH_HOME/deploy/ENV/access).")] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help=(
                "Apply them through the store's IAM API: a user mesh-<principal> each, its key written under "
                "MESH_HOME/deploy/ENV/credentials."
            ),
        ),
    ] = False,
    as_json: Annotated[bool, json_option("Print the result as JSON.")] = False,
) -> None:
    """Render one least-privilege store policy per principal from the contracts (a domain writes only its own
    ports, vault and landing prefixes; every principal reads only the ports it is granted, clear columns only
    by unmaskedFor), as S3 (IAM) policy documents; with --apply, apply them to the store."""
    from mesh_platform.governance.store_policies import store_policies
    from mesh_platform.runtime.store_access import (
        AccessDeployed,
        access_folder,
        apply_policies,
        refuse_on_kubernetes,
        write_policies,
    )

    context = mesh_context(
        ctx, require_environment=False, environment=env
    )  # rendered anywhere; applied where the store is reached
    if apply:
        refuse_on_kubernetes(context.settings)
        context = mesh_context(ctx, environment=env)
    settings = context.settings
    policies = store_policies(context.view, settings)
    written = write_policies(policies, output or access_folder(settings))
    applied = apply_policies(settings, policies) if apply else None
    if as_json:
        print_json(AccessDeployed(written, applied))
        return
    by_name = {p.principal: p for p in policies}
    for item in written:
        policy = by_name[item.principal]
        what = f"reads {len(policy.granted)} ports" + (f", {len(policy.clear)} clear columns" if policy.clear else "")
        what += ", writes its own prefixes" if policy.writes else ""
        typer.echo(f"{item.principal:<20} {what:<52} {item.file}")
        if item.too_large_for_aws:
            typer.echo(
                f"  note: {item.characters} characters: more than AWS allows an IAM user's inline policies (2,048); "
                "attach it as a managed policy there"
            )
    if applied is None:
        typer.echo(
            f"wrote {len(written)} policies; apply them with mesh --env {settings.deployment.name} deploy access --apply"
            + (
                " (onebox), or attach them to each domain's service account's role (Kubernetes)"
                if settings.deployment.kubernetes
                else ""
            )
        )
        return
    for bucket in applied.buckets_created:
        typer.echo(f"created the bucket {bucket}")
    for principal in applied.principals:
        key = f"new key in {principal.credentials}" if principal.key_created else "its key unchanged"
        typer.echo(f"applied {principal.user}{' (new user)' if principal.user_created else ''}: policy replaced, {key}")
    for user in applied.revoked:
        typer.echo(f"removed the store policy of {user}: no principal of the mesh any more (the user and its keys stay)")
