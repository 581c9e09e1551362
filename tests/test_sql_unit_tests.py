"""Unit tests of products (`mesh test`): given input rows, the product is these rows — run without a materialized mesh."""

import json
import os
import textwrap

import pytest

from .conftest import REPO, column, contract_yaml, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {path}\n{extra}"
ORDERS = [
    column("order_id", "integer"),
    column("customer", "integer", "BIGINT", classification="personal"),  # a keyed token for other domains
    column("birth_date", "date", "DATE", classification="sensitive", customProperties=[{"property": "masking", "value": "drop"}]),
    column("country"),
    column("amount", "number", "DECIMAL(10,2)"),
    column("status"),
]
TOTALS = [
    column("country", customProperties=[{"property": "term", "value": "country"}]),
    column("orders", "integer"),
    column("amount", "number", "DECIMAL(12,2)"),
]
TOTALS_SQL = "SELECT country, count(*) AS orders, sum(amount) AS amount FROM orders WHERE status = 'completed' GROUP BY ALL\n"
TOTALS_TESTS = """\
# Unit tests of mesh://shop/totals.
tests:
  - name: completed_orders_add_up
    description: Cancelled orders count for nothing; the country is normalized to its ISO code on publish.
    given:
      orders:
        - {order_id: 1, country: USA, amount: 10.50, status: completed}
        - {order_id: 2, country: USA, amount: 4.50, status: completed}
        - {order_id: 3, country: Japan, amount: 99, status: cancelled}
    expect:
      - {country: US, orders: 2, amount: 15.00}
  - name: nothing_completed
    given:
      orders:
        - {order_id: 3, country: Japan, amount: 99, status: cancelled}
    expect: []
"""


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def mesh(lab, *args):
    return run_mesh(*args, env={**os.environ}, cwd=lab.root)


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "orders", SOURCE.format(path="orders.csv", extra=""), contract_yaml("shop", "orders", ORDERS))
    lab.add_product(
        "shop",
        "totals",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/orders]\n  sql_file: totals.sql\n",
        contract_yaml("shop", "totals", TOTALS),
        {"totals.sql": TOTALS_SQL, "tests.yaml": TOTALS_TESTS},
    )
    return lab


def unit_tests_file(lab, domain, product):
    return lab.root / lab.package / domain / "defs" / product / "tests.yaml"


def test_mesh_test_runs_each_products_tests_without_a_materialized_mesh(shop):
    result = mesh(shop, "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "PASS  mesh://shop/totals completed_orders_add_up",
        "PASS  mesh://shop/totals nothing_completed",
        "ran 2 unit tests of 1 product: 2 passed, 0 failed, 0 errors",
    ]
    assert (
        not shop.settings.home.joinpath("ports").exists() and not shop.settings.databases_root.exists()
    )  # nothing built, nothing read


def test_a_failing_test_prints_the_missing_and_unexpected_rows_with_its_file_and_line(shop):
    file = unit_tests_file(shop, "shop", "totals")
    file.write_text(TOTALS_TESTS.replace("{country: US, orders: 2, amount: 15.00}", "{country: US, orders: 2, amount: 15.50}"))
    result = mesh(shop, "test", "mesh://shop/totals")
    assert result.returncode == 1
    assert result.stdout.splitlines()[:6] == [
        f"FAIL  mesh://shop/totals completed_orders_add_up  ({file}:3)",
        "      compared columns: country, orders, amount (in any order)",
        "      missing (expected, not produced):",
        "        country='US' orders=2 amount=15.50",
        "      unexpected (produced, not expected):",
        "        country='US' orders=2 amount=15.00",
    ]
    assert result.stdout.splitlines()[-1] == "ran 2 unit tests of 1 product: 1 passed, 1 failed, 0 errors"
    [failed] = [t for t in json.loads(mesh(shop, "test", "--json").stdout)["tests"] if t["status"] == "failed"]
    assert (failed["line"], failed["columns"], failed["missing"], failed["unexpected"]) == (
        3,
        ["country", "orders", "amount"],
        [{"country": "US", "orders": 2, "amount": "15.50"}],
        [{"country": "US", "orders": 2, "amount": "15.00"}],
    )


