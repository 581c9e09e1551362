"""Running a product's rules on its staged data: in DuckDB where they have an SQL form, else Great Expectations 1.x.

The contract's own SQL rules, its foreign keys (`quality.relationships`), and every
expectation `quality.in_engine` has an SQL form for (not-null, unique, compound keys,
ranges, allowed and forbidden values, patterns, lengths, row counts), run in DuckDB
on the staged table, with Great Expectations' meaning of every count. The rest
(`custom` expectations) run in Great Expectations, which has no DuckDB dialect: on a
pandas copy of only the columns they read, and of a repeatable reservoir sample of a
large table where the rule's verdict is an estimate anyway (`QualityRule.sample_rows`).
Great Expectations takes seconds to import, so it is imported on first use in a run
process, and not at all when every rule has an SQL form.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh_platform.core.errors import Problem
from mesh_platform.core.sql import quote
from mesh_platform.quality.in_engine import Counts, evaluate_in_engine, sql_form
from mesh_platform.quality.relationships import ReferencedRows, count_orphans
from mesh_platform.quality.rules import QualityRule, fill_placeholders
from mesh_platform.storage.sandbox import REFUSAL, Declare, binding_sandbox, empty_table_sql, refused_file

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from mesh_platform.contract.model import Contract

SAMPLE_SIZE = 5
SAMPLE_SEED = 42  # rows a sampled rule reads are the same on every build of the same data
HIDDEN = "(not shown: personal data)"
CHECKED_TABLE = "mesh_checked_table"  # the staged table's stand-in when rules are bound before a build


@dataclass(frozen=True)
class RuleResult:
    rule: QualityRule
    passed: bool
    observed: Any
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: tuple[Any, ...] = ()
    error: str | None = None
    # (rows read, rows staged) when the rule read a sample of the table.
    sampled: tuple[int, int] | None = None
    note: str | None = None  # what the rule compared with (a foreign key: the referenced port version), or why it did not
    unchecked: bool = False  # not evaluated, and not blocking: there was nothing to compare with yet

    @property
    def message(self) -> str:
        if self.error:
            return f"{self.rule.name}: could not be evaluated: {self.error}"
        if self.unchecked:
            return f"{self.rule.name} not checked: {self.note}"
        verdict = "passed" if self.passed else "failed"
        if self.rule.measure == "success":
            detail = f"{self.unexpected_count} offending rows" if self.unexpected_count else f"observed {self.observed}"
        else:
            detail = f"observed {self.observed}, expected {self.rule.threshold}"
        sample = f"; e.g. {', '.join(map(repr, self.sample))}" if self.sample and not self.passed else ""
        sampled = f"; on a sample of {self.sampled[0]:,} of {self.sampled[1]:,} rows" if self.sampled else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.rule.name} {verdict} ({self.rule.description} — {detail}{sample}{sampled}{note})"


def evaluate_rules(
    rules: list[QualityRule],
    connection: duckdb.DuckDBPyConnection,
    table: str,
    hidden: Collection[str] = (),
    referenced: Mapping[str, ReferencedRows] | None = None,
) -> list[RuleResult]:
    """Evaluate every rule on the staged `table` of `connection`. The values of `hidden` columns
    (personal data) never leave the build: their rules report counts, not example values, since
    results go to Dagster's event log and the UI. `referenced` holds, by rule name, the rows each
    foreign key to another product compares with (one to the product itself compares with `table`)."""
    results = [_sql_result(rule, connection, table) for rule in rules if rule.query]
    referenced = referenced or {}
    results += [_relationship_result(rule, connection, table, referenced.get(rule.name)) for rule in rules if rule.relationship]
    forms = [form for rule in rules if (form := sql_form(rule)) is not None]
    counted = _in_engine(forms, connection, table)
    results += [
        _verdict(form.rule, counts.unexpected_count, counts.unexpected_percent, counts.rows, counts.sample)
        for form, counts in counted
    ]
    in_engine = {form.rule.name for form, _ in counted}
    if expectation_rules := [rule for rule in rules if rule.expectation and rule.name not in in_engine]:
        results += evaluate_with_great_expectations(expectation_rules, connection, table)
    results = [_without_values(r) if _columns_of(r.rule) & set(hidden) else r for r in results]
    order = {rule.name: index for index, rule in enumerate(rules)}
    return sorted(results, key=lambda r: order[r.rule.name])


def _columns_of(rule: QualityRule) -> set[str]:
    """The columns whose values a rule's result may show."""
    columns = {str(c) for c in rule.arguments.get("column_list") or ()} | ({rule.column} if rule.column else set())
    return columns | set(rule.relationship.columns if rule.relationship else ())


