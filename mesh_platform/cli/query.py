"""`mesh query`: SQL over the products a domain may read, printed or written to a file."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mesh_platform.cli.choices import QueryFormat
from mesh_platform.cli.output import print_table
from mesh_platform.consume.query import output_format, run_query, write_result
from mesh_platform.consume.read import port_reader
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.view import MeshView


def query_command(
    sql: Annotated[str, typer.Argument(help="The SQL; products are tables <domain>.<product> (older majors: <domain>.\"<product>@v1\").")],
    as_domain: Annotated[str, typer.Option("--as", help="The consuming domain: its access applies, and the read is logged.")],
    file_format: Annotated[QueryFormat | None, typer.Option("--format", "-f", help="How to write the result (default: from --output's extension, else table).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file (Parquet, CSV, JSON or a DuckDB database).")] = None,
    table: Annotated[str, typer.Option("--table", help="The table name in a DuckDB --output file.")] = "result",
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows printed as a table at most.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON (the same as --format json).")] = False,
) -> None:
    """Run SQL in an in-memory DuckDB over the mesh's products, as a domain, with access rules applied."""
    chosen = output_format(output, file_format.value if file_format else "json" if as_json else None)
    if chosen in ("parquet", "duckdb") and output is None:
        raise typer.BadParameter(f"{chosen} needs --output FILE", param_hint="--format")
    settings = MeshSettings.from_env()
    reader = port_reader(settings)
    result = run_query(sql, as_domain, reader, settings.macros_file, MeshView.of(reader.catalog, settings.glossary_file).glossary)
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
        rows = relation.limit(max_rows + 1).fetchall()
        print_table(relation.columns, [["" if v is None else v for v in row] for row in rows[:max_rows]], upper=False)
        if len(rows) > max_rows:
            typer.echo(f"(first {max_rows} rows; write all with --output FILE)", err=True)


def _json_value(value: Any) -> Any:
    """JSON for what DuckDB returns beyond JSON's types: decimals as numbers, times as ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)
