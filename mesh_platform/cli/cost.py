"""`mesh cost`: run time, rows and bytes of every product's builds over a window, per product and domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import DomainOption, json_option, since_option
from mesh_platform.cli.output import fail, format_size, print_json, print_table
from mesh_platform.runtime.cost import DEFAULT_WINDOW, Cost, mesh_cost, window_start


def cost_command(
    ctx: typer.Context,
    domain: DomainOption = None,
    since: Annotated[
        str,
        since_option("The window: a duration back from now (30d, 12h, 90min, 2w) or a time (ISO 8601, UTC unless it says)."),
    ] = DEFAULT_WINDOW,
    as_json: Annotated[bool, json_option("Print JSON (exact numbers: seconds, rows, bytes).")] = False,
) -> None:
    """Report what building the products cost since a time: per product and domain, the builds (failed
    ones among them), their run time, and the rows and bytes they published, read from Dagster's runs."""
    context = mesh_context(ctx)
    settings, catalog = context.settings, context.catalog
    if domain and domain not in catalog.domains:
        raise fail(f"--domain: there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
    now = dt.datetime.now(dt.UTC)
    try:
        start = window_start(since, now)
    except ValueError as error:
        raise fail(f"--since {error}") from None
    report = mesh_cost(settings, start, now, domain)
    if as_json:
        print_json(report)
        return
    window = f"since {start:%Y-%m-%d %H:%M} UTC"
    if not report.builds:
        typer.echo(f"no product was built {window}" + (f" in the {domain} domain" if domain else ""))
        return
    headers = ["builds", "failed", "run time", "rows", "bytes"]
    print_table(["product", *headers], [[str(p.address), *_cells(p.cost)] for p in report.products])
    typer.echo("")
    print_table(["domain", *headers], [[d.domain, *_cells(d.cost)] for d in report.domains] + [["total", *_cells(report.total)]])
    total = report.total
    typer.echo(
        f"{window}: {total.builds} builds of {len(report.products)} products, {_duration(total.seconds)}, {total.rows:,} rows, "
        f"{format_size(total.bytes)} written"
    )


def _cells(cost: Cost) -> list[str]:
    return [str(cost.builds), str(cost.failed), _duration(cost.seconds), f"{cost.rows:,}", format_size(cost.bytes)]


def _duration(seconds: float) -> str:
    """`0.4s`, `12.3s`, `4m 05s`, `2h 03m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
