"""`mesh catalog` and `mesh show`: find products and everything about one of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import DomainOption, JsonOption
from mesh_platform.cli.output import fail, format_size, print_json, print_table
from mesh_platform.consume.find import ProductDescription, SearchFilters, describe, search
from mesh_platform.contract.model import DRAFT_STATUSES, Access
from mesh_platform.core import json_values
from mesh_platform.governance.access_log import READERS_WINDOW, AccessLog, Readership
from mesh_platform.runtime.health import ProductBuilds, mesh_health


@dataclass(frozen=True)
class ReadBy:
    """The consumer domains that read a product lately, from the access log."""

    since: dt.datetime = field(metadata={"json_value": lambda moment: moment.isoformat(timespec="seconds")})
    consumers: list[Readership]


@dataclass(frozen=True)
class ProductShown:
    """What `mesh show` prints: the product's description, its builds, who read it lately."""

    description: ProductDescription = field(metadata={"json_inline": True})
    builds: ProductBuilds = field(metadata={"json_inline": True})
    read_by: ReadBy


def catalog_command(
    ctx: typer.Context,
    text: Annotated[
        str | None, typer.Argument(help="Words to find in names, descriptions, columns and glossary terms (all must match).")
    ] = None,
    domain: DomainOption = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", "-o", help="Only products owned by this team (team:sales or sales) or person (e-mail)."),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only products with this contract tag or tier.")] = None,
    column: Annotated[
        str | None, typer.Option("--column", "-c", help="Only products with a column of this name (wildcards: '*country*').")
    ] = None,
    term: Annotated[
        str | None, typer.Option("--term", help="Only products with a column carrying this glossary term (term or term/meaning).")
    ] = None,
    access: Annotated[Access | None, typer.Option("--access", "-a", help="Only products with this access level.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Search the mesh's products: address, owner, access, status, freshness and description of each match."""
    mesh = mesh_context(ctx).checked_view
    if domain and domain not in mesh.catalog.domains:
        raise fail(f"there is no domain '{domain}' (domains: {', '.join(mesh.catalog.domains)})")
    if term and term.partition("/")[0] not in mesh.glossary.terms:
        raise fail(f"the glossary has no term '{term}' (terms: {', '.join(sorted(mesh.glossary.terms))})")
    entries = search(mesh, SearchFilters(text, domain, owner, tag, column, term, access))
    if as_json:
        print_json({"products": entries})
        return
    if not entries:
        typer.echo("no product matches")
        return
    print_table(
        ["address", "owner", "access", "status", "freshness", "description"],
        [[e.address, e.owner, e.access, e.status, e.freshness.state, _shorten(e.description, 70)] for e in entries],
    )


def show_command(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The product's address, mesh://<domain>/<product>.")],
    as_json: JsonOption = False,
) -> None:
    """Everything about one product: contract, columns, SLAs, versions, lineage across domains,
    last materialization and last check results."""
    context = mesh_context(ctx)
    settings, mesh = context.settings, context.checked_view
    product = mesh.catalog.product(address)
    [health] = mesh_health(settings, mesh.glossary, [product])
    since, readers = AccessLog(settings.access_log_target).consumers(product.address)
    described = describe(mesh, product.address, settings.clock.now() if settings.now else None, settings.default_retention)
    shown = ProductShown(described, health.builds, ReadBy(since, readers))
    if as_json:
        print_json(shown)
        return
    _print_description(json_values.as_json(shown))


def _print_description(d: dict) -> None:
    echo = typer.echo
    echo(f"{d['address']}  (contract {d['version']}, {d['status']}, {d['access']})")
    echo(f"  {d['purpose']}")
    if d["usage"]:
        echo(f"  Usage: {d['usage']}")
    if d["limitations"]:
        echo(f"  Limitations: {d['limitations']}")
    echo("")
    if d["status"] in DRAFT_STATUSES:
        echo(
            f"status        {d['status']}: only {d['domain']} reads it, and it changes without new versions; "
            "set status: active to publish it"
        )
    echo(f"owners        {', '.join(d['owners'])}")
    if d["consumers"]:
        echo(f"consumers     {', '.join(d['consumers'])}")
    for index, a in enumerate(a for a in d["agreements"] if a["state"] in ("active", "not started", "requested")):
        scope = (", ".join(a["columns"]) or "every column") + (f"; in clear: {', '.join(a['clear'])}" if a["clear"] else "")
        until = f"until {a['end']}" if a["end"] else "no end"
        echo(
            f"{'agreements' if index == 0 else '':<14}{a['consumer']}: {a['purpose']} ({scope}; {until}; {a['state']}, {a['id']})"
        )
    if d["tier"] or d["tags"]:
        echo(f"tags          {', '.join([*(['tier ' + d['tier']] if d['tier'] else []), *d['tags']])}")
    echo(f"contract      {d['contract_file']}")
    sla = d["sla"]
    echo(
        f"SLA           every {sla['frequency'] or '-'}, at most {sla['latency'] or '-'} late (schedule {sla['schedule'] or '-'})"
    )
    stored = d["storage"]
    retention = f"{stored['retention']} ({stored['retention_source']})" if stored["retention"] else "none: every version stays"
    removed = f"; {stored['versions_removed']} older versions removed" if stored["versions_removed"] else ""
    echo(f"retention     {retention}{removed}")
    ports = [f"{_count(p['versions_kept'], 'version')} of {p['address']} ({format_size(p['bytes'])})" for p in stored["ports"]]
    echo(f"storage       {', '.join(ports) or 'nothing published yet'}")
    fresh = d["freshness"]
    echo(
        f"freshness     {fresh['state']}"
        + (f", last update {_when(fresh['last_update'])}" if fresh["last_update"] else "")
        + (f", due by {_when(fresh['due_by'])}" if fresh["due_by"] else "")
    )
    echo(f"upstream      {', '.join(d['upstream']) or '-'}")
    echo(f"downstream    {', '.join(d['downstream']) or '-'}")
    read_by = [
        f"{r['consumer']} ({r['reads']} read{'s' if r['reads'] != 1 else ''}: {r['builds']} by builds, {r['ad_hoc']} "
        f"ad hoc; last {_when(r['last_at'])})"
        for r in d["read_by"]["consumers"]
    ]
    echo(f"read by       {', '.join(read_by) or 'no other domain'} in the last {READERS_WINDOW.days} days (access log)")
    echo("")
    echo("columns")
    print_table(
        ["  name", "type", "required", "classification", "term", "description"],
        [
            [
                f"  {c['name']}" + (" (key)" if c["primary_key"] else ""),
                c["type"],
                "yes" if c["required"] else "",
                c["classification"] or "-",
                c["term"] or "",
                _shorten(c["description"], 50),
            ]
            for c in d["columns"]
        ],
    )
    if d["relationships"] or d["referenced_by"]:
        echo("")
        echo("relationships (foreign keys, checked on every build)")
        for r in d["relationships"]:
            columns = r["columns"][0] if len(r["columns"]) == 1 else f"({', '.join(r['columns'])})"
            references = r["references"][0] if len(r["references"]) == 1 else f"({', '.join(r['references'])})"
            echo(f"  {columns} → {r['product']}.{references}  ({r['severity']})")
        if d["referenced_by"]:
            echo(f"  referenced by {', '.join(d['referenced_by'])}")
    echo("")
    echo("versions")
    kept = [v for v in d["versions"] if v["kept"]]
    if kept:
        print_table(
            ["  version", "published", "rows", "contract", "wrote"],
            [
                [f"  {v['version']}", _when(v["published_at"]), _or_dash(v["rows"]), _or_dash(v["contract_version"]), v["wrote"]]
                for v in kept
            ],
        )
    else:
        echo("  not published yet")
    echo("")
    last = d["last_materialization"]
    echo(
        "last materialization  "
        + (
            f"{_when(last['at'])}, run {last['run_id']}, {last['rows']} rows, port version {last['port_version']}"
            if last
            else "none"
        )
    )
    if d["last_failure"]:
        failure = d["last_failure"]
        echo(f"last failure          {_when(failure['at'])}, run {failure['run_id']}: {failure['reason']}")
    echo("")
    echo("checks")
    print_table(
        ["  check", "state", "severity", "evaluated"],
        [
            [f"  {c['name']}", "FAILED" if c["state"] == "failed" else c["state"], c["severity"], _when(c["at"])]
            for c in d["checks"]
        ],
    )


def _or_dash(value: object) -> object:
    return "-" if value is None else value


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
