"""Names of domains and products: lowercase identifiers that are safe in paths, Python and SQL."""

from __future__ import annotations

import functools
import keyword
import re

from mesh_platform.core.errors import MeshError

MAX_LENGTH = 63
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the platform itself uses for folders, schemas and packages.
PLATFORM_NAMES = frozenset({"defs", "domains", "templates", "tests", "mesh", "mesh_platform", "staging", "products", "main", "dagster"})


@functools.cache
def sql_reserved_words() -> frozenset[str]:
    """DuckDB's reserved keywords, from DuckDB itself."""
    import duckdb

    with duckdb.connect() as connection:
        rows = connection.sql("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(r[0] for r in rows)


def check_name(name: str, what: str) -> str:
    """Return `name` if it can name a domain or product; raise a one-line `MeshError` saying why not."""
    if not _IDENTIFIER.match(name):
        raise MeshError(
            f"{what} name '{name}' is not allowed: use lowercase letters, digits and _ , starting with a letter "
            "(no path separators, spaces or SQL characters)"
        )
    if len(name) > MAX_LENGTH:
        raise MeshError(f"{what} name '{name}' is longer than {MAX_LENGTH} characters")
    if keyword.iskeyword(name) or name in sql_reserved_words() or name in PLATFORM_NAMES:
        raise MeshError(f"{what} name '{name}' is a reserved word (Python, SQL or the platform's); choose another")
    return name
