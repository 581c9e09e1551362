"""Column types as DuckDB knows them: their kind (number, text, date or time…), whether one widens another,
and the ODCS logical type a DuckDB type is."""

from __future__ import annotations

import functools
import re

_FAMILIES = (
    ("number", ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")),
    ("text", ("VARCHAR",)),
    ("date or time", ("DATE", "TIMESTAMP", "TIME")),
    ("boolean", ("BOOLEAN",)),
)
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)", re.IGNORECASE)


def type_family(type_text: str) -> str:
    """The kind of a DuckDB type: number, text, date or time, boolean — else the type itself."""
    upper = type_text.upper()
    if upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION")):
        return upper
    for family, prefixes in _FAMILIES:
        if upper.startswith(prefixes):
            return family
    return upper


def logical_type_of(type_text: str) -> str:
    """The ODCS logicalType of a DuckDB type: integer, number, string, boolean, date, timestamp, time, array or object."""
    upper = type_text.upper().strip()
    if upper.endswith("]"):
        return "array"
    if upper.startswith(("STRUCT", "MAP", "UNION")):
        return "object"
    if upper.startswith(_INTEGERS):
        return "integer"
    family = type_family(upper)
    if family == "number":
        return "number"
    if family == "boolean":
        return "boolean"
    if family == "date or time":
        return "timestamp" if upper.startswith("TIMESTAMP") else "time" if upper.startswith("TIME") else "date"
    return "string"  # VARCHAR, and what ODCS has no kind for (UUID, BLOB, INTERVAL…): the physicalType says which


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
