"""Contract rules computed by DuckDB on the staged table, in as few scans as possible.

The rules the mesh derives from a contract are Great Expectations expectations
(`quality.rules`); most have an exact SQL form. For those, DuckDB counts the
offending rows of every rule in one scan of the staged table (uniqueness rules add
one grouped query each) and fetches a few offending values only for rules that
have some — with Great Expectations' own meaning of each number:

- rows with an empty value are not offending, except for `ExpectColumnValuesToNotBeNull`;
- the share of offending rows is of the non-empty ones (of all rows for not-null),
  and there is none for an empty table;
- uniqueness counts every row whose value (or combination, for compound keys) occurs
  more than once; rows whose key columns are all empty are left out;
- patterns match anywhere in the value (`re.search`), lengths are in characters.

An expectation without an SQL form here (a `custom` rule), or one whose SQL DuckDB
refuses (a pattern RE2 cannot compile), is left to Great Expectations.
tests/test_quality_in_engine.py runs both on the same data and compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh_platform.core.sql import quote
from mesh_platform.quality.rules import QualityRule

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Counts:
    """What a rule's scan found, in Great Expectations' terms."""

    rows: int
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Form:
    """How DuckDB computes one rule: a condition marking offending rows, or duplicated keys, or the row count."""

    rule: QualityRule
    columns: tuple[str, ...] = ()
    offends: str | None = None  # SQL condition: the row offends (map rules)
    parameters: tuple[Any, ...] = ()  # the values `offends` binds, in order
    of_all_rows: bool = False  # the share is of all rows (not-null), not of the non-empty ones
    duplicates: bool = False  # uniqueness of `columns`
    row_count: bool = False

    @property
    def considered(self) -> str:
        """The rows the rule looks at: those with a value (any value, for a compound key)."""
        if self.of_all_rows or not self.columns:
            return "TRUE"
        return "(" + " OR ".join(f"{quote(c)} IS NOT NULL" for c in self.columns) + ")"


def _outside(value: str, arguments: dict[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """`value` (a column, or an expression of it) below `min_value` or above `max_value`, as the
    expectation's `strict_min` / `strict_max` draw the bounds (inclusive when absent)."""
    low, high = arguments.get("min_value"), arguments.get("max_value")
    parts, values = [], []
    if low is not None:
        parts.append(f"{value} {'<=' if arguments.get('strict_min') else '<'} ?")
        values.append(low)
    if high is not None:
        parts.append(f"{value} {'>=' if arguments.get('strict_max') else '>'} ?")
        values.append(high)
    return (" OR ".join(parts), tuple(values)) if parts else None


# expectation → (the row offends when…, its values), given the column and the expectation's arguments
_MAP_FORMS: dict[str, Callable[[str, dict[str, Any]], tuple[str, tuple[Any, ...]] | None]] = {
    "ExpectColumnValuesToBeBetween": lambda c, a: _outside(quote(c), a),
    "ExpectColumnValueLengthsToBeBetween": lambda c, a: _outside(f"length({quote(c)})", a),
    "ExpectColumnValuesToBeInSet": lambda c, a: (
        (f"NOT list_contains(?, {quote(c)})", (list(a["value_set"]),)) if a.get("value_set") else None
    ),
    "ExpectColumnValuesToNotBeInSet": lambda c, a: (
        (f"list_contains(?, {quote(c)})", (list(a["value_set"]),)) if a.get("value_set") else None
    ),
    "ExpectColumnValuesToMatchRegex": lambda c, a: (f"NOT regexp_matches(CAST({quote(c)} AS VARCHAR), ?)", (a["regex"],)),
}


