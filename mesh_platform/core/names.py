"""Names of domains, products and columns: lowercase identifiers that are safe in paths, Python and SQL.

Refused, each with its reason (the README's "Names" section lists them):
  every name   Python's keywords and DuckDB's reserved words (`SELECT * FROM duckdb_keywords()`),
               which SQL would need quoted wherever a product is read
  a domain     the names below: each domain is a schema in `mesh query` and the prefix of its policies' ids
"""

from __future__ import annotations

import functools
import keyword
import re

from mesh_platform.core.errors import MeshError

MAX_LENGTH = 63
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
# Names a domain cannot take, and why.
RESERVED_DOMAIN_NAMES = {
    "main": "DuckDB's default schema",
    "temp": "DuckDB's catalog of temporary tables",
    "system": "DuckDB's system catalog",
    "memory": "the catalog of DuckDB's in-memory database",
    "information_schema": "DuckDB's catalog of the database's tables",
    "pg_catalog": "DuckDB's PostgreSQL-compatible catalog",
    "mesh": "the prefix of the platform's own policies (mesh.…)",
    "governance": "the prefix of the governance group's policies (governance.…)",
}


@functools.cache
def sql_reserved_words() -> frozenset[str]:
    """DuckDB's reserved keywords, from DuckDB itself."""
    import duckdb

    with duckdb.connect() as connection:
        rows = connection.sql("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(r[0] for r in rows)


def check_name(name: str, what: str) -> str:
    """Return `name` if it can name a `what` (domain, product or column); raise a one-line `MeshError` saying why not."""
    if not _IDENTIFIER.match(name):
        raise MeshError(
            f"{what} name '{name}' is not allowed: use lowercase letters, digits and _ , starting with a letter "
            "(no path separators, spaces or SQL characters)"
        )
    if len(name) > MAX_LENGTH:
        raise MeshError(f"{what} name '{name}' is longer than {MAX_LENGTH} characters")
    if keyword.iskeyword(name):
        raise MeshError(f"{what} name '{name}' is a reserved word (a Python keyword); choose another")
    if name in sql_reserved_words():
        raise MeshError(
            f"{what} name '{name}' is a reserved word of DuckDB's SQL (SELECT * FROM duckdb_keywords() lists them); "
            "choose another"
        )
    if what == "domain" and name in RESERVED_DOMAIN_NAMES:
        raise MeshError(f"domain name '{name}' is reserved: it is {RESERVED_DOMAIN_NAMES[name]}; choose another")
    return name