def test_only_the_columns_written_are_compared_and_order_matters_only_when_asked(shop):
    write(
        unit_tests_file(shop, "shop", "totals"),
        """\
        tests:
          - name: any_order
            given:
              orders:
                - {order_id: 1, country: JP, amount: 1, status: completed}
                - {order_id: 2, country: US, amount: 2, status: completed}
            expect:
              - {country: US}
              - {country: JP}
          - name: in_order
            given:
              orders:
                - {order_id: 1, country: JP, amount: 1, status: completed}
                - {order_id: 2, country: US, amount: 2, status: completed}
            expect:
              - {country: US, orders: 1}
              - {country: JP, orders: 1}
            ordered: true
    """,
    )
    shop.root.joinpath(shop.package, "shop/defs/totals/totals.sql").write_text(TOTALS_SQL.rstrip() + " ORDER BY country\n")
    result = mesh(shop, "test")
    assert result.stdout.splitlines()[0] == "PASS  mesh://shop/totals any_order"
    assert result.stdout.splitlines()[2:8] == [
        "      compared columns: country, orders (in this order)",
        "      missing (expected, not produced):",
        "        row 1 country='US' orders=1",
        "        row 2 country='JP' orders=1",
        "      unexpected (produced, not expected):",
        "        row 1 country='JP' orders=1",
    ]


def test_inputs_are_typed_as_the_products_domain_reads_them(shop):
    """Another domain reads the personal column as a keyed token (text) and never sees the dropped one."""
    shop.add_domain("crm")
    shop.add_product(
        "crm",
        "buyers",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/orders]\n"
        "  sql: SELECT DISTINCT customer FROM orders\n",
        contract_yaml("crm", "buyers", [column("customer", classification="personal")]),
        {
            "tests.yaml": """\
            tests:
              - name: tokens_are_text
                given:
                  orders:
                    - {order_id: 1, customer: 9f86d081884c7d65, status: completed}
                expect:
                  - {customer: 9f86d081884c7d65}
              - name: the_dropped_column_is_not_there
                given:
                  orders:
                    - {order_id: 1, birth_date: 1990-01-01}
                expect: []
        """
        },
    )
    results = {t["test"]: t for t in json.loads(mesh(shop, "test", "--domain", "crm", "--json").stdout)["tests"]}
    assert results["tokens_are_text"]["status"] == "passed"
    dropped = results["the_dropped_column_is_not_there"]
    assert dropped["status"] == "error" and dropped["line"] == 11
    assert (
        "mesh://shop/orders as read here has no column 'birth_date' (its columns: order_id, customer, country, amount, status)"
        in dropped["message"]
    )

    # The owning domain reads the clear value: an integer, so text is refused, at its line and column.
    write(
        unit_tests_file(shop, "shop", "totals"),
        """\
        tests:
          - name: clear_values
            given:
              orders:
                - {order_id: 1, customer: 12, status: completed}
                - {order_id: 2, customer: not-a-number, status: completed}
            expect: []
    """,
    )
    [error] = json.loads(mesh(shop, "test", "--domain", "shop", "--json").stdout)["tests"]
    assert error["status"] == "error" and error["line"] == 6
    assert (
        f"{unit_tests_file(shop, 'shop', 'totals')}:6: tests[0].given.orders[1].customer: 'not-a-number' is no BIGINT"
        in error["message"]
    )


def test_a_tests_file_that_cannot_be_used_names_the_line(shop):
    file = write(
        unit_tests_file(shop, "shop", "totals"),
        """\
        tests:
          - name: typo
            given:
              orders: []
            expected: []
    """,
    )
    results = json.loads(mesh(shop, "test", "--json").stdout)["tests"]
    assert {(r["status"], r["line"]) for r in results} == {
        ("error", 2),
        ("error", 5),
    }  # expect is missing from the test; expected is unknown
    assert any("tests[0].expected: unknown setting 'expected' (a typo?)" in r["message"] for r in results)
    write(
        file,
        """\
        tests:
          - name: not_an_input
            given:
              customers: [{id: 1}]
            expect: []
          - name: not_a_column
            given:
              orders: [{order_id: 1, status: completed, amount: 1}]
            expect:
              - {country: null, revenue: 1}
    """,
    )
    results = json.loads(mesh(shop, "test", "--json").stdout)["tests"]
    assert [(r["status"], r["line"]) for r in results] == [("error", 4), ("error", 10)]
    assert "'customers' is no input of mesh://shop/totals (its inputs: orders)" in results[0]["message"]
    assert "the product has no column 'revenue' (its columns: country, orders, amount)" in results[1]["message"]


