"""Each recipe type builds real rows: real Dagster runs, real DuckDB files, real Delta ports."""

import pandas as pd
import pytest

from mesh_platform.recipes import PythonProduct, SourceProduct, SqlProduct

from .conftest import column, contract_yaml, owner_read, owner_relation

THINGS = [column("id", "integer"), column("name"), column("amount", "number", "DECIMAL(10,2)")]


def rows(address: str) -> list[tuple]:
    return sorted(owner_read(address).itertuples(index=False, name=None))


@pytest.fixture
def things_source(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things/*.csv\n",
        contract_yaml("shop", "things", THINGS),
    )
    # Columns in another order than the contract: they are matched by name.
    lab.land("shop", "things/a.csv", "name,amount,id\nanvil,12.50,1\nbucket,3.25,2\n")
    lab.land("shop", "things/b.csv", "name,amount,id\ncrate,7.00,3\n")
    return lab


def test_source_reads_csv_files_by_column_name(things_source):
    result = things_source.materialize("shop")
    assert result.success
    frame = owner_read("mesh://shop/things")
    assert list(frame.columns) == ["id", "name", "amount"]
    assert rows("mesh://shop/things") == [(1, "anvil", 12.5), (2, "bucket", 3.25), (3, "crate", 7.0)]


def test_source_reads_json_lines(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "events",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: events.jsonl\n",
        contract_yaml("shop", "events", [column("id", "integer"), column("kind"), column("at", "timestamp")]),
    )
    lab.land(
        "shop",
        "events.jsonl",
        '{"id": 1, "kind": "click", "at": "2026-01-01T10:00:00"}\n{"id": 2, "kind": "view", "at": "2026-01-02T11:30:00"}\n',
    )
    assert lab.materialize("shop").success
    assert rows("mesh://shop/events") == [
        (1, "click", pd.Timestamp("2026-01-01 10:00:00")),
        (2, "view", pd.Timestamp("2026-01-02 11:30:00")),
    ]


def test_source_reads_parquet(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "stock",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: stock.parquet\n",
        contract_yaml("shop", "stock", [column("sku"), column("units", "integer")]),
    )
    path = lab.settings.landing_dir("shop") / "stock.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"units": [5, 0], "sku": ["A-1", "B-2"]}).to_parquet(path)
    assert lab.materialize("shop").success
    assert rows("mesh://shop/stock") == [("A-1", 5), ("B-2", 0)]


def test_sql_recipe_runs_in_duckdb_over_its_inputs(things_source):
    things_source.add_product(
        "shop",
        "big_things",
        """\
        type: mesh_platform.recipes.SqlProduct
        attributes:
          inputs: [mesh://shop/things]
          sql: SELECT upper(name) AS name, amount * 2 AS double_amount FROM things WHERE amount > 5
        """,
        contract_yaml("shop", "big_things", [column("name"), column("double_amount", "number", "DECIMAL(12,2)")]),
    )
    assert things_source.materialize("shop").success
    assert rows("mesh://shop/big_things") == [("ANVIL", 25.0), ("CRATE", 14.0)]
    # The port is each product's one copy: nothing of a published build is left in the domain's DuckDB file.
    import duckdb

    with duckdb.connect(str(things_source.settings.domain_database("shop")), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)


def test_sql_recipe_from_file_with_platform_functions(things_source):
    things_source.land("shop", "things/c.csv", "name,amount,id\ndesk,100,4\n")
    things_source.add_product(
        "shop",
        "countries",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/things as t]\n  sql_file: query.sql\n",
        contract_yaml("shop", "countries", [column("id", "integer"), column("country_code")]),
        files={
            "query.sql": (
                "SELECT id, country_code(CASE id WHEN 1 THEN 'U.S.' WHEN 2 THEN 'Japan' ELSE 'nowhere' END) AS country_code\n"
                "FROM t"
            )
        },
    )
    assert things_source.materialize("shop").success
    assert rows("mesh://shop/countries") == [(1, "US"), (2, "JP"), (3, None), (4, None)]


def test_python_recipe_reads_inputs_across_domains(things_source):
    lab = things_source
    lab.add_domain("finance")
    lab.add_product(
        "finance",
        "valuation",
        """\
        type: mesh_platform.recipes.PythonProduct
        attributes:
          inputs: [mesh://shop/things]
          function: value.py:build
        """,
        contract_yaml("finance", "valuation", [column("total", "number", "DECIMAL(12,2)"), column("items", "integer")]),
        files={
            "value.py": """\
            import pandas as pd

            def build(things: pd.DataFrame) -> pd.DataFrame:
                return pd.DataFrame({"items": [len(things)], "total": [things["amount"].astype(float).sum()]})
            """
        },
    )
    assert lab.materialize("shop").success
    assert lab.materialize("finance").success
    assert rows("mesh://finance/valuation") == [(22.75, 3)]
    assert owner_relation("mesh://finance/valuation").fetchall() == [(pytest.approx(22.75), 3)]


def test_recipe_types_are_dagster_components():
    import dagster as dg

    for recipe in (SourceProduct, SqlProduct, PythonProduct):
        assert issubclass(recipe, dg.Component)
        schema = recipe.model_json_schema()
        assert "contract" in schema["properties"] and "inputs" in schema["properties"]
