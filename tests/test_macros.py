"""SQL macros: the mesh's and each domain's `CREATE MACRO` files, in every SQL recipe and rule of the domain."""

import json
import os
import textwrap

import duckdb
import pytest

from mesh_platform.core.sql_macros import SqlMacros

from .conftest import column, contract_yaml, owner_read, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {path}\n"
SQL = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [{inputs}]\n  sql_file: query.sql\n"
ORDERS = [
    column("order_id", "integer"),
    column("amount", "number", "DECIMAL(10,2)"),
    column("tax", "number", "DECIMAL(10,2)"),
    column("status"),
]
NET = [
    column("order_id", "integer"),
    column("net_amount", "number", "DECIMAL(10,2)"),
    column("doubled", "number", "DECIMAL(10,2)"),
]
MESH_MACROS = """\
-- The lab mesh's macros.
CREATE MACRO net(amount, tax) AS amount - tax;
CREATE MACRO twice(x) AS x * 2;
"""
SHOP_MACROS = """\
-- The shop domain's macros: they may use the mesh's.
CREATE MACRO net_twice(amount, tax) AS twice(net(amount, tax));

CREATE MACRO completed(orders_table) AS TABLE
    SELECT * FROM query_table(orders_table) WHERE status = 'completed';
"""
NET_QUERY = "SELECT order_id, net(amount, tax) AS net_amount, net_twice(amount, tax) AS doubled FROM completed(orders)\n"


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def shop(lab):
    """A shop domain whose SQL product uses a mesh macro, a domain macro built on the mesh's, and a table macro."""
    write(lab.root / "macros.sql", MESH_MACROS)
    folder = lab.add_domain("shop")
    write(folder / "macros.sql", SHOP_MACROS)
    lab.add_product("shop", "orders", SOURCE.format(path="orders.csv"), contract_yaml("shop", "orders", ORDERS))
    lab.add_product(
        "shop",
        "net_orders",
        SQL.format(inputs="mesh://shop/orders"),
        contract_yaml("shop", "net_orders", NET),
        {"query.sql": NET_QUERY},
    )
    return lab


def mesh(lab, *args):
    return run_mesh(*args, env={**os.environ}, cwd=lab.root)


def test_a_macros_file_holds_only_create_macro_statements(tmp_path):
    file = write(
        tmp_path / "macros.sql",
        """\
        -- fine
        CREATE MACRO ok(x) AS x;

        /* not a macro */
        CREATE TABLE leftovers AS SELECT 1 AS x;
        CREATE OR REPLACE FUNCTION also_ok(x) AS x + 1;
        SELECT 1;
    """,
    )
    macros = SqlMacros.of([file])
    assert [m.name for m in macros.macros] == ["ok", "also_ok"]
    assert [(p.line, p.message) for p in macros.problems()] == [
        (5, "only CREATE MACRO statements belong in a macros file, not CREATE TABLE"),
        (7, "only CREATE MACRO statements belong in a macros file, not SELECT"),
    ]
    assert all(p.file == file for p in macros.problems())


def test_a_domain_macro_replaces_a_mesh_macro_only_when_it_says_or_replace(tmp_path):
    mesh_file = write(tmp_path / "mesh.sql", "CREATE MACRO fee(x) AS x * 0.1;\n")
    domain = tmp_path / "shop"
    domain.mkdir()
    write(domain / "macros.sql", "CREATE MACRO other(x) AS x;\nCREATE MACRO fee(x) AS x * 0.2;\n")
    [problem] = SqlMacros.of_domain(mesh_file, domain).problems()
    assert (problem.file, problem.line) == (domain / "macros.sql", 2)
    assert f"macro fee is already defined in {mesh_file}:1" in problem.message and "CREATE OR REPLACE MACRO" in problem.fix

    write(domain / "macros.sql", "CREATE OR REPLACE MACRO fee(x) AS x * 0.2;\n")
    macros = SqlMacros.of_domain(mesh_file, domain)
    connection = duckdb.connect()
    assert macros.install(connection) == []
    assert connection.sql("SELECT fee(10)").fetchall() == [(2.0,)]


def test_macros_are_temporary_macros_of_the_connection_never_stored_in_its_database(tmp_path):
    macros = SqlMacros.of([write(tmp_path / "macros.sql", "CREATE MACRO twice(x) AS x * 2;\n")])
    database = tmp_path / "domain.duckdb"
    with duckdb.connect(str(database)) as connection:
        macros.install(connection)
        assert connection.sql("SELECT twice(21)").fetchall() == [(42,)]
        assert connection.sql("SELECT database_name FROM duckdb_functions() WHERE function_name = 'twice'").fetchall() == [
            ("temp",)
        ]
    with duckdb.connect(str(database)) as connection:
        assert connection.sql("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'twice'").fetchall() == [(0,)]


def test_mesh_check_reports_a_broken_macros_file_with_its_line_and_only_for_its_domain(shop):
    crm = shop.add_domain("crm")
    write(crm / "macros.sql", "CREATE MACRO fine(x) AS x;\n")
    clean = mesh(shop, "check", "--json")
    assert not [v for v in json.loads(clean.stdout)["violations"] if v["policy"] == "mesh.macros"], clean.stdout

    shop_file = write(
        shop.root / shop.package / "shop" / "macros.sql", SHOP_MACROS + "CREATE MACRO typo(x) AS\n    x + no_such_function(x);\n"
    )
    checked = mesh(shop, "check")
    assert checked.returncode == 1
    [line] = [line for line in checked.stdout.splitlines() if "mesh.macros" in line]
    assert line.startswith(
        f"error mesh.macros (shop macros) {shop_file}:7: macro typo: DuckDB refuses it: "
        "Catalog Error: Scalar Function with name no_such_function does not exist"
    ), line
    assert "(crm macros)" not in checked.stdout
    # The mesh's macros are fine: crm is not touched.
    assert mesh(shop, "check", "--domain", "crm", "--no-unit-tests").returncode == 0

    write(shop.root / "macros.sql", MESH_MACROS + "DROP TABLE things;\n")
    [line] = [line for line in mesh(shop, "check", "--domain", "crm").stdout.splitlines() if "mesh.macros" in line]
    assert line.startswith(
        f"error mesh.macros (mesh macros) {shop.root / 'macros.sql'}:4: statement: "
        "only CREATE MACRO statements belong in a macros file, not DROP"
    )