def test_the_output_is_conformed_to_the_contract_as_a_build_would(shop):
    shop.root.joinpath(shop.package, "shop/defs/totals/totals.sql").write_text(
        "SELECT country, count(*) AS orders, 1 AS extra FROM orders GROUP BY ALL\n"
    )
    results = json.loads(mesh(shop, "test", "--json").stdout)["tests"]
    assert results[0]["status"] == "error"
    assert "does not match contract.yaml" in results[0]["message"] and "missing column 'amount'" in results[0]["message"]
    assert "extra column 'extra'" in results[0]["message"]


def test_mesh_check_reports_failing_unit_tests_unless_told_not_to(shop):
    file = unit_tests_file(shop, "shop", "totals")
    file.write_text(TOTALS_TESTS.replace("orders: 2, amount: 15.00", "orders: 3, amount: 15.00"))
    checked = mesh(shop, "check")
    assert checked.returncode == 1
    [line] = [line for line in checked.stdout.splitlines() if "mesh.unit-test" in line]
    assert line == (
        f"error mesh.unit-test mesh://shop/totals {file}:3: test completed_orders_add_up: the unit test fails: "
        "1 expected row(s) not produced; 1 row(s) produced but not expected — mesh test mesh://shop/totals shows why"
    )
    assert "mesh.unit-test" not in mesh(shop, "check", "--no-unit-tests").stdout


def test_every_recipe_type_that_runs_without_files_runs_in_a_test_and_a_source_from_given_file_rows(shop):
    things = [column("id", "integer"), column("name"), column("amount", "number", "DECIMAL(10,2)")]
    shop.add_product(
        "shop",
        "things",
        SOURCE.format(path="things/*.csv", extra="  options:\n    header: true\n"),
        contract_yaml("shop", "things", things),
        {
            "tests.yaml": """\
        tests:
          - name: typed_from_the_delivered_text
            given:
              file:
                - {id: "1", name: anvil, amount: "12.50"}
                - {id: "2", name: bucket, amount: ""}
            expect:
              - {id: 1, name: anvil, amount: 12.50}
              - {id: 2, name: bucket, amount: null}
    """
        },
    )
    events = [column("id", "integer"), column("seq", "integer"), column("op"), column("name")]
    shop.add_product("shop", "events", SOURCE.format(path="events.jsonl", extra=""), contract_yaml("shop", "events", events))
    write(shop.root / shop.package / "shop" / "macros.sql", "CREATE MACRO pricey(amount) AS amount > 5;\n")
    given = (
        "given:\n      things:\n        - {id: 1, name: anvil, amount: 12.50}\n        - {id: 2, name: bucket, amount: 3.25}\n"
    )
    recipes = {
        "pricey": ("FilterProduct", "inputs: [mesh://shop/things]\n  where: pricey(amount)", things, given, "- {id: 1}"),
        "labels": (
            "ProjectionProduct",
            "inputs: [mesh://shop/things]\n  columns: [{name: label, source: name}, id]",
            [column("label"), column("id", "integer")],
            given,
            "- {label: anvil, id: 1}\n      - {label: bucket, id: 2}",
        ),
        "doubled": (
            "UnionProduct",
            "inputs: [mesh://shop/things, mesh://shop/things as again]\n  source_column: origin",
            [*things, column("origin")],
            given + "      again:\n        - {id: 3, name: crate, amount: 7}\n",
            "\n      ".join(f"- {{id: {n}, origin: mesh://shop/things}}" for n in (1, 2, 3)),
        ),
        "named": (
            "JoinProduct",
            "inputs: [mesh://shop/things, mesh://shop/labels]\n  joins: [{input: labels, keys: [id]}]",
            [*things, column("label")],
            given + "      labels:\n        - {label: Anvil, id: 1}\n",
            "- {id: 1, label: Anvil}\n      - {id: 2, label: null}",
        ),
        "current": (
            "CdcProduct",
            "inputs: [mesh://shop/events]\n  key: [id]\n  sequence: seq\n  operation: op\n  exclude: [seq]",
            [column("id", "integer"), column("name")],
            "given:\n      events:\n"
            "        - {id: 1, seq: 1, op: insert, name: a}\n        - {id: 1, seq: 3, op: update, name: c}\n"
            "        - {id: 1, seq: 2, op: update, name: b}\n        - {id: 2, seq: 1, op: insert, name: x}\n"
            "        - {id: 2, seq: 2, op: delete}\n",
            "- {id: 1, name: c}",
        ),
        "counted": (
            "PythonProduct",
            "inputs: [mesh://shop/things]\n  function: count.py:build",
            [column("rows", "integer")],
            given,
            "- {rows: 2}",
        ),
    }
    for name, (recipe_type, attributes, columns, given_rows, expected) in recipes.items():
        shop.add_product(
            "shop",
            name,
            f"type: mesh_platform.recipes.{recipe_type}\nattributes:\n  {attributes}\n",
            contract_yaml("shop", name, columns),
            {
                "tests.yaml": f"tests:\n  - name: {name}_runs\n    {given_rows}    expect:\n      {expected}\n",
                "count.py": "import pandas as pd\n\ndef build(things):\n    return pd.DataFrame({'rows': [len(things)]})\n",
            },
        )
    results = {t["address"]: t for t in json.loads(mesh(shop, "test", "--json").stdout)["tests"]}
    assert {a: (r["status"], r["message"]) for a, r in results.items()} == {a: ("passed", "") for a in results}
    assert set(results) == {f"mesh://shop/{n}" for n in (*recipes, "things", "totals")}


