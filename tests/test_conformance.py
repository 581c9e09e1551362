"""Schema drift: outputs are matched to the contract by column name; every difference is listed."""

from .conftest import column, contract_yaml
from .test_recipes import rows

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
SQL = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/things]\n  sql_file: query.sql\n"
COLUMNS = [column("id", "integer"), column("name"), column("amount", "number", "DECIMAL(10,2)"), column("day", "date")]


def failure(result) -> str:
    return str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)


def make_shop(lab, query: str):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", COLUMNS))
    lab.add_product("shop", "copy", SQL, contract_yaml("shop", "copy", COLUMNS), files={"query.sql": query})
    lab.land("shop", "things.csv", "id,name,amount,day\n1,anvil,12.50,2026-01-02\n2,bucket,3.25,2026-02-03\n")
    return lab


def test_reordered_output_lands_in_the_right_columns(lab):
    make_shop(lab, "SELECT day, amount, name, id FROM things")
    assert lab.materialize("shop").success
    assert rows("mesh://shop/copy") == rows("mesh://shop/things")


def test_added_dropped_and_retyped_columns_are_each_listed(lab):
    make_shop(lab, "SELECT id, name::VARCHAR AS amount, amount AS price, 'x' AS note FROM things")
    result = lab.materialize("shop", raise_on_error=False)
    assert not result.success
    error = failure(result)
    for difference in (
        "missing column 'name' (VARCHAR)",
        "missing column 'day' (DATE)",
        "extra column 'price' (DECIMAL(10,2)) not in the contract",
        "extra column 'note' (VARCHAR) not in the contract",
        "column 'amount' is VARCHAR, the contract says DECIMAL(10,2)",
    ):
        assert difference in error
    assert "mesh://shop/copy" in error and "contract.yaml (version 1.0.0)" in error


def test_widening_a_number_is_not_drift(lab):
    make_shop(lab, "SELECT id::INTEGER AS id, name, amount::DOUBLE AS amount, day FROM things")
    assert lab.materialize("shop").success
    assert rows("mesh://shop/copy") == rows("mesh://shop/things")
