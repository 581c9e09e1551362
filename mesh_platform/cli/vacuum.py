"""`mesh vacuum`: remove the port versions retention no longer keeps, and the vault values they alone named."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import DomainOption, at_option, dry_run_option, json_option
from mesh_platform.cli.output import fail, format_size, print_json, print_table
from mesh_platform.cli.status import parse_time
from mesh_platform.core.address import Address
from mesh_platform.core.clock import Clock
from mesh_platform.product.retention import Cleanup, PortRetention, Retention, describe_duration
from mesh_platform.storage.ports import PortStore


def vacuum_command(
    ctx: typer.Context,
    addresses: Annotated[
        list[str] | None, typer.Argument(help="Products (mesh://<domain>/<product>, or one major: …@v1); default: every product.")
    ] = None,
    domain: DomainOption = None,
    dry_run: Annotated[bool, dry_run_option("Say what would be removed; remove nothing.")] = False,
    at: Annotated[
        str | None,
        at_option("With --dry-run: judge retention at this time (ISO 8601, UTC unless it says), to rehearse it."),
    ] = None,
    as_json: Annotated[bool, json_option("Print JSON (exact numbers: versions, files, bytes).")] = False,
) -> None:
    """Remove what retention no longer keeps: old versions of every port (a contract's retention SLA, else the
    mesh's default) and a retired major's whole table, never a version still served; then the clear values of
    each domain's vault that no kept version names. One line per port and vault."""
    context = mesh_context(ctx)
    settings, catalog = context.settings, context.catalog
    if domain and domain not in catalog.domains:
        raise fail(f"--domain: there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
    parsed = [Address.parse(a) for a in addresses or []]
    products = (
        [catalog.product(a) for a in parsed]
        if parsed
        else sorted(catalog.in_domain(domain) if domain else catalog.products.values(), key=lambda p: p.address)
    )
    if domain:
        products = [p for p in products if p.address.domain == domain]
    majors = {a.unversioned(): a.major for a in parsed if a.major is not None}
    if at and not dry_run:
        raise fail("--at only rehearses: add --dry-run (removing as at another time could take what readers are reading now)")
    clock = Clock(parse_time(at)) if at else Clock()
    cleanup = Retention(catalog, PortStore.of(settings), settings.default_retention, clock).clean(products, dry_run, majors)
    if as_json:
        print_json(cleanup)
        return
    _print(cleanup)


def _print(cleanup: Cleanup) -> None:
    verb = "would remove" if cleanup.dry_run else "removed"
    rows = [
        [
            str(p.address),
            _retention(p),
            _versions(p.kept),
            _removed(p),
            p.files,
            format_size(p.bytes),
            format_size(p.stored_bytes),
            p.served,
        ]
        for p in cleanup.ports
    ]
    rows += [
        [
            f"vault of {v.domain}",
            "-",
            f"{v.values_kept:,} values",
            f"{v.values_removed:,} values" if v.values_removed else "-",
            v.files,
            format_size(v.bytes),
            format_size(v.stored_bytes),
            "-",
        ]
        for v in cleanup.vaults
    ]
    if not rows:
        typer.echo("no published port")
        return
    print_table(["port", "retention", "kept", verb, "files", "bytes", "stored", "served"], rows)
    files = sum(p.files for p in cleanup.ports) + sum(v.files for v in cleanup.vaults)
    size = sum(p.bytes for p in cleanup.ports) + sum(v.bytes for v in cleanup.vaults)
    closing = "; nothing was removed (dry run)" if cleanup.dry_run else ""
    typer.echo(f"at {cleanup.at:%Y-%m-%d %H:%M} UTC: {verb} {files} files ({format_size(size)}){closing}")


def _retention(port: PortRetention) -> str:
    return f"{describe_duration(port.retention)} ({port.source})" if port.retention else "none: every version stays"


def _versions(versions: tuple[int, ...]) -> str:
    if not versions:
        return "none"
    span = f"{min(versions)}–{max(versions)}" if len(versions) > 1 else str(versions[0])
    return f"{len(versions)} version{'s' if len(versions) != 1 else ''} ({span})"


def _removed(port: PortRetention) -> str:
    if port.whole_table:
        return f"the whole table ({_versions(port.removed)})"
    return _versions(port.removed) if port.removed else "-"
