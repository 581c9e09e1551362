"""Great Expectations rules whose verdict is an estimate read a repeatable sample of a large table;
every other rule reads every row, and asking to sample one is a contract error naming the field."""

import duckdb
import pytest

from mesh_platform import ContractError, load_contract
from mesh_platform.quality import evaluate_rules, rules_for_contract
from mesh_platform.quality.rules import SAMPLE_ROWS

from .conftest import column, contract_yaml

STAGED = 'staging."staged"'
ROWS = 20_000


def custom(name: str, expectation: str, sample=None, **kwargs):
    implementation = {"expectation": expectation, "kwargs": kwargs}
    if sample is not None:
        implementation["sample"] = sample
    return {"type": "custom", "engine": "greatExpectations", "name": name, "implementation": implementation}


def rules_of(tmp_path, *quality):
    columns = [column("id", "integer", "BIGINT"), column("amount", "number", "DOUBLE"), column("status", "string", "VARCHAR")]
    path = tmp_path / "contract.yaml"
    path.write_text(
        contract_yaml("shop", "items", columns, schema=[{"name": "items", "properties": columns, "quality": list(quality)}])
    )
    return {r.name: r for r in rules_for_contract(load_contract(path))}


@pytest.fixture(scope="module")
def connection():
    """20,000 rows: amount is id mod 100 (mean 49.5), one row in ten is 'lost', the largest amount is 99."""
    connection = duckdb.connect()
    connection.execute(
        f"CREATE SCHEMA staging; CREATE TABLE {STAGED} AS SELECT i AS id, (i % 100)::DOUBLE AS amount, "
        f"CASE WHEN i % 10 = 0 THEN 'lost' ELSE 'open' END AS status FROM range({ROWS}) t(i)"
    )
    return connection


def test_which_rules_read_a_sample(tmp_path):
    rules = rules_of(
        tmp_path,
        custom("mean", "expect_column_mean_to_be_between", column="amount", min_value=40, max_value=60),
        custom("share open", "expect_column_values_to_be_in_set", column="status", value_set=["open"], mostly=0.8),
        custom("all open", "expect_column_values_to_be_in_set", column="status", value_set=["open"]),
        custom("max", "expect_column_max_to_be_between", column="amount", max_value=100),
        custom("mean, every row", "expect_column_mean_to_be_between", sample="all", column="amount", min_value=40),
        custom("median", "expect_column_median_to_be_between", sample=5000, column="amount", min_value=40),
    )
    assert rules["mean"].sample_rows == SAMPLE_ROWS and rules["share_open"].sample_rows == SAMPLE_ROWS
    assert rules["all_open"].sample_rows is None and rules["max"].sample_rows is None  # their verdict needs every row
    assert rules["mean_every_row"].sample_rows is None and rules["median"].sample_rows == 5000
    assert all(r.sample_rows is None for name, r in rules.items() if name.startswith(("row_count", "id_", "amount_", "status_")))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            custom("max", "expect_column_max_to_be_between", sample=1000, column="amount"),
            "cannot be checked on a sample: its verdict is a statistic of every row",
        ),
        (
            custom("all open", "expect_column_values_to_be_in_set", sample=1000, column="status", value_set=["open"]),
            "its verdict is a verdict on every row",
        ),
        (
            custom("unique", "expect_column_values_to_be_unique", sample=1000, column="id", mostly=0.5),
            "its verdict is a verdict on every row",
        ),
        (
            custom("mean", "expect_column_mean_to_be_between", sample="some", column="amount"),
            "sample must be a number of rows or 'all', not 'some'",
        ),
        (
            custom("mean", "expect_column_mean_to_be_between", sample=0, column="amount"),
            "sample must be a number of rows or 'all', not 0",
        ),
    ],
    ids=["a maximum", "a share of 100 %", "a uniqueness", "not a number", "zero rows"],
)
def test_a_sample_the_verdict_cannot_rest_on_is_a_contract_error(tmp_path, rule, message):
    with pytest.raises(ContractError) as raised:
        rules_of(tmp_path, rule)
    text = str(raised.value)
    assert "contract.yaml" in text and "schema[0].quality[0].implementation.sample" in text and message in text, text


def test_a_sampled_rule_reads_a_repeatable_sample_and_says_so(tmp_path, connection):
    rules = rules_of(
        tmp_path,
        custom("mean", "expect_column_mean_to_be_between", sample=2000, column="amount", min_value=45, max_value=55),
        custom("share open", "expect_column_values_to_be_in_set", sample=2000, column="status", value_set=["open"], mostly=0.85),
        custom("too open", "expect_column_values_to_be_in_set", sample=2000, column="status", value_set=["open"], mostly=0.95),
        custom("max", "expect_column_max_to_be_between", column="amount", max_value=98),
        custom("whole mean", "expect_column_mean_to_be_between", sample=ROWS, column="amount", min_value=45),
    )
    chosen = [rules[n] for n in ("mean", "share_open", "too_open", "max", "whole_mean")]
    first = {r.rule.name: r for r in evaluate_rules(chosen, connection, STAGED)}
    again = {r.rule.name: r for r in evaluate_rules(chosen, connection, STAGED)}

    for name in ("mean", "share_open", "too_open"):
        assert first[name].sampled == (2000, ROWS) and first[name].error is None, first[name]
        assert "on a sample of 2,000 of 20,000 rows" in first[name].message
        assert first[name].observed == again[name].observed and first[name].unexpected_count == again[name].unexpected_count
    assert first["mean"].passed and 45 <= first["mean"].observed <= 55 and first["mean"].observed != 49.5  # an estimate
    assert first["share_open"].passed and not first["too_open"].passed  # one in ten rows is 'lost'
    assert 150 <= first["share_open"].unexpected_count <= 250  # ~10 % of the 2,000 rows read
    # A rule needing every row, and a sample as large as the table, read every row: exact values.
    assert first["max"].sampled is None and first["max"].observed == 99 and not first["max"].passed
    assert first["whole_mean"].sampled is None and first["whole_mean"].observed == 49.5
