"""Contracts inferred from the data and the SQL, then owned: `mesh new --from`, `mesh contract sync`, the output check."""

from __future__ import annotations

import json
import shutil
import textwrap

import duckdb
import pytest
import yaml

from mesh_platform import load_contract
from mesh_platform.catalog.index import INDEX_FOLDER

from .conftest import REPO, column, contract_yaml, owner_read, run_mesh


@pytest.fixture
def mesh(lab):
    """A lab mesh with the platform's templates and two domains, shop and crm."""
    shutil.copytree(REPO / "templates", lab.root / "templates")
    lab.add_domain("shop")
    lab.add_domain("crm")
    return lab


def mesh_cli(lab, *args):
    return run_mesh(*args, cwd=lab.root)


def new_product(lab, target, template, *args):
    return mesh_cli(lab, "new", "product", target, "--template", template, *args)


def product_files(lab, domain, name):
    folder = lab.root / lab.package / domain / "defs" / name
    return folder, load_contract(folder / "contract.yaml"), yaml.safe_load((folder / "defs.yaml").read_text())


def columns_of(contract):
    return {
        c.name: (c.physical_type, c.required, c.primary_key_position if c.primary_key else None, c.classification)
        for c in contract.columns
    }


def files_of(lab):
    """The lab's files, but for the Dagster instance and derived caches."""
    return sorted(p for p in lab.root.rglob("*") if not {"dagster", "__pycache__", INDEX_FOLDER} & set(p.parts))


def clean_check(lab):
    checked = mesh_cli(lab, "check")
    assert checked.returncode == 0 and "0 errors, 0 warnings" in checked.stdout, checked.stdout + checked.stderr


CUSTOMERS_CSV = """\
customer_id,email,Full Name,signup_date,score,segment
1,ann@example.com,Ann Lee,2026-01-02,1.5,gold
2,,Bob Ray,2026-01-03,,gold
3,cy@example.com,Cy Tam,2026-01-04,2.25,silver
"""


def test_source_from_a_csv_elsewhere_is_copied_and_its_contract_inferred(mesh, tmp_path):
    delivery = tmp_path / "exports" / "customers.csv"
    delivery.parent.mkdir()
    delivery.write_text(CUSTOMERS_CSV)
    created = new_product(mesh, "crm/customers", "source", "--from", str(delivery))
    assert created.returncode == 0, created.stderr
    landed = mesh.settings.landing_dir("crm") / "customers" / "customers.csv"
    assert landed.read_text() == CUSTOMERS_CSV and delivery.exists()  # copied, the original kept
    assert f"{delivery} copied to {landed}" in created.stdout
    folder, contract, recipe = product_files(mesh, "crm", "customers")
    assert recipe["attributes"]["path"] == "customers/*.csv"
    assert recipe["attributes"]["rename"] == {"Full Name": "full_name"}  # a name the mesh does not accept as it is
    assert columns_of(contract) == {
        "customer_id": ("BIGINT", True, 1, "internal"),  # unique and complete: the key
        "email": ("VARCHAR", False, None, "personal"),  # one row lacks it
        "full_name": ("VARCHAR", True, None, "personal"),
        "signup_date": ("DATE", True, None, "internal"),
        "score": ("DOUBLE", False, None, "internal"),
        "segment": ("VARCHAR", True, None, "internal"),
    }
    assert contract.column("signup_date").logical_type == "date" and contract.column("score").logical_type == "number"
    text = (folder / "contract.yaml").read_text()
    assert "# Inferred from the 3 rows of customers.csv" in text and "the primary key (customer_id)" in text
    lines = {line.strip().split(":")[0].removeprefix("- "): line for line in text.splitlines() if "classification:" in line}
    assert all("# guessed" in line for line in lines.values()), lines  # every guess marked for review
    assert "classification: personal  # guessed from the name ('email'): review" in text
    clean_check(mesh)