def _relationship_result(
    rule: QualityRule, connection: duckdb.DuckDBPyConnection, table: str, referenced: ReferencedRows | None
) -> RuleResult:
    import duckdb

    relationship = rule.relationship
    assert relationship is not None, "a relationship's rule"
    if relationship.product is None:
        referenced = ReferencedRows(table, "this product's own rows")
    if referenced is None:
        return RuleResult(rule, False, None, error=f"{relationship.target} was not read for it")
    if referenced.error:
        return RuleResult(rule, False, None, error=referenced.error)
    if referenced.missing:
        return RuleResult(rule, True, None, note=referenced.missing, unchecked=True)
    try:
        counts = count_orphans(relationship, connection, table, referenced)
    except duckdb.Error as error:  # e.g. values DuckDB cannot compare: the rule fails with DuckDB's reason
        return RuleResult(rule, False, None, error=str(error).splitlines()[0])
    result = _verdict(rule, counts.unexpected_count, counts.unexpected_percent, counts.rows, counts.sample)
    return replace(result, note=f"against {referenced.label}")


def rules_reading_files(
    contract: Contract, rules: list[QualityRule], readable: Iterable[Path], declare: Declare | None = None
) -> list[Problem]:
    """The SQL rules whose query reads a file a build's sandbox refuses (allowed: the `readable` folders, as in the build),
    found before any build by binding each query on a table of no rows with the contract's columns (`declare`: the
    functions a build's SQL may call besides the platform's)."""
    queried = [rule for rule in rules if rule.query]
    if not queried:
        return []
    connection = binding_sandbox(readable, declare)
    problems = []
    try:
        shape = empty_table_sql((c.name, c.physical_type) for c in contract.columns)
        connection.execute(f"CREATE TEMP VIEW {CHECKED_TABLE} AS {shape}")
        for rule in queried:
            query = fill_placeholders(str(rule.query), CHECKED_TABLE, rule.column)
            if (file := refused_file(functools.partial(connection.sql, query))) is not None:
                problems.append(
                    contract.source.problem(
                        (*rule.path, "query"),
                        f"the rule's query reads the file {file}: a build refuses that ({REFUSAL})",
                        "a rule's query reads the product's own table ({object}) only",
                    )
                )
    except Exception:  # the table's shape cannot be made (the contract's types are checked elsewhere): nothing to bind
        return []
    finally:
        connection.close()
    return problems


def _without_values(result: RuleResult) -> RuleResult:
    observed = result.observed if isinstance(result.observed, (int, float, bool)) or result.observed is None else HIDDEN
    return replace(result, observed=observed, sample=())


def _sql_result(rule: QualityRule, connection: duckdb.DuckDBPyConnection, table: str) -> RuleResult:
    query = fill_placeholders(str(rule.query), table, rule.column)
    try:
        rows = connection.sql(query).fetchall()
    except Exception as error:  # any DuckDB error: a broken query fails its rule, with DuckDB's reason
        return RuleResult(rule, False, None, error=str(error).splitlines()[0])
    if len(rows) != 1 or len(rows[0]) != 1 or not isinstance(rows[0][0], (int, float)):
        # What came back is described, never shown: it may be any column's values.
        shape = f"{len(rows)} rows of {len(rows[0]) if rows else 0} columns"
        return RuleResult(rule, False, shape, error=f"the query must return one number; it returned {shape}")
    observed = rows[0][0]
    return RuleResult(rule, rule.threshold.holds(observed), observed)


@functools.cache
def _validator():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("mesh").add_dataframe_asset("staged")
    return gx, asset.add_batch_definition_whole_dataframe("whole")


