"""`mesh query`: SQL over the products a principal may read, printed or written to a file."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import as_option, dev_option, json_option, output_option
from mesh_platform.cli.output import fail, print_table
from mesh_platform.consume.query import QueryFormat, output_format, run_query, write_result
from mesh_platform.core.user_files import UnreadableFileError, read_user_text
from mesh_platform.governance.access import CONSUMER_ENV
from mesh_platform.storage.ports import DevPortStore

MAX_QUERY_BYTES = 10 * 1024 * 1024  # a query file far beyond any query: a wrong file given, not SQL


def query_command(
    ctx: typer.Context,
    sql: Annotated[
        str | None,
        typer.Argument(help='The SQL; products are tables <domain>.<product> (older majors: <domain>."<product>@v1").'),
    ] = None,
    as_principal: Annotated[
        str | None,
        as_option(
            "The principal to read as (a domain or a declared consumer; default MESH_CONSUMER): its access "
            "applies, and the read is logged. Embedded: unverified; in a deployment: the store credentials' "
            "principal, which it must match."
        ),
    ] = None,
    sql_file: Annotated[
        str | None, typer.Option("--file", help="Read the SQL from this file instead (- for standard input).")
    ] = None,
    file_format: Annotated[
        QueryFormat | None,
        typer.Option("--format", "-f", help="How to write the result (default: from --output's extension, else table)."),
    ] = None,
    output: Annotated[
        Path | None,
        output_option("Write the result to this file (Parquet, CSV, JSON or a DuckDB database)."),
    ] = None,
    table: Annotated[str, typer.Option("--table", help="The table name in a DuckDB --output file.")] = "result",
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows printed as a table at most.")] = 1000,
    as_json: Annotated[bool, json_option("Print the rows as JSON (the same as --format json).")] = False,
    dev: Annotated[bool, dev_option("Read what mesh materialize --dev built from your namespace.")] = False,
) -> None:
    """Run SQL in an in-memory DuckDB over the mesh's products, as a principal, with access rules applied."""
    sql = _query_text(sql, sql_file)
    chosen = output_format(output, file_format or ("json" if as_json else None))
    if chosen in ("parquet", "duckdb") and output is None:
        raise typer.BadParameter(f"{chosen} needs --output FILE", param_hint="--format")
    context = mesh_context(ctx)
    reading = context.in_dev() if dev else context
    settings, reader = reading.settings, reading.reader
    claimed = as_principal or os.environ.get(CONSUMER_ENV) or None
    identity = reading.identity(claimed, "--as" if as_principal else CONSUMER_ENV)
    if identity.notice:
        typer.echo(identity.notice, err=True)
    if identity.principal is None:
        raise fail("give --as NAME: the principal to query as (a domain, or a consumer declared in the principals file)")
    result = run_query(sql, identity.principal, reader, settings.macros_file, context.view.glossary)
    if isinstance(reader.ports, DevPortStore):
        held = [a for a in result.products if reader.ports.holds(reader.catalog.port_address(a))]
        said = ", ".join(held) if held else "none of the products the query reads"
        typer.echo(f"from the development namespace {reader.ports.namespace}: {said}; the rest from the mesh's ports", err=True)
    if output is not None:
        rows = write_result(result, output, chosen, table)
        typer.echo(f"wrote {rows} rows to {output} ({chosen}" + (f", table {table})" if chosen == "duckdb" else ")"), err=True)
        return
    relation = result.relation
    if chosen == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(relation.columns)
        writer.writerows(relation.fetchall())
    elif chosen == "json":
        records = [dict(zip(relation.columns, row)) for row in relation.fetchall()]
        typer.echo(json.dumps(records, indent=2, default=_json_value))
    else:
        shown = relation.limit(max_rows + 1).fetchall()
        print_table(relation.columns, [["" if v is None else v for v in row] for row in shown[:max_rows]], upper=False)
        if len(shown) > max_rows:
            typer.echo(f"(first {max_rows} rows; write all with --output FILE)", err=True)


def _query_text(sql: str | None, sql_file: str | None) -> str:
    """The query: the argument, or the text of --file (a regular file of at most MAX_QUERY_BYTES, or - for standard input)."""
    if (sql is None) == (sql_file is None):
        raise fail(
            "give the SQL as an argument or with --file FILE (- for standard input), not both"
            if sql
            else "give the SQL as an argument, or --file FILE (- for standard input)"
        )
    if sql is not None:
        return sql
    if sql_file == "-":
        text = sys.stdin.read(MAX_QUERY_BYTES + 1)
        where = "standard input"
    else:
        path = Path(str(sql_file))
        try:
            text = read_user_text(path, "SQL", limit=MAX_QUERY_BYTES, fix="write large results with --output, not large queries")
        except UnreadableFileError as error:
            raise fail(f"--file {error}") from None
        where = str(path)
    if len(text) > MAX_QUERY_BYTES:
        raise fail(
            f"--file {where}: the query is longer than {MAX_QUERY_BYTES:,} bytes; write large results with --output, "
            "not large queries"
        )
    if not text.strip():
        raise fail(f"--file {where}: holds no SQL")
    return text


def _json_value(value: Any) -> Any:
    """JSON for what DuckDB returns beyond JSON's types: decimals as numbers, times as ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)
