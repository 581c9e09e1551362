"""Self-serve SQL over the mesh, as one principal (a domain or a declared consumer): `mesh query --as NAME "SQL"`.

An in-memory DuckDB in which each product appears as the table
`<domain>.<product>` (its current major version; `<domain>."<product>@v1"` for
an older one still served). Only the products the SQL names are opened, each
through the same reader as builds and the Python API: the access rules apply
(a product the consumer may not read is refused, personal columns arrive masked)
and every cross-domain read is logged. Results stream out of DuckDB: printed, or
written to Parquet, CSV, JSON or a DuckDB database file. The query may use the platform's SQL
functions and SQL macros: the mesh's and, for a domain, the domain's own (`core.sql_macros`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.address import Address
from mesh_platform.core.errors import MacroError, MeshError
from mesh_platform.core.sql import literal, quote, select_problem
from mesh_platform.core.sql_macros import SqlMacros
from mesh_platform.governance.agreements import uncovered_column
from mesh_platform.governance.glossary import Glossary, register_term_parameter
from mesh_platform.governance.reads import PortReader
from mesh_platform.storage.sandbox import sandbox
from mesh_platform.storage.sql_functions import register_sql_functions

if TYPE_CHECKING:
    import duckdb

QueryFormat = Literal["table", "csv", "json", "parquet", "duckdb"]  # how a query's result is written
FORMATS: tuple[str, ...] = get_args(QueryFormat)
_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".duckdb": "duckdb",
    ".db": "duckdb",
}
_TABLE = re.compile(r'^(?:"?(?P<schema>[^".]+)"?\.)?"?(?P<table>[^"]+?)"?(?:\s+AS\s+.*)?$', re.IGNORECASE)


@dataclass(frozen=True)
class QueryResult:
    connection: duckdb.DuckDBPyConnection
    relation: duckdb.DuckDBPyRelation
    products: list[str]  # the addresses the query read


def run_query(
    sql: str, consumer: str, reader: PortReader, macros_file: Path | None = None, glossary: Glossary | None = None
) -> QueryResult:
    """Open the products `sql` names as `consumer` may see them; return the lazy result relation.

    The query runs in a sandboxed DuckDB (`storage.sandbox`): it sees the products it names, as
    the consumer may see them, and no file; it must be one SELECT. It runs as the consumer's SQL:
    with the platform's SQL functions (`term_parameter` in the consumer's meaning, with a `glossary`),
    and the mesh's macros (`macros_file`) and the consumer's own."""
    import duckdb

    catalog = reader.catalog
    if reader.principals is not None:
        reader.principals.get(consumer)
    elif consumer not in catalog.domains:
        raise MeshError(f"there is no domain '{consumer}' to query as (domains: {', '.join(catalog.domains)})")
    if problem := select_problem(sql):
        raise MeshError(f"the query cannot run: {problem} (write results with --output)")
    macros = (
        SqlMacros.of_domain(macros_file, catalog.domains[consumer].folder)
        if consumer in catalog.domains
        else SqlMacros.of([macros_file])
    )
    if problems := macros.problems():
        raise MacroError(problems)
    connection = sandbox()
    addresses = referenced_products(connection, sql, catalog)
    opened_products = []
    for address in addresses:
        opened = reader.open(address, consumer, connection=connection, via="mesh query")
        opened_products.append(opened)
        hidden = f"__mesh_{address.domain}_{address.product}_{address.major or 0}"
        connection.register(hidden, opened.relation)
        name = address.product if address.major is None else f"{address.product}@v{address.major}"
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(address.domain)}")
        connection.execute(f"CREATE OR REPLACE VIEW {quote(address.domain)}.{quote(name)} AS SELECT * FROM {hidden}")
    register_sql_functions(connection)
    if glossary is not None:
        register_term_parameter(connection, glossary, consumer)
    unavailable = macros.install(connection)  # after the products' views: a macro reading one binds to it
    try:
        relation = connection.sql(sql)
    except duckdb.PermissionException as error:
        raise MeshError(
            f"the query may read only the products it names (tables <domain>.<product>), no file: {str(error).splitlines()[0]}"
        ) from None
    except duckdb.Error as error:
        if (missing := _MISSING_COLUMN.search(str(error))) is not None:
            for opened in opened_products:  # a column left out because no agreement in force covers it: that denial
                contract = catalog.product(opened.address).contract
                if denial := uncovered_column(contract, consumer, missing["name"], catalog.agreements, reader.clock.today()):
                    raise denial from None
        why = macros.explain(error, unavailable)
        raise MeshError(f"the query failed: {str(error).splitlines()[0]}" + (f" ({why})" if why else "")) from None
    if relation is None:
        raise MeshError("the query returns no rows to show: give a SELECT (or WITH … SELECT) statement")
    return QueryResult(connection, relation, [str(a) for a in addresses])


_MISSING_COLUMN = re.compile(r'Referenced column "(?P<name>[^"]+)" not found')


def referenced_products(connection: duckdb.DuckDBPyConnection, sql: str, catalog: Catalog) -> list[Address]:
    """The products `sql` names as `<domain>.<product>` (or `<domain>."<product>@vN"`)."""
    import duckdb

    try:
        names = connection.get_table_names(sql, qualified=True)
    except duckdb.ParserException as error:
        raise MeshError(f"the query is not valid SQL: {str(error).splitlines()[0]}") from None
    except duckdb.Error:  # binding a table function failed (e.g. a file that does not exist); DuckDB reports it on run
        names = set(re.findall(r'\b([a-z][a-z0-9_]*\."?[a-z][a-z0-9_]*(?:@v\d+)?"?)', sql))
    found: dict[str, Address] = {}
    for name in names:
        match = _TABLE.match(name.strip())
        if not match or not match["schema"] or match["schema"] not in catalog.domains:
            continue
        address = Address.parse(f"mesh://{match['schema']}/{match['table']}")
        catalog.product(address)  # an unknown product names the domain's products
        found[str(address)] = address
    return [found[key] for key in sorted(found)]


def output_format(output: Path | None, requested: str | None) -> str:
    """The format to write: the one asked for, else the output file's extension, else a table."""
    if requested:
        if requested not in FORMATS:
            raise MeshError(f"format '{requested}' is unknown; use one of: {', '.join(FORMATS)}")
        return requested
    if output is None:
        return "table"
    try:
        return _EXTENSIONS[output.suffix.lower()]
    except KeyError:
        raise MeshError(
            f"cannot tell the format of {output} from its extension; add --format ({', '.join(FORMATS[1:])})"
        ) from None


def write_result(result: QueryResult, output: Path, file_format: str, table: str = "result") -> int:
    """Write the result to `output` (replacing it) and return the number of rows written.

    The platform writes it, from a connection of its own: the query's sandbox writes no file.
    Rows stream from one to the other as Arrow record batches."""
    import duckdb

    if file_format not in ("parquet", "csv", "json", "duckdb"):
        raise MeshError(f"--output writes parquet, csv, json or duckdb, not {file_format}")
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = result.relation.to_arrow_reader()
    if file_format == "duckdb":
        output.unlink(missing_ok=True)
        with duckdb.connect(str(output)) as writer:
            writer.register("mesh_result", rows)
            writer.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM mesh_result")
            return writer.execute(f"SELECT count(*) FROM {quote(table)}").fetchall()[0][0]
    options = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true", "json": "FORMAT json"}[file_format]
    with duckdb.connect() as writer:
        writer.register("mesh_result", rows)
        return writer.execute(f"COPY (SELECT * FROM mesh_result) TO {literal(str(output))} ({options})").fetchall()[0][0]