def _in_engine(forms: list, connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, Counts]]:
    """The rules DuckDB computes, all in one pass; should DuckDB refuse the combined query, each on its
    own, and one it refuses alone is left to Great Expectations (e.g. a pattern RE2 cannot compile)."""
    import duckdb

    if not forms:
        return []
    try:
        counts = evaluate_in_engine(forms, connection, table)
    except duckdb.Error:
        if len(forms) == 1:
            return []
        return [pair for form in forms for pair in _in_engine([form], connection, table)]
    return [(form, counts[form.rule.name]) for form in forms]


def _batch(frame: pd.DataFrame):
    _, batch_definition = _validator()
    return batch_definition.get_batch(batch_parameters={"dataframe": frame})


def evaluate_with_great_expectations(
    rules: list[QualityRule], connection: duckdb.DuckDBPyConnection, table: str
) -> list[RuleResult]:
    """Great Expectations on the columns these rules read (every column if one reads the table as a
    whole): rules that must see every row on the whole table, sampled ones on one sample per size."""
    staged = connection.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    by_size: dict[int | None, list[QualityRule]] = {}
    for rule in rules:
        size = rule.sample_rows if rule.sample_rows is not None and rule.sample_rows < staged else None
        by_size.setdefault(size, []).append(rule)
    results: dict[str, RuleResult] = {}
    for size, group in by_size.items():
        batch = _batch(_frame(group, connection, table, size))
        sampled = (size, staged) if size is not None else None
        results |= {rule.name: replace(_expectation_result(rule, batch), sampled=sampled) for rule in group}
    return [results[rule.name] for rule in rules]


def _frame(rules: list[QualityRule], connection: duckdb.DuckDBPyConnection, table: str, sample_rows: int | None) -> pd.DataFrame:
    """The staged columns these rules read, as pandas: every row, or a reservoir sample that is the same on every run."""
    wanted = [_columns_read(rule) for rule in rules]
    names = sorted({c for columns in wanted for c in columns or ()} & set(connection.table(table).columns))
    columns = ", ".join(map(quote, names)) if names and all(columns is not None for columns in wanted) else "*"
    sample = f" USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({SAMPLE_SEED})" if sample_rows is not None else ""
    return connection.sql(f"SELECT {columns} FROM {table}{sample}").df()


def _columns_read(rule: QualityRule) -> set[str] | None:
    """The columns an expectation reads, from its arguments; None: it reads the whole table."""
    arguments = rule.arguments
    columns = {str(arguments[k]) for k in ("column", "column_A", "column_B") if k in arguments}
    columns |= {str(c) for k in ("column_list", "column_set") for c in arguments.get(k) or ()}
    return columns or None


def _expectation_result(rule: QualityRule, batch) -> RuleResult:
    gx, _ = _validator()
    try:
        expectation = getattr(gx.expectations, str(rule.expectation))(**rule.arguments)
        outcome = batch.validate(expectation, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE})
    except Exception as error:  # an unknown expectation or bad arguments: the rule fails and says why
        return RuleResult(rule, False, None, error=f"{rule.expectation}: {error}")
    result = outcome.result or {}
    values = result.get("partial_unexpected_list") or []
    return _verdict(
        rule,
        result.get("unexpected_count"),
        result.get("unexpected_percent"),
        result.get("observed_value"),
        values,
        outcome.success,
    )


def _verdict(
    rule: QualityRule, count: int | None, percent: float | None, observed: Any, sample, success: bool | None = None
) -> RuleResult:
    """The rule's result from what was counted (by DuckDB or by Great Expectations alike)."""
    sample = tuple(_plain(v) for v in list(sample)[:SAMPLE_SIZE])
    match rule.measure:
        case "observed_value":
            measured = observed
        case "unexpected_percent":
            measured = observed = round(percent or 0.0, 4)
        case "unexpected_count":
            measured = observed = count or 0
        case _:
            return RuleResult(rule, bool(success), _plain(observed), count, percent, sample)
    passed = measured is not None and rule.threshold.holds(measured)
    return RuleResult(rule, passed, _plain(observed), count, percent, sample)


def _plain(value: Any) -> Any:
    """Values fit for Dagster metadata and messages (no numpy types, NaN shown as None)."""
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' empty values
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
