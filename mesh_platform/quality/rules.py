"""The contract's quality rules, typed: what each checks, how it is measured, how strict it is.

From the schema: `required` → not null; `unique` → unique; `primaryKey` → not
null and unique (compound when the key has several columns);
`logicalTypeOptions` → ranges (`minimum`, `maximum`, exclusive forms), string
`pattern` and lengths. From the ODCS `quality` entries: the library metrics
(`rowCount`, `nullValues`, `missingValues`, `invalidValues`, `duplicateValues`
with their `mustBe…` operators, `unit: percent` for shares), `sql` rules (a
query run in DuckDB on the staged data) and `custom` rules naming a Great
Expectations expectation and its arguments. From the `relationships` (foreign
keys): every filled value of the columns is a value of the referenced product's
columns (`quality.relationships`). `severity: warning` reports without
blocking; anything else blocks publishing.

A partitioned product's rules check the partitions a build writes; a rule with
`customProperties: [{property: scope, value: table}]` checks the whole table as
it will be once they are written (uniqueness across partitions, say), before the
commit makes them current.

Custom rules whose verdict is an estimate anyway (a mean, median, quantile, standard
deviation or distribution, or a share of rows with `mostly` below 1) run on a
reservoir sample of `SAMPLE_ROWS` rows of a larger table; `implementation.sample`
sets another size or `all`. A rule that must see every row (a maximum, a count, a
uniqueness, a share of 100 %) is never sampled, and declaring a sample on it is an error.

Column types are not a rule: conformance makes the staged columns the
contract's types before any rule runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from mesh_platform.contract.model import Column, Contract, Relationship, Severity
from mesh_platform.contract.settings import RuleSettings, Scope, parse_settings
from mesh_platform.core.errors import ContractError
from mesh_platform.core.sql import quote, select_problem
from mesh_platform.quality.thresholds import NON_EMPTY, ZERO, Threshold

if TYPE_CHECKING:
    from open_data_contract_standard.model import DataQuality

# What decides a rule: Great Expectations' count or share of offending rows, its observed value
# (row count), or its own verdict (custom expectations without a threshold).
Measure = Literal["unexpected_count", "unexpected_percent", "observed_value", "success"]

# Rows a sampled Great Expectations rule reads of a larger table. On a million rows a share's standard
# error is under 0.05 percentage points and a mean's 0.1 % of the column's standard deviation.
SAMPLE_ROWS = 1_000_000
# Expectations of a statistic that a sample estimates (every other aggregate needs every row).
ESTIMATES = frozenset(
    {
        "ExpectColumnMeanToBeBetween",
        "ExpectColumnMedianToBeBetween",
        "ExpectColumnQuantileValuesToBeBetween",
        "ExpectColumnStdevToBeBetween",
        "ExpectColumnKlDivergenceToBeLessThan",
    }
)
# Row-by-row expectations: with `mostly` below 1 their verdict is a share of rows, which a sample estimates.
ROW_BY_ROW = (
    "ExpectColumnValues",
    "ExpectColumnValueLengths",
    "ExpectColumnPairValues",
    "ExpectMulticolumnValues",
    "ExpectSelectColumnValues",
)
AT_SAMPLE = ("implementation", "sample")  # where a custom rule sets its sample size


@dataclass(frozen=True)
class QualityRule:
    """One check of a product, named for Dagster (`name`) and traced to its contract field (`source`)."""

    name: str
    description: str
    severity: Severity
    source: str
    threshold: Threshold
    column: str | None = None
    # A Great Expectations expectation (class name and arguments) and which of its results to compare…
    expectation: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    measure: Measure = "unexpected_count"
    # …or a DuckDB query returning one number.
    query: str | None = None
    # Great Expectations reads at most this many rows, a repeatable reservoir sample (None: every row).
    sample_rows: int | None = None
    scope: Scope = "partition"
    # …or a foreign key: the staged rows anti-joined with the referenced product's rows.
    relationship: Relationship | None = None
    path: tuple[str | int, ...] = ()  # the rule's field in the contract (its line, for problems found later)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


def rules_for_contract(contract: Contract, extra: Sequence[QualityRule] = ()) -> list[QualityRule]:
    """The contract's rules (with `extra` ones, e.g. a glossary's), each with a unique check name.

    Raises `ContractError` naming the field and line of a rule the mesh cannot run."""
    rules: list[QualityRule] = []
    key = sorted((c for c in contract.columns if c.primary_key), key=lambda c: c.primary_key_position)
    for index, column in enumerate(contract.columns):
        rules += _schema_rules(column, f"schema[0].properties[{index}]", single_key=len(key) == 1)
    if len(key) > 1:
        names = [c.name for c in key]
        rules.append(
            QualityRule(
                name="primary_key_unique",
                description=f"The primary key ({', '.join(names)}) is unique.",
                severity="error",
                source="schema[0].properties[].primaryKey",
                threshold=ZERO,
                expectation="ExpectCompoundColumnsToBeUnique",
                arguments={"column_list": names},
            )
        )
    for index, entry in enumerate(contract.quality):
        path: tuple[str | int, ...] = ("schema", 0, "quality", index)
        rules.append(
            replace(
                _quality_rule(contract, entry, None, f"schema[0].quality[{index}]", path), scope=_scope(contract, entry, path)
            )
        )
    for c_index, column in enumerate(contract.columns):
        for index, entry in enumerate(column.quality):
            path = ("schema", 0, "properties", c_index, "quality", index)
            rule = _quality_rule(contract, entry, column, f"schema[0].properties[{c_index}].quality[{index}]", path)
            rules.append(replace(rule, scope=_scope(contract, entry, path)))
    rules += [_relationship_rule(r) for r in contract.relationships]
    return _unique_names([*rules, *extra])


def _relationship_rule(relationship: Relationship) -> QualityRule:
    """A foreign key's check: no row whose columns are all filled lacks a referenced row (an orphan)."""
    columns = "_".join(relationship.columns)
    target = relationship.product.product if relationship.product is not None else relationship.table
    named = relationship.columns[0] if len(relationship.columns) == 1 else f"({', '.join(relationship.columns)})"
    return QualityRule(
        name=f"{columns}_references_{target}",
        description=f"every {named} is found in {relationship.target} (foreign key; rows that are not: orphans)",
        severity=relationship.settings.severity,
        source=relationship.source,
        threshold=ZERO,
        column=relationship.columns[0],
        # A reference to the product itself is checked on the whole table (its partitions may refer to each other).
        scope="table" if relationship.product is None else "partition",
        relationship=relationship,
    )