def sql_form(rule: QualityRule) -> _Form | None:
    """The rule as DuckDB computes it, or None when only Great Expectations can run it."""
    arguments, expectation = rule.arguments, rule.expectation
    if rule.query or expectation is None or rule.measure == "success":
        return None
    if expectation == "ExpectTableRowCountToBeBetween":
        return _Form(rule, row_count=True)
    if expectation == "ExpectCompoundColumnsToBeUnique":
        return _Form(rule, columns=tuple(arguments["column_list"]), duplicates=True)
    column = arguments.get("column")
    if column is None:
        return None
    if expectation == "ExpectColumnValuesToNotBeNull":
        return _Form(rule, (column,), f"{quote(column)} IS NULL", of_all_rows=True)
    if expectation == "ExpectColumnValuesToBeUnique":
        return _Form(rule, (column,), duplicates=True)
    if expectation in _MAP_FORMS and (form := _MAP_FORMS[expectation](column, arguments)) is not None:
        condition, values = form
        return _Form(rule, (column,), f"{quote(column)} IS NOT NULL AND ({condition})", values)
    return None


def evaluate_in_engine(forms: list[_Form], connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, Counts]:
    """Counts for every rule of `forms` (by rule name): one scan for the row count, every condition rule
    and the distinct values of one-column keys; a grouped query per uniqueness rule whose values repeat
    (and per compound key); a sample query per rule with offending rows."""
    source = table  # an SQL name as the build gives it (`staging."orders"`), quoted already
    selects = ["count(*)"]
    values: list[object] = []
    for form in forms:
        selects.append(f"count(*) FILTER (WHERE {form.considered})")
        if form.offends is not None:
            selects.append(f"count(*) FILTER (WHERE {form.offends})")
            values += form.parameters
        elif _distinct_first(form):
            selects.append(f"count(DISTINCT {_key(form)}) FILTER (WHERE {form.considered})")
    scanned = connection.execute(f"SELECT {', '.join(selects)} FROM {source}", values).fetchall()[0]
    rows, position, found = scanned[0], 1, {}
    for form in forms:
        considered = scanned[position]
        position += 1
        if form.row_count:
            found[form.rule.name] = Counts(rows)
            continue
        if form.offends is not None:
            unexpected = scanned[position]
            position += 1
        elif _distinct_first(form):
            distinct = scanned[position]
            position += 1  # as many distinct values as values: none repeats, no grouping needed
            unexpected = 0 if distinct == considered else _duplicated_rows(connection, source, form)
        else:
            unexpected = _duplicated_rows(connection, source, form)
        share = unexpected / considered * 100 if considered else None
        sample = _sample(connection, source, form) if unexpected else ()
        found[form.rule.name] = Counts(rows, unexpected, share, sample)
    return found


def _distinct_first(form: _Form) -> bool:
    """A one-column uniqueness rule: counting distinct values in the shared scan (faster than grouping)
    settles it when nothing repeats; only a key with repeats is grouped to count them. A compound key
    is always grouped (its empty values group as pandas groups them)."""
    return form.duplicates and len(form.columns) == 1


def _key(form: _Form) -> str:
    return ", ".join(quote(c) for c in form.columns)


def _duplicated_rows(connection: duckdb.DuckDBPyConnection, source: str, form: _Form) -> int:
    query = (
        f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {source} WHERE {form.considered} GROUP BY "
        f"{_key(form)} HAVING count(*) > 1)"
    )
    return int(connection.execute(query).fetchall()[0][0])


def _sample(connection: duckdb.DuckDBPyConnection, source: str, form: _Form, size: int = 5) -> tuple[Any, ...]:
    """A few offending values (a mapping per row for a compound key), as Great Expectations lists them."""
    if form.duplicates:  # a window groups empty values together, as pandas' duplicated() does
        key = _key(form)
        counted = f"SELECT {key}, count(*) OVER (PARTITION BY {key}) AS _copies FROM {source} WHERE {form.considered}"
        rows = connection.execute(f"SELECT {key} FROM ({counted}) WHERE _copies > 1 LIMIT {size}").fetchall()
    else:
        rows = connection.execute(
            f"SELECT {_key(form)} FROM {source} WHERE {form.offends} LIMIT {size}", list(form.parameters)
        ).fetchall()
    if len(form.columns) > 1:
        return tuple(dict(zip(form.columns, row, strict=True)) for row in rows)
    return tuple(row[0] for row in rows)
