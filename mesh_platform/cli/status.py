"""`mesh status`: the health of every product, from the Dagster instance; exit 1 to drive an alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import DomainOption, JsonOption, at_option
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.runtime.health import ProductHealth, mesh_health


@dataclass(frozen=True)
class StatusReport:
    """What `mesh status --json` prints: when health was judged, the verdict, each product's health."""

    at: str  # ISO 8601
    healthy: bool
    products: list[ProductHealth]


def status_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    domain: DomainOption = None,
    at: Annotated[
        str | None,
        at_option("Judge freshness at this time (ISO 8601, UTC unless it says), e.g. to rehearse an alert."),
    ] = None,
) -> None:
    """Report every product's last successful build, freshness against its SLA, failing checks and
    last failed run. Exit 1 when a product is late or an error-severity check fails."""
    context = mesh_context(ctx)
    settings, mesh = context.settings, context.view
    catalog = mesh.catalog
    if domain and domain not in catalog.domains:
        raise fail(f"there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
    now = parse_time(at) if at else dt.datetime.now(dt.UTC)
    products = sorted(catalog.in_domain(domain) if domain else catalog.products.values(), key=lambda p: p.address)
    report = mesh_health(settings, mesh.glossary, products, now)
    unhealthy = [h for h in report if not h.healthy]
    if as_json:
        print_json(StatusReport(now.isoformat(), not unhealthy, report))
    else:
        rows = []
        for h in report:
            last = h.freshness.last_update.strftime("%Y-%m-%d %H:%M") if h.freshness.last_update else "-"
            failing = ", ".join(c.name + ("" if c.severity == "error" else " (warning)") for c in h.failing) or "-"
            failure = f"{h.last_failure.at:%Y-%m-%d %H:%M}: {h.last_failure.reason}" if h.last_failure else "-"
            state = (
                f"{h.freshness.state} (to {h.freshness.latest_partition})" if h.freshness.latest_partition else h.freshness.state
            )
            rows.append([h.address, state, last, failing, failure[:90]])
        print_table(["product", "freshness", "last success (UTC)", "failing checks", "last failed run"], rows)
        late = sum(h.freshness.state == "late" for h in report)
        with_failures = sum(bool(h.failing_errors) for h in report)
        typer.echo(
            f"{len(report)} products: {len(report) - len(unhealthy)} healthy, {late} late, {with_failures} with failing checks"
        )
    if unhealthy:
        raise typer.Exit(code=1)


def parse_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--at '{text}' is not an ISO 8601 time, e.g. 2026-12-01T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