def _schema_rules(column: Column, source: str, single_key: bool) -> list[QualityRule]:
    name = column.name

    def rule(suffix: str, description: str, field_: str, expectation: str, **arguments: Any) -> QualityRule:
        return QualityRule(
            name=f"{name}_{suffix}",
            description=description,
            severity="error",
            source=f"{source}.{field_}",
            threshold=ZERO,
            column=name,
            expectation=expectation,
            arguments={"column": name, **arguments},
        )

    rules = []
    if column.required or column.primary_key:
        rules.append(rule("not_null", f"{name} is never empty (required).", "required", "ExpectColumnValuesToNotBeNull"))
    if column.unique or (column.primary_key and single_key):
        rules.append(rule("unique", f"{name} holds no value twice (unique).", "unique", "ExpectColumnValuesToBeUnique"))
    options = column.logical_type_options
    low = _bound(column, options.get("minimum", options.get("exclusiveMinimum")))
    high = _bound(column, options.get("maximum", options.get("exclusiveMaximum")))
    if low is not None or high is not None:
        strict = {"strict_min": "exclusiveMinimum" in options, "strict_max": "exclusiveMaximum" in options}
        description = (
            f"{name} lies between {low} and {high}."
            if low is not None and high is not None
            else f"{name} is at least {low}."
            if low is not None
            else f"{name} is at most {high}."
        )
        rules.append(
            rule(
                "in_range",
                description,
                "logicalTypeOptions",
                "ExpectColumnValuesToBeBetween",
                min_value=low,
                max_value=high,
                **strict,
            )
        )
    if pattern := options.get("pattern"):
        rules.append(
            rule(
                "pattern",
                f"{name} matches {pattern}.",
                "logicalTypeOptions.pattern",
                "ExpectColumnValuesToMatchRegex",
                regex=pattern,
            )
        )
    if "minLength" in options or "maxLength" in options:
        lengths = {"min_value": options.get("minLength"), "max_value": options.get("maxLength")}
        rules.append(
            rule(
                "length", f"{name} has an allowed length.", "logicalTypeOptions", "ExpectColumnValueLengthsToBeBetween", **lengths
            )
        )
    return rules


