"""Write–audit–publish: contract rules run as Dagster asset checks on staged data before publishing."""

import subprocess
import sys

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from mesh_platform import load_contract, product_versions
from mesh_platform.quality import rules_for_contract

from .conftest import REPO, column, contract_yaml
from .test_recipes import rows

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {path}\n"
ITEMS = [
    column("id", "integer", primaryKey=True, primaryKeyPosition=1, required=True),
    column("status", quality=[{"metric": "invalidValues", "arguments": {"validValues": ["open", "closed"]}, "mustBe": 0}]),
    column("price", "number", "DOUBLE", logicalTypeOptions={"minimum": 0, "maximum": 1000}),
    column("code", logicalTypeOptions={"pattern": "^[A-Z]{2}-[0-9]+$"}),
]
QUALITY = [
    {"metric": "rowCount", "mustBeGreaterOrEqualTo": 2},
    {
        "type": "sql",
        "name": "closed share",
        "query": "SELECT count(*) FILTER (WHERE status = 'closed') * 100 / count(*) FROM {object}",
        "mustBeLessThan": 75,
    },
    {
        "type": "custom",
        "engine": "greatExpectations",
        "name": "mean price",
        "severity": "warning",
        "implementation": {"expectation": "expect_column_mean_to_be_between", "kwargs": {"column": "price", "max_value": 500}},
    },
]
GOOD = "id,status,price,code\n1,open,10,AB-1\n2,closed,20,CD-22\n3,open,30,EF-333\n"


def checks(result: dg.ExecuteInProcessResult, product: str | None = None) -> dict[str, dg.AssetCheckEvaluation]:
    """Check evaluations of one product (by default the first one evaluated) by check name."""
    evaluations = result.get_asset_check_evaluations()
    product = product or evaluations[0].asset_key.path[-1]
    return {e.check_name: e for e in evaluations if e.asset_key.path[-1] == product}


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "items",
        SOURCE.format(path="items.csv"),
        contract_yaml("shop", "items", ITEMS, schema=[{"name": "items", "properties": ITEMS, "quality": QUALITY}]),
    )
    lab.add_product(
        "shop",
        "open_items",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://shop/items]\n  where: \"status = 'open'\"\n",
        contract_yaml("shop", "open_items", ITEMS),
    )
    lab.land("shop", "items.csv", GOOD)
    result = lab.materialize("shop")
    assert result.success
    return lab, result


def test_rules_come_from_the_contract():
    rules = {r.name: r for r in rules_for_contract(load_contract(REPO / "domains/sales/defs/orders/contract.yaml"))}
    assert rules["order_id_not_null"].source == "schema[0].properties[0].required"
    assert rules["order_id_unique"].expectation == "ExpectColumnValuesToBeUnique"
    assert rules["row_count"].measure == "observed_value" and str(rules["row_count"].threshold) == "> 0"
    assert all(r.blocking for r in rules.values())


def test_every_rule_is_a_check_and_passing_data_publishes(shop):
    lab, result = shop
    evaluations = checks(result)
    assert {n for n in evaluations if n.startswith(("id_", "status_", "price_", "code_", "row", "closed", "mean"))} >= {
        "id_not_null",
        "id_unique",
        "status_invalid_values",
        "price_in_range",
        "code_pattern",
        "row_count",
        "closed_share",
        "mean_price",
    }
    assert all(e.passed for e in evaluations.values())
    assert evaluations["row_count"].metadata["observed"].value == "3"
    assert rows("mesh://shop/items") == [(1, "open", 10.0, "AB-1"), (2, "closed", 20.0, "CD-22"), (3, "open", 30.0, "EF-333")]
    # The checks ran on the files DuckDB staged beside the port, and those files are the version published.
    [file] = (lab.settings.ports_root / "shop" / "items" / "v1").glob("part-*.parquet")
    assert pq.read_metadata(file).created_by.startswith("DuckDB")
    assert not list(lab.settings.ports_root.rglob("_mesh_staged"))


