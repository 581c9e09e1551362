"""Rules computed in DuckDB agree with Great Expectations on the same data: verdicts, counts, shares, samples.

Every rule a contract can state that has an SQL form is evaluated both ways on the same
DuckDB table — with empty values, duplicates, compound keys, an empty table and a column
that is all empty — and the two results must match.
"""

import collections
import datetime as dt
import math
import subprocess
import sys

import duckdb
import pytest

from mesh_platform import load_contract
from mesh_platform.quality import evaluate_rules, rules_for_contract
from mesh_platform.quality.evaluation import evaluate_with_great_expectations
from mesh_platform.quality.in_engine import sql_form

from .conftest import column, contract_yaml

COLUMNS = [
    column("id", "integer", "BIGINT", required=True, unique=True),
    column("shop", "string", "VARCHAR", primaryKey=True, primaryKeyPosition=1),
    column(
        "day",
        "date",
        "DATE",
        primaryKey=True,
        primaryKeyPosition=2,
        logicalTypeOptions={"minimum": "2026-01-01", "exclusiveMaximum": "2026-03-01"},
    ),
    column("amount", "number", "DOUBLE", logicalTypeOptions={"exclusiveMinimum": 0, "maximum": 100}),
    column("code", "string", "VARCHAR", logicalTypeOptions={"pattern": "^[A-Z]{2}-[0-9]+$", "minLength": 4, "maxLength": 6}),
    column(
        "status",
        "string",
        "VARCHAR",
        quality=[
            {"metric": "invalidValues", "arguments": {"validValues": ["open", "closed"]}, "mustBe": 0},
            {"metric": "missingValues", "arguments": {"missingValues": ["", "n/a"]}, "mustBeLessThan": 2},
            {"metric": "nullValues", "unit": "percent", "mustBeLessThan": 10},
        ],
    ),
    column(
        "note",
        "string",
        "VARCHAR",
        quality=[{"metric": "invalidValues", "arguments": {"pattern": "z"}, "mustBeLessOrEqualTo": 3}],
    ),
]
QUALITY = [
    {"metric": "rowCount", "mustBeGreaterThan": 3},
    {"metric": "duplicateValues", "arguments": {"properties": ["status", "note"]}, "mustBe": 0},
]
SCHEMA = "id BIGINT, shop VARCHAR, day DATE, amount DOUBLE, code VARCHAR, status VARCHAR, note VARCHAR"
MESSY = [
    (1, "a", "2026-01-01", 10.0, "AB-1", "open", "zz"),
    (1, "a", "2026-01-01", 0.0, "ab-1", "closed", None),
    (2, "b", "2025-12-31", 100.0, "ABCD-12345", "lost", "x"),
    (None, None, None, None, None, None, None),
    (3, "b", "2026-03-01", 100.5, "CD-22", "", "z"),
    (4, "c", "2026-02-28", -1.0, "EF-3", "n/a", "q"),
    (5, "c", "2026-02-28", None, "GH-4444", None, "x"),
    (5, None, "2026-02-01", 50.0, "G", "open", "zz"),
]
CLEAN = [
    (1, "a", "2026-01-01", 10.0, "AB-1", "open", "lazy"),
    (2, "b", "2026-01-02", 20.0, "CD-22", "closed", "zebra"),
    (3, "c", "2026-02-28", 100.0, "EF-333", "open", "fizz"),
    (4, "d", "2026-01-15", 0.5, "GH-4", "closed", None),
]
ALL_EMPTY = [(i, f"s{i}", "2026-01-02", 1.0, "AB-1", None, None) for i in range(5)]


@pytest.fixture(scope="module")
def contract_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("contract") / "contract.yaml"
    path.write_text(
        contract_yaml("shop", "items", COLUMNS, schema=[{"name": "items", "properties": COLUMNS, "quality": QUALITY}])
    )
    return path


@pytest.fixture(scope="module")
def rules(contract_file):
    return rules_for_contract(load_contract(contract_file))


STAGED = 'staging."staged"'  # as a build names its staged table


def table_of(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"CREATE SCHEMA staging; CREATE TABLE {STAGED} ({SCHEMA})")
    if rows:
        connection.executemany(f"INSERT INTO {STAGED} VALUES ({', '.join('?' * 7)})", rows)
    return connection