def test_source_from_json_lines_proposes_a_combined_key_and_types_nested_values(mesh):
    events = "".join(
        json.dumps(row) + "\n"
        for row in [
            {"account": 1, "day": "2026-01-01", "clicks": 3, "tags": ["a"], "referrer": None},
            {"account": 1, "day": "2026-01-02", "clicks": 5, "tags": [], "referrer": None},
            {"account": 2, "day": "2026-01-01", "clicks": 3, "tags": ["b", "c"], "referrer": None},
        ]
    )
    created = new_product(mesh, "shop/clicks", "source", "--from", str(write(mesh.root / "clicks.jsonl", events)))
    assert created.returncode == 0, created.stderr
    _, contract, recipe = product_files(mesh, "shop", "clicks")
    assert recipe["attributes"]["path"] == "clicks/*.jsonl"
    assert columns_of(contract) == {
        "account": ("BIGINT", True, 1, "internal"),  # no column is unique alone: the first pair that is
        "day": ("DATE", True, 2, "internal"),
        "clicks": ("BIGINT", True, None, "internal"),
        "tags": ("VARCHAR[]", True, None, "internal"),
        "referrer": ("VARCHAR", False, None, "internal"),  # no value yet: text, optional
    }
    assert contract.column("tags").logical_type == "array"
    clean_check(mesh)


def test_source_from_a_parquet_file_already_in_the_landing_folder_is_read_in_place(mesh):
    landing = mesh.settings.landing_dir("shop") / "sales" / "2026"
    landing.mkdir(parents=True)
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT i AS sale_id, (i * 1.25)::DECIMAL(10,2) AS amount, "
            "TIMESTAMP '2026-03-01 10:00:00' + i * INTERVAL 1 HOUR AS sold_at, i % 2 = 0 AS refunded, NULL::VARCHAR AS note "
            f"FROM range(1, 6) t(i)) TO '{landing / 'week_09.parquet'}'"
        )
    created = new_product(mesh, "shop/sales", "source", "--from", str(landing / "week_09.parquet"))
    assert created.returncode == 0, created.stderr
    assert "copied" not in created.stdout
    assert [p.name for p in landing.iterdir()] == ["week_09.parquet"]  # nothing copied, nothing added
    _, contract, recipe = product_files(mesh, "shop", "sales")
    assert recipe["attributes"]["path"] == "sales/2026/week_09.parquet"
    assert columns_of(contract) == {
        "sale_id": ("BIGINT", True, 1, "internal"),
        "amount": ("DECIMAL(10,2)", True, None, "internal"),
        "sold_at": ("TIMESTAMP", True, None, "internal"),
        "refunded": ("BOOLEAN", True, None, "internal"),
        "note": ("VARCHAR", False, None, "internal"),
    }
    clean_check(mesh)