def test_a_macro_reading_an_input_table_is_left_out_where_that_input_is_not_and_said_so_when_called(shop):
    write(
        shop.root / shop.package / "shop" / "macros.sql",
        "CREATE MACRO completed_orders() AS TABLE SELECT * FROM orders WHERE status = 'completed';\n",
    )
    shop.root.joinpath(shop.package, "shop/defs/totals/totals.sql").write_text(
        "SELECT country, count(*) AS orders, sum(amount) AS amount FROM completed_orders() GROUP BY ALL\n"
    )
    shop.add_product(
        "shop",
        "labels",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/totals as t]\n  sql_file: labels.sql\n",
        contract_yaml("shop", "labels", [column("label")]),
        {
            "labels.sql": "SELECT country AS label FROM t\n",
            "tests.yaml": "tests:\n  - name: fine\n    given:\n      t: [{country: US}]\n    expect: [{label: US}]\n",
        },
    )
    results = {t["address"]: t for t in json.loads(mesh(shop, "test", "--json").stdout)["tests"]}
    assert results["mesh://shop/totals"]["status"] == "passed" and results["mesh://shop/labels"]["status"] == "passed"

    shop.root.joinpath(shop.package, "shop/defs/labels/labels.sql").write_text(
        "SELECT country AS label FROM completed_orders()\n"
    )
    [broken] = json.loads(mesh(shop, "test", "mesh://shop/labels", "--json").stdout)["tests"]
    assert broken["status"] == "error"
    assert (
        "the macro completed_orders" in broken["message"]
        and "reads table orders, which this SQL does not have" in broken["message"]
    )


def test_a_mesh_without_tests_has_nothing_to_run_and_that_is_no_failure(lab):
    lab.add_domain("shop")
    result = mesh(lab, "test")
    assert result.returncode == 0
    assert result.stdout.strip() == "no unit tests: a product's tests go in tests.yaml beside its contract (README: Unit tests)"


def test_the_demo_mesh_unit_tests_pass():
    result = run_mesh("test", cwd=REPO)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert all(line.startswith("PASS ") for line in lines[:-1]) and len(lines) > 3
    assert {line.split()[1] for line in lines[:-1]} >= {
        "mesh://sales/daily_revenue",
        "mesh://sales/orders",
        "mesh://marketing/customer_360",
    }
