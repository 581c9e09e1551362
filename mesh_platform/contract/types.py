"""Column types as DuckDB knows them: their kind (number, text, date or time…), whether one widens another,
and the ODCS logical type a DuckDB type is."""

from __future__ import annotations

import functools
import re

_SIGNED = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_INTEGERS = (*_SIGNED, *(f"U{t}" for t in _SIGNED))
_FAMILIES = (
    ("number", (*_INTEGERS, "FLOAT", "DOUBLE", "DECIMAL")),
    ("text", ("VARCHAR",)),
    ("date or time", ("DATE", "TIMESTAMP", "TIME")),
    ("boolean", ("BOOLEAN",)),
)
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


# DuckDB types a port (a Delta Lake table) serves as another type: id → (what readers get, why). Checked against
# real Delta tables by tests/test_contract.py.
_SERVED_AS = {
    "hugeint": ("DECIMAL(38,0)", "has no 128-bit integer"),
    "uhugeint": ("DECIMAL(38,0)", "has no 128-bit integer (values beyond 38 digits would fail to publish)"),
    "utinyint": ("TINYINT", "has no unsigned integers (values above 127 would fail to publish)"),
    "usmallint": ("SMALLINT", "has no unsigned integers (values above 32767 would fail to publish)"),
    "uinteger": ("INTEGER", "has no unsigned integers (values above 2147483647 would fail to publish)"),
    "ubigint": ("BIGINT", "has no unsigned integers (values above 9223372036854775807 would fail to publish)"),
    "timestamp_ns": ("TIMESTAMP", "keeps timestamps in microseconds (the nanoseconds would be lost)"),
    "timestamp_ms": ("TIMESTAMP", "keeps timestamps in microseconds"),
    "timestamp_s": ("TIMESTAMP", "keeps timestamps in microseconds"),
    "uuid": ("VARCHAR", "has no UUID type"),
    "enum": ("VARCHAR", "has no enumerations (a quality rule can hold the allowed values)"),
    "bit": ("BLOB", "has no bit strings"),
}
# What to write instead where the served type would lose values.
_WRITE_INSTEAD = {
    "uhugeint": "VARCHAR",
    "utinyint": "SMALLINT",
    "usmallint": "INTEGER",
    "uinteger": "BIGINT",
    "ubigint": "DECIMAL(20,0)",
}
# DuckDB types no port can hold at all: id → (why, what to write instead).
_NOT_SERVED = {
    "time": ("has no time-of-day type", "VARCHAR (e.g. '08:30:00'), or a TIMESTAMP"),
    "time with time zone": ("has no time-of-day type", "VARCHAR (e.g. '08:30:00+02'), or a TIMESTAMP WITH TIME ZONE"),
    "interval": ("has no interval type", "BIGINT (a count of seconds, say) or VARCHAR"),
    "union": ("has no union type", "a STRUCT with one field per member"),
}


@functools.lru_cache(maxsize=4096)  # a wide contract repeats a few types thousands of times
def port_type_problem(type_text: str) -> tuple[str, str] | None:
    """Why a port cannot serve the DuckDB type `type_text` as it is, and what to write instead; None when it can."""
    import duckdb

    reasons: list[str] = []
    unheld: list[str] = []  # what to write instead of each part no port can hold
    served, instead = _served(duckdb.type(type_text), reasons, unheld)
    if not reasons:
        return None
    why = "; ".join(dict.fromkeys(reasons))
    if served is None:
        return f"a port cannot hold {type_text}: Delta Lake {why}", f"write {unheld[0]}"
    return f"a port serves {type_text} as {served}: Delta Lake {why}", f"write physicalType: {instead}"


def servable_type(type_text: str) -> str | None:
    """The type to write for DuckDB type `type_text` so that a port serves it as it is (itself when it can); None
    when no port type holds it (TIME, INTERVAL, UNION)."""
    import duckdb

    return _served(duckdb.type(type_text), [], [])[1]


def _served(kind, reasons: list[str], unheld: list[str]) -> tuple[str | None, str | None]:
    """The type a port serves for DuckDB type `kind` and the type to write instead (None: no port holds it),
    recording why each part changes in `reasons`."""
    name = str(kind)
    if name == "JSON":
        reasons.append("has no JSON type (readers get the text)")
        return "VARCHAR", "VARCHAR"
    if kind.id in _NOT_SERVED:
        why, instead = _NOT_SERVED[kind.id]
        reasons.append(why)
        unheld.append(instead)
        return None, None
    if kind.id in _SERVED_AS:
        served, why = _SERVED_AS[kind.id]
        reasons.append(why)
        return served, _WRITE_INSTEAD.get(kind.id, served)
    parts = (
        kind.children[:1] if kind.id == "array" else kind.children if kind.id in ("struct", "list", "map") else []
    )  # an array's 2nd: its size
    children = [(field, *_served(child, reasons, unheld)) for field, child in parts]
    if any(served is None for _, served, _ in children):
        return None, None
    if kind.id == "struct":
        return tuple(f"STRUCT({', '.join(f'{_quoted(f)} {t[i]}' for f, *t in children)})" for i in (0, 1))  # type: ignore[return-value]
    if kind.id == "array":
        reasons.append("has no fixed-size arrays (readers get a list)")
    if kind.id in ("list", "array"):
        return f"{children[0][1]}[]", f"{children[0][2]}[]"
    if kind.id == "map":
        return f"MAP({children[0][1]}, {children[1][1]})", f"MAP({children[0][2]}, {children[1][2]})"
    return name, name


def _quoted(field: str) -> str:
    return field if re.fullmatch(r"[a-z_][a-z0-9_]*", field) else '"' + field.replace('"', '""') + '"'