def _bound(column: Column, value: Any) -> Any:
    """A range bound as the staged data holds it: dates and timestamps are compared as datetimes."""
    if value is None or column.logical_type not in ("date", "timestamp"):
        return value
    return dt.datetime.fromisoformat(str(value))


def _quality_rule(contract: Contract, entry: DataQuality, column: Column | None, source: str, path: tuple) -> QualityRule:
    kind = entry.type or "library"
    severity: Severity = "warning" if str(entry.severity or "error").lower() in ("warning", "warn", "info") else "error"
    description = entry.description or entry.name or ""
    label = _identifier(entry.name or "")

    def fail(message: str, fix: str, *field: str) -> ContractError:
        return ContractError([contract.source.problem((*path, *field), message, fix)])

    if kind == "sql":
        if not entry.query:
            raise fail("a sql quality rule needs a query", "write query: SELECT count(*) FROM {object} WHERE …")
        if problem := select_problem(fill_placeholders(str(entry.query), "staged_table", column.name if column else None)):
            raise fail(
                f"the rule's query must be one SELECT: {problem}",
                "write one SELECT returning one number, e.g. SELECT count(*) FROM {object} WHERE …",
            )
        return QualityRule(
            label or f"{column.name + '_' if column else ''}sql_check",
            description or "SQL rule",
            severity,
            source,
            Threshold.from_rule(entry, ZERO),
            column.name if column else None,
            query=str(entry.query),
            path=path,
        )
    if kind == "custom":
        if str(entry.engine or "").lower() not in ("greatexpectations", "great_expectations", "gx"):
            raise fail(f"custom rules run on engine greatExpectations, not '{entry.engine}'", "set engine: greatExpectations")
        implementation = entry.implementation
        if not isinstance(implementation, dict) or not implementation.get("expectation"):
            raise fail(
                "a custom rule needs implementation: {expectation: <Great Expectations expectation>, kwargs: {…}}",
                "e.g. implementation: {expectation: expect_column_mean_to_be_between, kwargs: {min_value: 1}}",
            )
        expectation = _class_name(str(implementation["expectation"]))
        arguments = dict(implementation.get("kwargs") or {})
        if column is not None:
            arguments.setdefault("column", column.name)
        has_threshold = Threshold.declared(entry) is not None
        return QualityRule(
            label or _identifier(str(implementation["expectation"])),
            description or expectation,
            severity,
            source,
            Threshold.from_rule(entry, ZERO),
            column.name if column else None,
            expectation,
            arguments,
            measure="unexpected_count" if has_threshold else "success",
            sample_rows=_sample_rows(expectation, arguments, implementation.get("sample"), fail),
        )
    if kind != "library":
        raise fail(f"quality rule type '{kind}' is not run by the mesh", "use library (with metric), sql or custom")
    return _library_rule(entry, column, source, severity, description, label, fail)


def _scope(contract: Contract, entry: DataQuality, path: tuple) -> Scope:
    """What a partitioned product's rule checks, from the rule's `scope` setting (`contract.settings.RuleSettings`)."""
    settings, problems, _ = parse_settings(RuleSettings, entry.customProperties, contract.source, (*path, "customProperties"))
    if problems:
        raise ContractError(problems)
    return settings.scope