def test_a_csv_whose_late_rows_contradict_the_sniffers_sample_is_typed_from_every_row(mesh, tmp_path):
    codes = "code,n\n" + "".join(f"{i},{i}\n" for i in range(30_000)) + "X-1,30000\n"  # past DuckDB's 20,480-row sample
    created = new_product(mesh, "shop/codes", "source", "--from", str(write(tmp_path / "codes.csv", codes)))
    assert created.returncode == 0, created.stderr
    _, contract, recipe = product_files(mesh, "shop", "codes")
    assert recipe["attributes"]["options"] == {"sample_size": -1}  # the build reads it as inferred
    assert columns_of(contract)["code"] == ("VARCHAR", True, 1, "internal")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.csv", None, "there is no such file"),
        ("broken.jsonl", '{"a": 1}\n{"a": \n', "cannot read"),
        ("notes.txt", "hello\n", "cannot tell its format"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_one_line_error_naming_it(mesh, tmp_path, name, text, message):
    file = tmp_path / name
    if text is not None:
        file.write_text(text)
    before = files_of(mesh)
    failed = new_product(mesh, "shop/things", "source", "--from", str(file))
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: ") and failed.stderr.strip().count("\n") == 0, failed.stderr
    assert str(file) in failed.stderr and message in failed.stderr
    assert files_of(mesh) == before  # nothing written


def test_from_is_refused_by_templates_that_take_no_file(mesh, tmp_path):
    failed = new_product(mesh, "shop/x", "python", "--from", str(write(tmp_path / "a.csv", "a\n1\n")))
    assert failed.returncode == 1 and "template 'python' takes no --from (templates that do: source, sql)" in failed.stderr
    listed = json.loads(mesh_cli(mesh, "templates", "--json").stdout)
    assert {t["name"] for t in listed if t["from"]} == {"source", "sql"}  # mesh templates says which take --from


ORDERS = [
    column("order_id", "integer", "BIGINT", required=True, primaryKey=True, primaryKeyPosition=1, description="Order number."),
    column("customer_id", "integer", "BIGINT", required=True),
    column("amount", "number", "DECIMAL(10,2)", required=True, classification="confidential"),
    column("country", "string", "VARCHAR", customProperties=[{"property": "term", "value": "country"}]),
]
CUSTOMERS = [
    column("customer_id", "integer", "BIGINT", required=True, primaryKey=True, primaryKeyPosition=1),
    column("email", "string", "VARCHAR", required=True, classification="personal", description="Where we write to."),
    column("birth_date", "date", "DATE", classification="personal", customProperties=[{"property": "masking", "value": "drop"}]),
    column("tier", "string", "VARCHAR", required=True, description="Loyalty tier."),
]
TWO_INPUTS = ("--input", "mesh://shop/orders", "--input", "mesh://crm/customers")
SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {name}.csv\n"
QUERY = """\
-- Orders with what shop may know of their customer.
SELECT
    o.order_id,
    o.amount,
    o.country,
    c.email,
    c.tier,
    round(o.amount * 1.2, 2) AS gross,
    length(c.email) AS email_length,
    current_date AS as_of
FROM orders AS o
LEFT JOIN customers AS c USING (customer_id)
"""


@pytest.fixture
def two_inputs(mesh):
    mesh.add_product("shop", "orders", SOURCE.format(name="orders"), contract_yaml("shop", "orders", ORDERS))
    mesh.add_product("crm", "customers", SOURCE.format(name="customers"), contract_yaml("crm", "customers", CUSTOMERS))
    return mesh


def test_a_sql_product_is_inferred_from_its_query_over_two_inputs(two_inputs, tmp_path):
    mesh = two_inputs
    query = write(tmp_path / "order_view.sql", QUERY)
    created = new_product(mesh, "shop/order_view", "sql", *TWO_INPUTS, "--from", str(query))
    assert created.returncode == 0, created.stderr
    folder, contract, recipe = product_files(mesh, "shop", "order_view")
    assert (folder / "transform.sql").read_text() == QUERY  # the file, as it is
    assert recipe["attributes"]["sql_file"] == "transform.sql"
    assert columns_of(contract) == {
        "order_id": ("BIGINT", True, None, "internal"),  # a copy keeps required; two inputs: not the key
        "amount": ("DECIMAL(10,2)", True, None, "confidential"),
        "country": ("VARCHAR", False, None, "internal"),
        "email": ("VARCHAR", False, None, "personal"),  # reaches shop as a keyed token (text); the left join may leave it empty
        "tier": ("VARCHAR", False, None, "internal"),
        "gross": ("DECIMAL(12,2)", False, None, "confidential"),  # DuckDB's type; its most sensitive source's classification
        "email_length": ("BIGINT", False, None, "personal"),  # computed from a personal column: personal
        "as_of": ("DATE", False, None, "internal"),
    }
    assert contract.column("order_id").description == "Order number."
    assert contract.column("tier").description == "Loyalty tier."
    assert contract.column("country").settings.term == "country" and contract.column("gross").settings.term is None
    assert contract.column("gross").description == "Computed from orders.amount."
    text = (folder / "contract.yaml").read_text()
    assert "classification: personal  # from customers.email, the most sensitive of which is personal: review" in text
    assert "classification: internal  # computed from no input column: review" in text
    clean_check(mesh)


def test_a_sql_product_without_from_is_its_first_input_and_keeps_its_key(two_inputs):
    created = new_product(two_inputs, "shop/customers_seen", "sql", "--input", "mesh://crm/customers")
    assert created.returncode == 0, created.stderr
    folder, contract, _ = product_files(two_inputs, "shop", "customers_seen")
    assert "birth_date" not in (folder / "transform.sql").read_text()  # dropped for shop: not there to select
    assert columns_of(contract) == {
        "customer_id": ("BIGINT", True, 1, "internal"),
        "email": ("VARCHAR", True, None, "personal"),
        "tier": ("VARCHAR", True, None, "internal"),
    }
    clean_check(two_inputs)


def test_a_query_that_does_not_run_over_its_inputs_is_refused(two_inputs, tmp_path):
    query = write(tmp_path / "bad.sql", "SELECT order_id, discount FROM orders\n")
    failed = new_product(two_inputs, "shop/bad", "sql", "--input", "mesh://shop/orders", "--from", str(query))
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1, failed.stderr
    assert f"the query in {query} does not run over its inputs' contracts" in failed.stderr and "discount" in failed.stderr
    assert not (two_inputs.root / two_inputs.package / "shop" / "defs" / "bad").exists()


def check_json(lab):
    return json.loads(mesh_cli(lab, "check", "--json").stdout)


def test_check_lists_each_difference_between_a_query_and_its_contract_with_file_and_line(two_inputs):
    mesh = two_inputs
    new_product(mesh, "shop/order_totals", "sql", "--input", "mesh://shop/orders")
    folder = mesh.root / mesh.package / "shop" / "defs" / "order_totals"
    (folder / "transform.sql").write_text(
        "SELECT\n"
        "    order_id,\n"
        "    CAST(customer_id AS VARCHAR) AS customer_id,\n"
        "    country,\n"
        "    amount * 2 AS doubled\n"
        "FROM orders\n"
    )
    report = check_json(mesh)
    assert not report["ok"]
    found = sorted((v["policy"], v["file"].rsplit("/", 1)[-1], v["line"], v["message"]) for v in report["violations"])
    contract = load_contract(folder / "contract.yaml")

    def line(name):
        return contract.line_of(("schema", 0, "properties", [c.name for c in contract.columns].index(name)))

    assert found == sorted(
        [
            (
                "mesh.output-schema",
                "contract.yaml",
                line("amount"),
                "schema[0].properties[2]: column 'amount' is not in the recipe's output",
            ),
            (
                "mesh.output-schema",
                "contract.yaml",
                line("customer_id"),
                "schema[0].properties[1]: column 'customer_id' is VARCHAR in the recipe's output, the contract says BIGINT",
            ),
            (
                "mesh.output-schema",
                "transform.sql",
                5,
                "sql_file: the recipe outputs column 'doubled', which contract.yaml does not have",
            ),
        ]
    )
    assert all(v["fix"].endswith("mesh contract sync mesh://shop/order_totals") for v in report["violations"])
    (folder / "transform.sql").write_text("SELECT order_id FROM orders WHERE nope > 1\n")
    [refused] = check_json(mesh)["violations"]
    assert refused["line"] == 1 and "does not run over its inputs' contracts" in refused["message"]
    assert "nope" in refused["message"]


def test_check_compares_an_inline_query_and_a_configured_recipe_too(two_inputs):
    mesh = two_inputs
    mesh.add_product(
        "shop",
        "inline",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/orders]\n"
        "  sql: |\n    SELECT\n      order_id,\n      amount AS total\n    FROM orders\n",
        contract_yaml("shop", "inline", [column("order_id", "integer", "BIGINT"), column("amount", "number", "DECIMAL(10,2)")]),
    )
    mesh.add_product(
        "shop",
        "big",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://shop/orders]\n  where: amount > 10\n",
        contract_yaml("shop", "big", ORDERS[:3]),
    )
    violations = check_json(mesh)["violations"]
    found = {(v["address"], v["file"].rsplit("/", 1)[-1], v["line"], v["message"].split(": ", 1)[1]) for v in violations}
    assert ("mesh://shop/inline", "defs.yaml", 7, "the recipe outputs column 'total', which contract.yaml does not have") in found
    assert ("mesh://shop/big", "defs.yaml", 2, "the recipe outputs column 'country', which contract.yaml does not have") in found
    assert len(found) == 3  # and inline's missing amount


