"""`mesh access log`: who read which product, which version, when (its own domain's builds included)."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.output import print_json, print_table
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.runtime.instance import check_reachable

access = typer.Typer(help="Access to products across domains.", no_args_is_help=True)


@access.command("log")
def access_log(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    consumer: Annotated[str | None, typer.Option("--consumer", "-c", help="Only reads by this domain.")] = None,
    product: Annotated[str | None, typer.Option("--product", "-p", help="Only reads of this product (mesh://domain/product).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Only the last N reads.")] = None,
) -> None:
    """Print every read of a product, granted or denied, its owner's builds included, oldest first:
    when, the reading principal, the product and port version, what was masked, and what read it."""
    settings = mesh_context(ctx).settings
    check_reachable(settings)  # a deployment keeps the log in its PostgreSQL database
    log = AccessLog(settings.access_log_target)
    entries = log.entries(consumer=consumer, product=product, limit=limit)
    if as_json:
        print_json({"file": str(log.file) if log.file else None, "database": "PostgreSQL" if log.url else None, "reads": [e.to_json() for e in entries]})
        return
    if not entries:
        typer.echo(f"no cross-domain reads recorded yet ({log.file})")
        return

    def masking(entry) -> str:
        parts = [f"{label} {', '.join(cols)}" for label, cols in (("hashed", entry.hashed), ("dropped", entry.dropped), ("clear", entry.clear)) if cols]
        return "; ".join(parts) or "-"

    print_table(
        ["at", "consumer", "product", "version", "outcome", "personal columns", "via"],
        [[e.at[:19].replace("T", " "), e.consumer, e.product, "-" if e.version is None else e.version, e.outcome, masking(e), e.via] for e in entries],
    )
