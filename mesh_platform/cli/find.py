"""`mesh catalog` and `mesh show`: find products and everything about one of them."""

from __future__ import annotations

import datetime as dt

import typer

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.contract.model import ACCESS_LEVELS
from mesh_platform.consume.find import SearchFilters, describe, search


def catalog_command(
    text: str = typer.Argument(None, help="Words to find in names, descriptions, columns and glossary terms (all must match)."),
    domain: str = typer.Option(None, "--domain", "-d", help="Only this domain's products."),
    owner: str = typer.Option(None, "--owner", "-o", help="Only products owned by this team (team:sales or sales) or person (e-mail)."),
    tag: str = typer.Option(None, "--tag", "-t", help="Only products with this contract tag or tier."),
    column: str = typer.Option(None, "--column", "-c", help="Only products with a column of this name (wildcards: '*country*')."),
    term: str = typer.Option(None, "--term", help="Only products with a column carrying this glossary term (term or term/meaning)."),
    access: str = typer.Option(None, "--access", "-a", help="Only public, restricted or internal products."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the mesh's products: address, owner, access, description and freshness of each match."""
    catalog = Catalog.load()
    if domain and domain not in catalog.domains:
        raise fail(f"there is no domain '{domain}' (domains: {', '.join(catalog.domains)})")
    if access and access not in ACCESS_LEVELS:
        raise fail(f"access '{access}' is unknown; use one of: {', '.join(ACCESS_LEVELS)}")
    if term and term.partition("/")[0] not in catalog.glossary.terms:
        raise fail(f"the glossary has no term '{term}' (terms: {', '.join(sorted(catalog.glossary.terms))})")
    entries = search(catalog, SearchFilters(text, domain, owner, tag, column, term, access))
    if as_json:
        print_json({"products": [e.to_json() for e in entries]})
        return
    if not entries:
        typer.echo("no product matches")
        return
    print_table(
        ["address", "owner", "access", "freshness", "description"],
        [[e.address, e.owner, e.access, e.freshness.state, _shorten(e.description, 70)] for e in entries],
    )


def show_command(
    address: str = typer.Argument(..., help="The product's address, mesh://<domain>/<product>."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Everything about one product: contract, columns, SLAs, versions, lineage across domains,
    last materialization and last check results."""
    from mesh_platform.runtime.health import mesh_health

    catalog = Catalog.load()
    product = catalog.product(address)
    [health] = mesh_health(catalog, [product])
    described = describe(catalog, product.address, health).to_json()
    if as_json:
        print_json(described)
        return
    _print_description(described)


def _print_description(d: dict) -> None:
    echo = typer.echo
    echo(f"{d['address']}  (contract {d['version']}, {d['status']}, {d['access']})")
    echo(f"  {d['purpose']}")
    if d["usage"]:
        echo(f"  Usage: {d['usage']}")
    if d["limitations"]:
        echo(f"  Limitations: {d['limitations']}")
    echo("")
    echo(f"owners        {', '.join(d['owners'])}")
    if d["consumers"]:
        echo(f"consumers     {', '.join(d['consumers'])}")
    if d["tier"] or d["tags"]:
        echo(f"tags          {', '.join([*(['tier ' + d['tier']] if d['tier'] else []), *d['tags']])}")
    echo(f"contract      {d['contract_file']}")
    sla = d["sla"]
    echo(f"SLA           every {sla['frequency'] or '-'}, at most {sla['latency'] or '-'} late (schedule {sla['schedule'] or '-'})")
    fresh = d["freshness"]
    echo(f"freshness     {fresh['state']}" + (f", last update {_when(fresh['last_update'])}" if fresh["last_update"] else "") + (f", due by {_when(fresh['due_by'])}" if fresh["due_by"] else ""))
    echo(f"upstream      {', '.join(d['upstream']) or '-'}")
    echo(f"downstream    {', '.join(d['downstream']) or '-'}")
    echo("")
    echo("columns")
    print_table(
        ["  name", "type", "required", "classification", "term", "description"],
        [[f"  {c['name']}" + (" (key)" if c["primary_key"] else ""), c["type"], "yes" if c["required"] else "", c["classification"] or "-",
          c["term"] or "", _shorten(c["description"], 50)] for c in d["columns"]],
    )
    echo("")
    echo("versions")
    if d["versions"]:
        print_table(["  version", "published", "rows", "contract"], [[f"  {v['version']}", _when(v["published_at"]), v["rows"] if v["rows"] is not None else "-", v["contract_version"] or "-"] for v in d["versions"]])
    else:
        echo("  not published yet")
    echo("")
    last = d["last_materialization"]
    echo("last materialization  " + (f"{_when(last['at'])}, run {last['run_id']}, {last['rows']} rows, port version {last['port_version']}" if last else "none"))
    if d["last_failure"]:
        failure = d["last_failure"]
        echo(f"last failure          {_when(failure['at'])}, run {failure['run_id']}: {failure['reason']}")
    echo("checks")
    for check in d["checks"]:
        state = "never run" if check["passed"] is None else ("passed" if check["passed"] else "FAILED")
        echo(f"  {check['name']:<32} {state:<10} {check['severity']:<8} {_when(check['at']) if check['at'] else ''}")


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