def test_contract_sync_adds_removes_and_keeps(two_inputs):
    mesh = two_inputs
    query = write(mesh.root / "facts.sql", "SELECT o.order_id, o.amount, o.country FROM orders AS o\n")
    new_product(mesh, "shop/order_facts", "sql", *TWO_INPUTS, "--from", str(query))
    folder = mesh.root / mesh.package / "shop" / "defs" / "order_facts"
    contract_file = folder / "contract.yaml"
    # The owner makes the contract theirs: a description, a classification, a comment.
    owned = (
        contract_file.read_text()
        .replace('description: "Order number."', 'description: "Order number, as on the invoice."  # agreed with finance')
        .replace("classification: confidential", "classification: sensitive")
    )
    contract_file.write_text(owned)
    (folder / "transform.sql").write_text(
        "SELECT o.order_id, o.amount, c.email AS buyer, CAST(o.customer_id AS VARCHAR) AS country\n"
        "FROM orders AS o JOIN customers AS c USING (customer_id)\n"
    )
    dry = mesh_cli(mesh, "contract", "sync", "mesh://shop/order_facts", "--dry-run", "--json")
    assert json.loads(dry.stdout)["changes"] == [{"kind": "added", "column": "buyer", "detail": "VARCHAR"}]  # country stays text
    assert contract_file.read_text() == owned  # a dry run writes nothing
    synced = mesh_cli(mesh, "contract", "sync", "mesh://shop/order_facts")
    assert synced.returncode == 0, synced.stderr
    assert "added    buyer  VARCHAR" in synced.stdout and "next: classify buyer" in synced.stdout
    text = contract_file.read_text()
    assert 'description: "Order number, as on the invoice."  # agreed with finance' in text  # kept as written
    assert text.startswith(owned.split("schema:")[0])  # everything above the columns untouched
    contract = load_contract(contract_file)
    assert [c.name for c in contract.columns] == ["order_id", "amount", "buyer", "country"]
    assert contract.column("amount").classification == "sensitive"
    assert contract.column("buyer").classification is None  # unclassified until someone says otherwise
    assert "added by mesh contract sync: classify it (suggested: personal, as the input column it copies)" in text
    assert contract.column("buyer").required  # an inner join keeps crm's required email
    assert sorted((v["policy"], v["message"]) for v in check_json(mesh)["violations"]) == [
        ("mesh.classified-columns", "column 'buyer' has no classification"),
        (
            "mesh.personal-data",
            "column 'buyer' is computed from mesh://crm/customers.email (as 'email'), which is personal, "
            "and is not classified here",
        ),
    ]
    assert mesh_cli(mesh, "contract", "sync", "mesh://shop/order_facts").stdout.endswith("up to date with the recipe's output\n")

    (folder / "transform.sql").write_text("SELECT CAST(o.order_id AS VARCHAR) AS order_id, o.amount, o.country\nFROM orders o\n")
    removed = json.loads(mesh_cli(mesh, "contract", "sync", "mesh://shop/order_facts", "--json").stdout)
    assert removed["changes"] == [
        {"kind": "removed", "column": "buyer", "detail": "VARCHAR"},
        {"kind": "type", "column": "order_id", "detail": "BIGINT → VARCHAR"},
    ]
    contract = load_contract(contract_file)
    assert [c.name for c in contract.columns] == ["order_id", "amount", "country"]
    assert (contract.column("order_id").physical_type, contract.column("order_id").logical_type) == ("VARCHAR", "string")
    assert contract.column("order_id").description == "Order number, as on the invoice."
    clean_check(mesh)


