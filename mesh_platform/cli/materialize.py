"""`mesh materialize`: build and publish products through Dagster runs."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import DevOption, domain_option
from mesh_platform.cli.output import fail, warn_reach
from mesh_platform.runtime.materialize import materialize
from mesh_platform.runtime.progress import BatchStarted, ProductFinished, ProductOutcome, ProgressEvent, RunRecovered
from mesh_platform.runtime.selection import select_related


def materialize_command(
    ctx: typer.Context,
    addresses: Annotated[
        list[str] | None,
        typer.Argument(
            help="Products to materialize, by address (mesh://<domain>/<product>); "
            "+ADDRESS adds everything it reads, ADDRESS+ everything that reads it."
        ),
    ] = None,
    all_products: Annotated[bool, typer.Option("--all", help="Materialize every product of every domain.")] = False,
    domains: Annotated[list[str] | None, domain_option("Materialize every product of this domain (repeatable).")] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Runs side by side at most (default: one per core).")
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option("--partition", "-p", help="Build this partition of the partitioned products selected (e.g. 2026-11-01)."),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="Build the partitions from this one (with --to): a backfill in one run.")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="…up to and including this one.")] = None,
    dev: DevOption = False,
) -> None:
    """Materialize products in dependency order, across domains, against the instance in MESH_HOME.

    Domains that do not read each other build side by side. As in Dagster's selection
    syntax, +ADDRESS selects the product and everything upstream (2+ADDRESS: two layers),
    ADDRESS+ the product and everything downstream.

    A partitioned product builds the partitions --partition or --from/--to name (replacing
    only those in its port), else every partition up to the newest complete one.

    With --dev the selection builds in your development namespace: each input it does not
    select is read from the mesh's ports, as its domain may read it; each it selects, from
    the namespace. `mesh query --dev` reads the result, `mesh dev reset` throws it away."""
    partitions = _partition_range(partition, first, last)
    context = mesh_context(ctx)
    settings, catalog = context.settings, context.catalog
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
        if broken:
            raise fail(f"nothing to build: {len(broken)} product folders are broken (listed above)")
        if not (all_products or domains):
            raise fail("nothing selected; give addresses, --domain D or --all")
        # A mesh (or a domain) with nothing to build yet is not an error.
        owners = (
            "the mesh has"
            if all_products
            else f"{', '.join(dict.fromkeys(domains or []))} {'has' if len(set(domains or [])) == 1 else 'have'}"
        )
        typer.echo(f"{owners} no products yet: nothing to build (mesh new product DOMAIN/NAME --template T adds one)")
        return
    warn_reach(settings)
    where = ""
    if dev:
        settings = settings.in_dev(products=tuple(dict.fromkeys(catalog.product(a).address for a in selection)))
        name = settings.dev.name if settings.dev else ""
        where = f" into the development namespace {name}; read them with mesh query --dev, throw them away with mesh dev reset"
        typer.echo(
            f"development namespace {name} ({settings.dev_home}): no consumer reads it; "
            "the mesh's ports, vault and instance are not touched"
        )
    report = materialize(
        dict.fromkeys(selection), settings, on_progress=_print_progress, jobs=jobs, partitions=partitions, catalog=catalog
    )
    done = sum(o.status == "materialized" for o in report.outcomes)
    if report.ok and not broken:
        typer.echo(f"materialized {done} products{where}")
        return
    if report.ok:
        raise fail(f"materialized {done} products; {len(broken)} product folders are broken (listed above)")
    failure = report.failures[0]
    raise fail(
        f"{len(report.failures)} of {len(report.outcomes)} products not materialized; first: {failure.address}: {failure.reason}"
    )


def _partition_range(partition: str | None, first: str | None, last: str | None) -> tuple[str, str] | None:
    if partition is not None and (first or last):
        raise fail("give --partition KEY, or --from KEY --to KEY, not both")
    if partition is not None:
        return partition, partition
    if bool(first) != bool(last):
        raise fail("--from and --to go together: --from 2026-11-01 --to 2026-11-30")
    return (first, last) if first and last else None


def _print_progress(event: ProgressEvent) -> None:
    match event:
        case RunRecovered(dead):
            typer.echo(f"  ! run {dead.run_id} ({dead.job_name}): {dead.message}; its domain is free again", err=True)
        case BatchStarted(batch):
            partitions = f" (partitions {batch.partitions[0]}…{batch.partitions[1]})" if batch.partitions else ""
            typer.echo(f"▶ {batch.domain}: {', '.join(p.address.product for p in batch.products)}{partitions}")
        case ProductFinished(outcome):
            typer.echo(_outcome_line(outcome))


def _outcome_line(outcome: ProductOutcome) -> str:
    if outcome.status == "materialized":
        partitions = f", partitions {outcome.partitions}" if outcome.partitions else ""
        return f"  ✓ {outcome.address}  version {outcome.version}, {outcome.rows:,} rows{partitions}, {outcome.seconds:.1f}s"
    mark = "✗" if outcome.status == "failed" else "–"
    return f"  {mark} {outcome.address}  {outcome.status}: {outcome.reason}"