def test_column_lineage_follows_scalar_and_table_macros(shop):
    lineage = json.loads(mesh(shop, "lineage", "mesh://shop/net_orders", "--json").stdout)
    upstream = {name: entry["upstream"] for name, entry in lineage["columns"].items()}
    assert lineage["method"] == "sql" and lineage["problem"] is None
    assert upstream == {
        "order_id": ["mesh://shop/orders.order_id"],  # through the table macro's body
        "net_amount": ["mesh://shop/orders.amount", "mesh://shop/orders.tax"],  # the columns passed to the scalar macro
        "doubled": ["mesh://shop/orders.amount", "mesh://shop/orders.tax"],  # a domain macro over two of the mesh's
    }
    status = json.loads(mesh(shop, "lineage", "mesh://shop/orders.status", "--downstream", "--json").stdout)
    assert status["read_by"] == ["mesh://shop/net_orders"]  # the table macro's filter reads it


def test_lineage_of_a_macro_sqlglot_cannot_read_says_so(shop):
    write(shop.root / "macros.sql", MESH_MACROS + "CREATE MACRO with_default(a, b := 2) AS a + b;\n")
    query = shop.root / shop.package / "shop/defs/net_orders/query.sql"
    write(query, NET_QUERY.replace("net(amount, tax) AS net_amount", "with_default(amount) AS net_amount"))
    lineage = json.loads(mesh(shop, "lineage", "mesh://shop/net_orders", "--json").stdout)
    assert (
        "sqlglot cannot read the macro with_default" in lineage["problem"]
        and f"{shop.root / 'macros.sql'}:4" in lineage["problem"]
    )


@pytest.mark.slow
def test_a_product_using_macros_materializes_and_a_changed_macro_takes_effect_on_the_next_build(shop):
    shop.land(
        "shop",
        "orders.csv",
        "order_id,amount,tax,status\n1,10.00,1.00,completed\n2,20.00,2.00,cancelled\n3,30.00,3.00,completed\n",
    )
    # A SQL rule calling a macro runs in DuckDB on the staged rows, with the domain's macros installed.
    rule = {
        "type": "sql",
        "name": "net below gross",
        "query": "SELECT count(*) FROM {object} WHERE twice(net_amount) <> doubled",
        "mustBe": 0,
    }
    schema = [
        {
            "name": "net_orders",
            "physicalType": "table",
            "properties": NET,
            "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}, rule],
        }
    ]
    (shop.root / shop.package / "shop/defs/net_orders/contract.yaml").write_text(
        contract_yaml("shop", "net_orders", NET, schema=schema)
    )
    result = shop.materialize("shop")
    assert result.success
    assert sorted(owner_read("mesh://shop/net_orders").itertuples(index=False, name=None)) == [(1, 9.0, 18.0), (3, 27.0, 54.0)]
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks["net_below_gross"] is True
    with duckdb.connect(str(shop.settings.domain_database("shop")), read_only=True) as database:
        assert database.sql(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name IN ('net', 'net_twice', 'completed')"
        ).fetchall() == [(0,)]

    # The mesh's macro changes: the next build uses it, nothing else to do.
    write(shop.root / "macros.sql", MESH_MACROS.replace("amount - tax", "amount - 2 * tax"))
    assert shop.materialize("shop", "net_orders").success
    assert sorted(owner_read("mesh://shop/net_orders").itertuples(index=False, name=None)) == [(1, 8.0, 16.0), (3, 24.0, 48.0)]

    # mesh query runs as a domain's SQL: the mesh's macros and the domain's.
    queried = mesh(
        shop,
        "query",
        "--as",
        "shop",
        "--json",
        "SELECT order_id, net(amount, tax) AS n, net_twice(amount, tax) AS d FROM shop.orders ORDER BY 1",
    )
    assert queried.returncode == 0, queried.stderr
    assert [(r["order_id"], r["n"], r["d"]) for r in json.loads(queried.stdout)] == [
        (1, 8.0, 16.0),
        (2, 16.0, 32.0),
        (3, 24.0, 48.0),
    ]

    # A broken domain macros file fails the domain's builds with its file and line; other domains still build.
    write(shop.root / shop.package / "shop" / "macros.sql", SHOP_MACROS + "CREATE VIEW v AS SELECT 1;\n")
    broken = shop.materialize("shop", "net_orders", raise_on_error=False)
    assert not broken.success
    failure = str(next(e for e in broken.all_events if e.is_step_failure).step_failure_data.error)
    assert (
        f"{shop.root / shop.package / 'shop' / 'macros.sql'}:6: statement: only CREATE MACRO statements belong in a macros file"
        in failure
    )
    crm = shop.add_domain("crm")
    write(crm / "macros.sql", "CREATE MACRO shout(x) AS upper(x);\n")
    shop.add_product(
        "crm",
        "labels",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT shout('a') AS label\n",
        contract_yaml("crm", "labels", [column("label")]),
    )
    assert shop.materialize("crm").success
    assert owner_read("mesh://crm/labels")["label"].tolist() == ["A"]