@pytest.mark.parametrize(
    ("data", "rule", "observed"),
    [
        ("id,status,price,code\n,open,10,AB-1\n2,closed,20,CD-22\n", "id_not_null", "1"),
        ("id,status,price,code\n1,open,10,AB-1\n1,closed,20,CD-22\n", "id_unique", "2"),
        ("id,status,price,code\n1,open,10,AB-1\n2,lost,20,CD-22\n", "status_invalid_values", "1"),
        ("id,status,price,code\n1,open,-5,AB-1\n2,closed,20,CD-22\n", "price_in_range", "1"),
        ("id,status,price,code\n1,open,10,ab-1\n2,closed,20,CD-22\n", "code_pattern", "1"),
        ("id,status,price,code\n1,open,10,AB-1\n", "row_count", "1"),
        ("id,status,price,code\n1,closed,10,AB-1\n2,closed,20,CD-22\n", "closed_share", "100.0"),
    ],
)
def test_a_failing_rule_blocks_publishing(shop, data, rule, observed):
    lab, _ = shop
    lab.land("shop", "items.csv", data)
    result = lab.materialize("shop", raise_on_error=False)
    assert not result.success
    evaluation = checks(result)[rule]
    assert not evaluation.passed and evaluation.metadata["observed"].value == observed
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "items" and f"{rule} failed" in str(failure.step_failure_data.error)
    # The port keeps its version, readable; the downstream product did not run.
    assert [v.version for v in product_versions("mesh://shop/items")] == [0]
    assert len(rows("mesh://shop/items")) == 3
    assert not any(e.step_key == "open_items" and e.is_step_start for e in result.all_events)
    # The rejected data is kept for inspection in the domain's DuckDB file; the files it was staged in are gone.
    with duckdb.connect(str(lab.settings.domain_database("shop")), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM staging.items").fetchall()[0][0] == data.count("\n") - 1
    assert not list(lab.settings.ports_root.rglob("_mesh_staged"))


def test_failed_check_shows_a_sample_of_offending_values(shop):
    lab, _ = shop
    lab.land("shop", "items.csv", "id,status,price,code\n1,lost,10,AB-1\n2,gone,20,CD-22\n3,open,1,EF-3\n")
    evaluation = checks(lab.materialize("shop", raise_on_error=False))["status_invalid_values"]
    assert evaluation.metadata["unexpected_count"].value == 2
    assert sorted(evaluation.metadata["sample"].value) == ["gone", "lost"]
    assert "schema[0].properties[1].quality[0]" in evaluation.metadata["rule"].value


def test_a_failed_check_on_personal_data_counts_without_showing_values(lab):
    """Check results go to Dagster's event log and the UI: a personal column's values never do."""
    people = [
        column("id", "integer"),
        column("email", classification="personal", logicalTypeOptions={"pattern": "^[a-z]+@example[.]com$"}),
    ]
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE.format(path="people.csv"), contract_yaml("crm", "people", people))
    lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n2,BOB@ELSEWHERE.ORG\n")
    result = lab.materialize("crm", raise_on_error=False)
    evaluation = checks(result)["email_pattern"]
    assert not evaluation.passed and evaluation.metadata["unexpected_count"].value == 1 and "sample" not in evaluation.metadata
    failure = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert "email_pattern failed (email matches ^[a-z]+@example[.]com$. — observed 1, expected = 0)" in failure
    logged = "".join(str(event) for event in result.all_events)
    assert "BOB@ELSEWHERE.ORG" not in logged and "BOB@ELSEWHERE.ORG" not in (evaluation.description or "")


def test_a_failing_warning_publishes_and_is_reported(shop):
    lab, _ = shop
    lab.land("shop", "items.csv", "id,status,price,code\n1,open,900,AB-1\n2,closed,800,CD-22\n")
    result = lab.materialize("shop")
    assert result.success
    evaluation = checks(result)["mean_price"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert [v.version for v in product_versions("mesh://shop/items")] == [1, 0]


def test_great_expectations_is_not_imported_when_definitions_load():
    script = "import sys, domains.sales.definitions; print('great_expectations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_rule_the_mesh_cannot_run_is_a_contract_error(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml("lab", "things", [column("a", quality=[{"metric": "invalidValues", "mustBe": 0}])]))
    from mesh_platform import ContractError

    with pytest.raises(
        ContractError, match=r"schema\[0\]\.properties\[0\]\.quality\[0\]: invalidValues needs arguments.validValues"
    ):
        rules_for_contract(load_contract(path))


def test_date_ranges_compare_as_dates(lab):
    lab.add_domain("shop")
    days = [column("day", "date", logicalTypeOptions={"minimum": "2026-01-01", "maximum": "2026-12-31"})]
    lab.add_product("shop", "days", SOURCE.format(path="days.csv"), contract_yaml("shop", "days", days))
    lab.land("shop", "days.csv", "day\n2026-03-01\n2026-12-31\n")
    assert checks(lab.materialize("shop"))["day_in_range"].passed
    lab.land("shop", "days.csv", "day\n2026-03-01\n2027-01-01\n")
    evaluation = checks(lab.materialize("shop", raise_on_error=False))["day_in_range"]
    assert not evaluation.passed and evaluation.metadata["unexpected_count"].value == 1
