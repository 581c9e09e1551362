"""The benchmark's dbt reference: jaffle-shop's models as dbt builds them and as mesh products, the same rows.

The slow test builds both sides at the small size (100,000 orders) in dbt's own environment (made once in the
benchmark's default work folder, then reused) and compares every model's output row for row; it is skipped, saying
why, where that environment cannot be made (no package index). The others check the port from dbt's files to the
mesh's without dbt.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from bench.jaffle.compare import compare, differing
from bench.jaffle.project import contract_rules, models, ported_sql


def test_the_project_has_thirteen_models_staging_first_each_after_what_it_reads():
    found = models()
    names = [m.name for m in found]
    assert len(found) == 13 and {m.layer for m in found[:6]} == {"staging"}
    for index, model in enumerate(found):
        assert all(names.index(ref) < index for ref in model.refs), model.name
    orders = next(m for m in found if m.name == "orders")
    assert orders.inputs == ["mesh://jaffle/stg_orders", "mesh://jaffle/order_items"]


def test_jinja_is_ported_to_the_sql_dbt_duckdb_compiles_it_to():
    text = (
        "select {{ dbt_utils.generate_surrogate_key(['id', 'sku']) }} as k, {{ cents_to_dollars('cost') }} as c,"
        " {{ dbt.date_trunc('day','at') }} as d from {{ source('ecom', 'raw_supplies') }} join {{ ref('stg_x') }}"
    )
    assert ported_sql(text) == (
        "select md5(cast(coalesce(cast(id as TEXT), '_dbt_utils_surrogate_key_null_') || '-' || "
        "coalesce(cast(sku as TEXT), '_dbt_utils_surrogate_key_null_') as TEXT)) as k, (cost / 100)::numeric(16, 2) as c,"
        " date_trunc('day', at) as d from raw_supplies join stg_x"
    )
    with pytest.raises(ValueError, match="Jinja left"):
        ported_sql("select {{ dbt_utils.star(ref('x')) }}")


def test_every_data_test_becomes_a_contract_rule():
    by_name = {m.name: m for m in models()}
    columns, table = contract_rules(by_name["orders"])
    assert columns["order_id"]["quality"] == [{"metric": "nullValues", "mustBe": 0}, {"metric": "duplicateValues", "mustBe": 0}]
    assert columns["customer_id"]["relationships"] == [
        {
            "type": "foreignKey",
            "to": "stg_customers.customer_id",
            "customProperties": [{"property": "product", "value": "mesh://jaffle/stg_customers"}],
        }
    ]
    assert [rule["query"] for rule in table] == [
        "SELECT count(*) FROM {object} WHERE NOT (order_items_subtotal = subtotal)",
        "SELECT count(*) FROM {object} WHERE NOT (order_total = subtotal + tax_paid)",
    ]
    columns, _ = contract_rules(by_name["customers"])
    assert columns["customer_type"]["quality"] == [
        {"metric": "invalidValues", "arguments": {"validValues": ["new", "returning"]}, "mustBe": 0}
    ]
    dbt_tests = sum(len(m.tests) + sum(len(t) for t in m.column_tests.values()) for m in models())
    assert dbt_tests == 35  # what `dbt build` reports running


def test_the_comparison_finds_a_row_that_differs_and_a_duplicate_that_is_missing(tmp_path):
    database = tmp_path / "dbt.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE same AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(id, label)")
        connection.execute("CREATE TABLE changed AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(id, label)")
        connection.execute("CREATE TABLE twice AS SELECT * FROM (VALUES (1, 'a'), (1, 'a')) AS t(id, label)")
    ports = tmp_path / "ports"
    for name, rows in {"same": [(2, "b"), (1, "a")], "changed": [(1, "a"), (2, "c")], "twice": [(1, "a")]}.items():
        ids, labels = zip(*rows, strict=True)
        write_deltalake(str(ports / name / "v1"), pa.table({"id": list(ids), "label": list(labels)}))
    found = compare(database, ports, ["same", "changed", "twice"])
    assert differing(found) == ["changed", "twice"]
    assert found["changed"]["only_in_dbt"] == 1 and found["changed"]["only_in_mesh"] == 1
    assert found["twice"]["only_in_dbt"] == 1 and found["twice"]["only_in_mesh"] == 0
    fingerprinted = compare(database, ports, ["same", "changed", "twice"], exact_rows=0)  # as larger tables are
    assert differing(fingerprinted) == ["changed", "twice"]
    assert {figures["compared"] for figures in fingerprinted.values()} == {"fingerprint"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_model_the_mesh_builds_equals_what_dbt_builds_row_for_row(tmp_path):
    from bench.jaffle.dbt_env import DbtUnavailable
    from bench.jaffle.scenarios import set_up

    venv = Path(tempfile.gettempdir()) / "mesh-bench" / "dbt-venv"
    try:
        shop = set_up(tmp_path, "small", tmp_path / "bench.log", dbt_venv=venv)
    except DbtUnavailable as error:
        pytest.skip(f"dbt's environment cannot be made here: {error}")
    found = shop.compare()
    assert sorted(found) == sorted(m.name for m in models())
    assert differing(found) == [], found
    assert found["orders"]["dbt_rows"] == 100_000 and found["order_items"]["dbt_rows"] > 100_000