def plain(value):
    """One spelling for a value from either side: 1.0 and 1 alike, a date with or without its midnight."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) == 19 and value.endswith(" 00:00:00"):
        return value[:10]
    if isinstance(value, dict):
        return tuple(sorted((k, plain(v)) for k, v in value.items()))
    return value


def test_every_rule_the_contract_states_except_custom_ones_has_an_sql_form(rules):
    assert {r.expectation for r in rules if sql_form(r) is None} == set()
    assert len(rules) == 15


@pytest.mark.parametrize(
    "rows",
    [MESSY, CLEAN, ALL_EMPTY, []],
    ids=["empty values, duplicates, out of range", "clean", "a column all empty", "no rows"],
)
def test_duckdb_and_great_expectations_agree(rules, rows):
    connection = table_of(rows)
    in_engine = {r.rule.name: r for r in evaluate_rules(rules, connection, STAGED)}
    by_ge = {r.rule.name: r for r in evaluate_with_great_expectations(rules, connection, STAGED)}
    assert set(in_engine) == set(by_ge) == {r.name for r in rules}
    for name, ge in by_ge.items():
        mine = in_engine[name]
        assert ge.error is None and mine.error is None, (ge.error, mine.error)
        assert mine.passed == ge.passed, name
        assert mine.unexpected_count == ge.unexpected_count, name
        if ge.unexpected_percent is None:
            assert mine.unexpected_percent is None, name
        else:
            assert math.isclose(mine.unexpected_percent, ge.unexpected_percent), name
        assert plain(mine.observed) == plain(ge.observed), name
        assert mine.message.split(" — ")[0] == ge.message.split(" — ")[0], name
        if (ge.unexpected_count or 0) <= 5:  # the sample then lists every offending value
            assert collections.Counter(map(plain, mine.sample)) == collections.Counter(map(plain, ge.sample)), name
        else:
            assert len(mine.sample) == len(ge.sample) == 5, name


def test_great_expectations_is_not_imported_when_every_rule_has_an_sql_form(contract_file):
    """It takes seconds to import: a build whose rules all run in DuckDB never pays for it."""
    code = (
        "import sys, duckdb\n"
        "from mesh_platform import load_contract\n"
        "from mesh_platform.quality import evaluate_rules, rules_for_contract\n"
        f"connection = duckdb.connect(); connection.execute('CREATE SCHEMA staging; CREATE TABLE {STAGED} ({SCHEMA})')\n"
        f"results = evaluate_rules(rules_for_contract(load_contract(sys.argv[1])), connection, {STAGED!r})\n"
        "assert all(r.error is None for r in results), results\n"
        "print(len(results), 'great_expectations' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code, str(contract_file)], capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["15", "False"], ran.stderr


def test_the_messy_data_fails_what_it_should(rules):
    results = {r.rule.name: r for r in evaluate_rules(rules, table_of(MESSY), STAGED)}
    failing = {name for name, r in results.items() if not r.passed}
    assert failing == {
        "id_not_null",
        "id_unique",
        "shop_not_null",
        "day_not_null",
        "day_in_range",
        "amount_in_range",
        "code_pattern",
        "code_length",
        "status_invalid_values",
        "status_missing_values",
        "status_null_values",
        "primary_key_unique",
        "status_note_duplicates",
    }
    assert results["row_count"].passed and results["row_count"].observed == 8
    assert results["id_unique"].unexpected_count == 4 and sorted(results["id_unique"].sample) == [1, 1, 5, 5]
    assert results["day_in_range"].sample == (dt.date(2025, 12, 31), dt.date(2026, 3, 1)) or sorted(
        results["day_in_range"].sample
    ) == ["2025-12-31", "2026-03-01"]


def test_a_pattern_duckdb_cannot_compile_is_left_to_great_expectations(tmp_path):
    lookahead = [column("code", "string", "VARCHAR", logicalTypeOptions={"pattern": "^(?=A)[A-Z]+$"})]
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("shop", "items", lookahead))
    rules = rules_for_contract(load_contract(path))
    connection = duckdb.connect()
    connection.execute(
        f"CREATE SCHEMA staging; CREATE TABLE {STAGED} AS SELECT * FROM (VALUES ('ABC'), ('BCD'), (NULL)) AS t(code)"
    )
    results = {r.rule.name: r for r in evaluate_rules(rules, connection, STAGED)}
    assert results["code_pattern"].error is None and results["code_pattern"].unexpected_count == 1  # by Great Expectations
    assert results["row_count"].observed == 3  # the other rules still ran in DuckDB