def _library_rule(
    entry: DataQuality, column: Column | None, source: str, severity: Severity, description: str, label: str, fail
) -> QualityRule:
    metric = entry.metric or entry.rule
    arguments = entry.arguments or {}
    measure: Measure = "unexpected_percent" if str(entry.unit or "rows").lower() == "percent" else "unexpected_count"
    columns = arguments.get("properties") or ([column.name] if column else [])
    target = column.name if column else (columns[0] if len(columns) == 1 else None)
    prefix = f"{'_'.join(columns)}_" if columns else ""

    def rule(default_name: str, default_description: str, expectation: str, threshold: Threshold, **kwargs: Any) -> QualityRule:
        return QualityRule(
            name=label or default_name,
            description=description or default_description,
            severity=severity,
            source=source,
            threshold=threshold,
            column=kwargs.get("column"),
            expectation=expectation,
            arguments=kwargs,
            measure="observed_value" if metric == "rowCount" else measure,
        )

    if metric == "rowCount":
        threshold = Threshold.from_rule(entry, NON_EMPTY)
        return rule("row_count", f"row count {threshold}", "ExpectTableRowCountToBeBetween", threshold, min_value=0)
    if not columns:
        raise fail(
            f"metric {metric} needs a column: put it under a property's quality, or give arguments.properties",
            "e.g. arguments: {properties: [order_id]}",
        )
    threshold = Threshold.from_rule(entry, ZERO)
    if metric == "nullValues":
        return rule(
            f"{prefix}null_values",
            f"{target} empty values {threshold}",
            "ExpectColumnValuesToNotBeNull",
            threshold,
            column=target,
        )
    if metric == "duplicateValues":
        if len(columns) > 1:
            return rule(
                f"{prefix}duplicates",
                f"duplicates of ({', '.join(columns)}) {threshold}",
                "ExpectCompoundColumnsToBeUnique",
                threshold,
                column_list=list(columns),
            )
        return rule(
            f"{prefix}duplicates",
            f"duplicate {target} values {threshold}",
            "ExpectColumnValuesToBeUnique",
            threshold,
            column=target,
        )
    if metric == "invalidValues":
        outside = f"{target} values outside the allowed ones {threshold}"
        if "validValues" in arguments:
            return rule(
                f"{prefix}invalid_values",
                outside,
                "ExpectColumnValuesToBeInSet",
                threshold,
                column=target,
                value_set=list(arguments["validValues"]),
            )
        if "pattern" in arguments:
            return rule(
                f"{prefix}invalid_values",
                outside,
                "ExpectColumnValuesToMatchRegex",
                threshold,
                column=target,
                regex=arguments["pattern"],
            )
        raise fail(
            "invalidValues needs arguments.validValues or arguments.pattern",
            "e.g. arguments: {validValues: [completed, cancelled]}",
        )
    if metric == "missingValues":
        missing = list(arguments.get("missingValues") or ["", "N/A", "n/a", "null", "NULL"])
        meaning = f"{target} values meaning 'missing' ({', '.join(map(repr, missing))}) {threshold}"
        return rule(
            f"{prefix}missing_values", meaning, "ExpectColumnValuesToNotBeInSet", threshold, column=target, value_set=missing
        )
    raise fail(f"metric '{metric}' is unknown", "use rowCount, nullValues, missingValues, invalidValues or duplicateValues")


def _sample_rows(expectation: str, arguments: dict[str, Any], declared: Any, fail) -> int | None:
    """How many rows a custom rule reads: a sample only where its verdict is an estimate anyway."""
    mostly = arguments.get("mostly", 1)
    row_by_row = expectation.startswith(ROW_BY_ROW) and "Unique" not in expectation
    estimate = expectation in ESTIMATES or row_by_row and isinstance(mostly, (int, float)) and 0 < mostly < 1
    if declared is None:
        return SAMPLE_ROWS if estimate else None
    if declared == "all":
        return None
    if isinstance(declared, bool) or not isinstance(declared, int) or declared < 1:
        raise fail(
            f"sample must be a number of rows or 'all', not {declared!r}",
            f"e.g. sample: {SAMPLE_ROWS} (or all, to read every row)",
            *AT_SAMPLE,
        )
    if not estimate:
        why = "a verdict on every row" if expectation.startswith(ROW_BY_ROW) else "a statistic of every row"
        raise fail(
            f"{expectation} cannot be checked on a sample: its verdict is {why}",
            "remove sample; only means, medians, quantiles, standard deviations, distributions and shares with "
            "mostly below 1 are sampled",
            *AT_SAMPLE,
        )
    return declared


def fill_placeholders(query: str, table: str, column: str | None) -> str:
    """An ODCS SQL rule's query with `{object}` (the table checked) and `{property}` (its column) filled in."""
    for placeholder in ("${object}", "{object}"):
        query = query.replace(placeholder, table)
    if column:
        for placeholder in ("${property}", "{property}"):
            query = query.replace(placeholder, quote(column))
    return query


def _class_name(expectation: str) -> str:
    """`expect_column_mean_to_be_between` → `ExpectColumnMeanToBeBetween`."""
    return expectation if expectation[:1].isupper() else "".join(part.title() for part in expectation.split("_"))


def _identifier(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")


def _unique_names(rules: list[QualityRule]) -> list[QualityRule]:
    seen: dict[str, int] = {"governance": 1}  # the name of every product's policy check
    result = []
    for rule in rules:
        count = seen.get(rule.name, 0)
        seen[rule.name] = count + 1
        result.append(rule if count == 0 else replace(rule, name=f"{rule.name}_{count + 1}"))
    return result