def test_contract_sync_of_a_source_reads_its_delivered_files_and_of_python_says_why_not(mesh, tmp_path):
    new_product(mesh, "crm/customers", "source", "--from", str(write(tmp_path / "customers.csv", CUSTOMERS_CSV)))
    landing = mesh.settings.landing_dir("crm") / "customers"
    with_phone = CUSTOMERS_CSV.replace(",segment\n", ",segment,phone\n").replace(",gold\n", ",gold,555\n")
    with_phone = with_phone.replace(",silver\n", ",silver,\n")
    write(landing / "customers.csv", with_phone)
    synced = json.loads(mesh_cli(mesh, "contract", "sync", "mesh://crm/customers", "--json").stdout)
    assert synced["changes"] == [{"kind": "added", "column": "phone", "detail": "BIGINT"}]
    text = (mesh.root / mesh.package / "crm" / "defs" / "customers" / "contract.yaml").read_text()
    assert "(suggested: personal, guessed from the name ('phone'))" in text
    new_product(mesh, "crm/scores", "python", "--input", "mesh://crm/customers")
    refused = mesh_cli(mesh, "contract", "sync", "mesh://crm/scores")
    assert refused.returncode == 1 and "a python recipe's output is known only by running it" in refused.stderr


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.slow
def test_inferred_products_build_as_generated_and_a_value_that_does_not_convert_is_listed_per_column(mesh, tmp_path):
    # Three sources from three formats and a SQL product over them, no contract edited by hand.
    new_product(mesh, "crm/customers", "source", "--from", str(write(tmp_path / "customers.csv", CUSTOMERS_CSV)))
    rows = [{"customer_id": i % 3 + 1, "day": f"2026-01-0{i}", "pages": ["home", "cart"][: i % 2 + 1]} for i in range(1, 6)]
    visits = "".join(json.dumps(row) + "\n" for row in rows)
    new_product(mesh, "crm/visits", "source", "--from", str(write(tmp_path / "visits.jsonl", visits)))
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT i AS customer_id, i * 10.5 AS credit, TIMESTAMP '2026-01-01 08:00:00' AS granted_at "
            "FROM range(1, 4) t(i)) "
            f"TO '{tmp_path / 'credits.parquet'}'"
        )
    new_product(mesh, "crm/credits", "source", "--from", str(tmp_path / "credits.parquet"))
    query = write(
        tmp_path / "overview.sql",
        """\
        SELECT c.customer_id, c.full_name, k.credit, count(v.day) AS visits
        FROM customers AS c
        LEFT JOIN credits AS k USING (customer_id)
        LEFT JOIN visits AS v USING (customer_id)
        GROUP BY ALL
    """,
    )
    inputs = ("--input", "mesh://crm/customers", "--input", "mesh://crm/credits", "--input", "mesh://crm/visits")
    created = new_product(mesh, "crm/overview", "sql", "--from", str(query), *inputs)
    assert created.returncode == 0, created.stderr
    clean_check(mesh)
    assert mesh.materialize("crm").success
    overview = owner_read("mesh://crm/overview").sort_values("customer_id")
    assert list(overview["visits"]) == [1, 2, 2] and list(overview["credit"]) == [10.5, 21.0, 31.5]
    assert owner_read("mesh://crm/visits")["pages"].map(list).tolist()[0] == ["home", "cart"]

    # A column added to the query: synced in, classified, built.
    folder = mesh.root / mesh.package / "crm" / "defs" / "overview"
    (folder / "transform.sql").write_text(query.read_text().replace("AS visits", "AS visits, max(v.day) AS last_visit"))
    assert [v["policy"] for v in check_json(mesh)["violations"]] == ["mesh.output-schema"]
    assert "added    last_visit  DATE" in mesh_cli(mesh, "contract", "sync", "mesh://crm/overview").stdout
    assert [v["policy"] for v in check_json(mesh)["violations"]] == ["mesh.classified-columns"]
    contract_file = folder / "contract.yaml"
    date_line = "physicalType: DATE\n"
    classified = contract_file.read_text().replace(date_line, f"{date_line}        classification: internal\n", 1)
    contract_file.write_text(classified)
    clean_check(mesh)
    assert mesh.materialize("crm", "overview").success
    assert str(owner_read("mesh://crm/overview").sort_values("customer_id")["last_visit"].iloc[0])[:10] == "2026-01-03"

    # A delivery with values the contract's types cannot hold: every column listed, nothing published.
    landing = mesh.settings.landing_dir("crm") / "customers"
    write(
        landing / "march.csv",
        """\
        customer_id,email,Full Name,signup_date,score,segment
        four,d@example.com,Di,2026-03-01,n/a,gold
        5,e@example.com,Ed,2026-02-30,3,gold
        6,f@example.com,Fi,soon,x,gold
    """,
    )
    result = mesh.materialize("crm", "customers", raise_on_error=False)
    assert not result.success
    error = str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)
    assert "mesh://crm/customers: not published: delivered values do not convert to the types of contract.yaml" in error
    assert "customer_id (BIGINT): 1 value does not convert (of 6), e.g. 'four' in customers/march.csv" in error
    assert "signup_date (DATE): 2 values do not convert (of 6), e.g. '2026-02-30', 'soon' in customers/march.csv" in error
    assert "score (DOUBLE): 2 values do not convert (of 5), e.g. 'n/a', 'x' in customers/march.csv" in error
    assert "Could not convert" not in error  # DuckDB's own message is replaced
    assert len(owner_read("mesh://crm/customers")) == 3  # the port keeps its current version


def test_an_inferred_column_type_is_one_a_port_serves_as_it_is():
    """A query's output type a port would change or cannot hold (UUID, TIME, unsigned integers, nested ones) gets the
    type the contract can keep, so an inferred contract always loads."""
    from mesh_platform.contract.types import port_type_problem
    from mesh_platform.product.output_schema import contract_type

    from .test_contract import PORT_TYPES

    for duckdb_type in PORT_TYPES:
        assert port_type_problem(contract_type(duckdb_type)) is None, (duckdb_type, contract_type(duckdb_type))
    assert (
        contract_type("HUGEINT") == "BIGINT"
        and contract_type("UBIGINT") == "DECIMAL(20,0)"
        and contract_type("TIME") == "VARCHAR"
    )
