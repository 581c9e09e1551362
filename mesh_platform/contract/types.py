"""Column types as DuckDB knows them: their kind (number, text, date or time…) and whether one widens another."""

from __future__ import annotations

import functools
import re

_FAMILIES = (
    ("number", ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")),
    ("text", ("VARCHAR",)),
    ("date or time", ("DATE", "TIMESTAMP", "TIME")),
    ("boolean", ("BOOLEAN",)),
)
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)", re.IGNORECASE)
_SIGNED = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_INTEGERS = frozenset((*_SIGNED, *(f"U{t}" for t in _SIGNED)))


def type_family(type_text: str) -> str:
    """The kind of a DuckDB type: number, text, date or time, boolean — else the type itself."""
    upper = type_text.upper()
    if upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION")):
        return upper
    for family, prefixes in _FAMILIES:
        if upper.startswith(prefixes):
            return family
    return upper


@functools.cache
def widens(old: str, new: str) -> bool:
    """Whether every value of type `old` fits type `new` (DuckDB's implicit casts, decimals checked)."""
    import duckdb

    with duckdb.connect() as connection:
        implicit = connection.sql(f"SELECT can_cast_implicitly(NULL::{old}, NULL::{new})").fetchall()[0][0]
    return bool(implicit) and not _decimal_shrinks(old, new)


def _decimal_shrinks(old: str, new: str) -> bool:
    """DuckDB calls DECIMAL(18,2) → DECIMAL(12,2) implicit; for a contract it narrows."""
    a, b = _DECIMAL.match(old), _DECIMAL.match(new)
    if not (a and b):
        return False
    return int(b[1]) - int(b[2]) < int(a[1]) - int(a[2]) or int(b[2]) < int(a[2])


@functools.cache
def canonical_type(type_text: str) -> str:
    """The type as DuckDB names it (`INT` → `INTEGER`, `TEXT` → `VARCHAR`); the text itself if DuckDB knows no such type."""
    import duckdb

    try:
        return str(duckdb.type(type_text))
    except Exception:  # DuckDB raises several error kinds for unknown types; the contract's loading reports them
        return type_text.upper()


def comparable(a: str, b: str) -> bool:
    """Whether values of types `a` and `b` can be compared for equality as they are (a foreign key's columns)."""
    a, b = canonical_type(a), canonical_type(b)
    if a.startswith("TIME ") or b.startswith("TIME ") or (a == "TIME") != (b == "TIME"):
        return a == b  # a time of day compares with a time of day only
    family = type_family(a)
    return family == type_family(b) and family in ("number", "text", "date or time", "boolean")


def written_alike(a: str, b: str) -> bool:
    """Whether equal values of types `a` and `b` are written alike (tokens hash the text): one type, or two integer types."""
    a, b = canonical_type(a), canonical_type(b)
    return a == b or (a in _INTEGERS and b in _INTEGERS)
