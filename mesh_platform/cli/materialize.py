"""`mesh materialize`: build and publish products through Dagster runs."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.cli.output import fail
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.materialize import Batch, ProductOutcome, materialize, select_related
from mesh_platform.runtime.recovery import DeadRun


def materialize_command(
    addresses: Annotated[
        list[str] | None,
        typer.Argument(help="Products to materialize, by address (mesh://<domain>/<product>); +ADDRESS adds everything it reads, ADDRESS+ everything that reads it."),
    ] = None,
    all_products: Annotated[bool, typer.Option("--all", help="Materialize every product of every domain.")] = False,
    domains: Annotated[list[str] | None, typer.Option("--domain", "-d", help="Materialize every product of this domain (repeatable).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Runs side by side at most (default: one per core).")] = None,
) -> None:
    """Materialize products in dependency order, across domains, against the instance in MESH_HOME.

    Domains that do not read each other build side by side. As in Dagster's selection
    syntax, +ADDRESS selects the product and everything upstream (2+ADDRESS: two layers),
    ADDRESS+ the product and everything downstream."""
    settings = MeshSettings.from_env()
    catalog = Catalog.load(settings.root)
    broken = dict(catalog.broken) if all_products else {}
    if all_products:
        selection = list(catalog.products)
    else:
        selection = [address for expression in addresses or [] for address in select_related(catalog, expression)]
        for domain in domains or []:
            if domain not in catalog.domains:
                raise fail(f"there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
            selection += [p.address for p in catalog.in_domain(domain)]
            broken.update(catalog.broken_in(domain))
    for error in broken.values():
        typer.echo(f"  ✗ {error.problems[0]}", err=True)
    if not selection:
        raise fail("nothing selected; give addresses, --domain D or --all")
    report = materialize(dict.fromkeys(selection), settings, on_progress=_print_progress, jobs=jobs)
    done = sum(o.status == "materialized" for o in report.outcomes)
    if report.ok and not broken:
        typer.echo(f"materialized {done} products")
        return
    if report.ok:
        raise fail(f"materialized {done} products; {len(broken)} product folders are broken (listed above)")
    first = report.failures[0]
    raise fail(f"{len(report.failures)} of {len(report.outcomes)} products not materialized; first: {first.address}: {first.reason}")


def _print_progress(kind: str, payload: object) -> None:
    if kind == "recovered":
        assert isinstance(payload, DeadRun)
        typer.echo(f"  ! run {payload.run_id} ({payload.job_name}): {payload.message}; its domain is free again", err=True)
    elif kind == "batch":
        assert isinstance(payload, Batch)
        typer.echo(f"▶ {payload.domain}: {', '.join(p.address.product for p in payload.products)}")
    elif kind == "outcome":
        assert isinstance(payload, ProductOutcome)
        typer.echo(_outcome_line(payload))


def _outcome_line(outcome: ProductOutcome) -> str:
    if outcome.status == "materialized":
        return f"  ✓ {outcome.address}  version {outcome.version}, {outcome.rows:,} rows, {outcome.seconds:.1f}s"
    mark = "✗" if outcome.status == "failed" else "–"
    return f"  {mark} {outcome.address}  {outcome.status}: {outcome.reason}"

