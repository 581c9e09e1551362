"""Relationships (ODCS v3.1 foreign keys): a blocking check against the referenced product's current port,
read as the referencing product's domain may read it, never a build input."""

import hashlib
import json
import os
import re

import dagster as dg
import duckdb
import pytest
import yaml

from mesh_platform import Catalog, load_contract, product_versions
from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.loading import contract_from_document
from mesh_platform.contract.model import Relationship
from mesh_platform.contract.settings import RelationshipSettings
from mesh_platform.core.address import Address
from mesh_platform.core.errors import ContractError
from mesh_platform.core.sql import keyed_token
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.quality import rules_for_contract
from mesh_platform.quality.relationships import ReferencedRows, count_orphans

from .conftest import REPO, column, contract_yaml, owner_read, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {file}\n"
SECRET = "relationships-test-secret"
INTERNAL = [{"property": "access", "value": "internal"}]


def references(address: str, target: str, table: str | None = None, **custom) -> dict:
    """A property-level foreign key to `target` of the product at `address`."""
    table = table or address.rsplit("/", 1)[1].split("@")[0]
    props = [{"property": "product", "value": address}] + [{"property": k, "value": v} for k, v in custom.items()]
    return {"type": "foreignKey", "to": f"{table}.{target}", "customProperties": props}


def checks(result: dg.ExecuteInProcessResult, product: str) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] == product}


ORDERS = [
    column("order_id", "integer", primaryKey=True),
    column("person_id", "integer", relationships=[references("mesh://crm/people", "person_id")]),
    column("amount", "number", "DOUBLE"),
]
# An order may replace an earlier one: a foreign key inside the product, reported without blocking.
WARNING = [{"property": "severity", "value": "warning"}]
REPLACES = column("replaces", "integer", relationships=[{"to": "orders.order_id", "customProperties": WARNING}])
# crm/people reads shop/orders (each person's order count), and shop/orders references crm/people.
PEOPLE_SQL = (
    "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/signups, mesh://shop/orders]\n"
    "  sql: SELECT s.person_id, count(o.order_id) AS orders\n"
    "    FROM signups AS s LEFT JOIN orders AS o USING (person_id) GROUP BY ALL\n"
)


@pytest.fixture
def linked(lab):
    """crm/people (reading shop/orders) and shop/orders, whose person_id references crm/people."""
    lab.add_domain("shop")
    lab.add_domain("crm")
    person_id = column("person_id", "integer")
    lab.add_product("crm", "signups", SOURCE.format(file="signups.csv"), contract_yaml("crm", "signups", [person_id]))
    lab.add_product("crm", "people", PEOPLE_SQL, contract_yaml("crm", "people", [person_id, column("orders", "integer")]))
    lab.add_product("shop", "orders", SOURCE.format(file="orders.csv"), contract_yaml("shop", "orders", [*ORDERS, REPLACES]))
    lab.land("crm", "signups.csv", "person_id\n1\n2\n3\n")
    lab.land("shop", "orders.csv", "order_id,person_id,amount,replaces\n10,1,5.0,\n11,2,7.5,10\n12,,1.0,\n")
    return lab


# Fast: the contract, mesh check, the diff, the anti-join itself.


def test_relationships_are_read_from_odcs_at_the_column_and_the_table_level():
    document = yaml.safe_load(contract_yaml("shop", "orders", ORDERS))
    document["schema"][0]["properties"].append(column("shop_code"))
    document["schema"][0]["relationships"] = [
        {
            "type": "foreignKey",
            "from": ["orders.person_id", "orders.shop_code"],
            "to": ["accounts.person_id", "accounts.shop"],
            "customProperties": [{"property": "product", "value": "mesh://crm/accounts@v2"}, *WARNING],
        },
        {"from": "orders.order_id", "to": "orders.order_id"},
    ]
    contract = contract_from_document(document, "orders.yaml")
    own, composite, inside = contract.relationships
    assert (own.columns, own.product, own.references) == (("person_id",), Address("crm", "people"), ("person_id",))
    assert own.settings.severity == "error"
    assert own.source == "schema[0].properties[1].relationships[0]" and str(own) == "person_id → mesh://crm/people.person_id"
    assert (composite.columns, composite.references) == (("person_id", "shop_code"), ("person_id", "shop"))
    assert composite.product == Address("crm", "accounts", 2)
    assert composite.settings.severity == "warning" and composite.source == "schema[0].relationships[0]"
    assert inside.product is None and str(inside) == "order_id → this product.order_id"
    rules = {r.name: r for r in rules_for_contract(contract)}
    assert rules["person_id_references_people"].blocking and rules["person_id_references_people"].relationship == own
    assert not rules["person_id_shop_code_references_accounts"].blocking
    assert rules["order_id_references_orders"].scope == "table"  # inside a product: checked on the whole table


@pytest.mark.parametrize(
    ("relationship", "field", "message"),
    [
        ({"to": "people.person_id"}, "to", "to names table 'people', not this contract's table ('orders')"),
        ({"to": "schema/people/properties/person_id"}, "to", "is not a reference the mesh can check"),
        ({"to": "orders.nope"}, "to", "to names column(s) nope, which this contract does not have"),
        (references("mesh://crm/people", "person_id", severity="x"), "customProperties[1].value", "severity 'x' is unknown"),
        (references("crm/people", "person_id"), "customProperties[0].value", "'crm/people' is not a product address"),
    ],
)
def test_a_relationship_the_mesh_cannot_check_is_a_located_contract_error(tmp_path, relationship, field, message):
    columns = [dict(c) for c in ORDERS]
    columns[1]["relationships"] = [relationship]
    file = tmp_path / "contract.yaml"
    file.write_text(contract_yaml("shop", "orders", columns))
    with pytest.raises(ContractError) as error:
        load_contract(file)
    [problem] = error.value.problems
    assert problem.field == f"schema[0].properties[1].relationships[0].{field}" and message in problem.message
    assert problem.line == _line_of(file, problem.field)


def _line_of(file, field: str) -> int:
    """The line of `field` (…`.to`, or …`.customProperties[k].value`) of the one relationship in `file`."""
    lines = file.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "relationships:" in line)
    below = [(i, line.strip().removeprefix("- ")) for i, line in enumerate(lines) if i > start]
    if field.endswith(".to"):
        return next(i for i, line in below if line.startswith("to:")) + 1
    index = int(re.search(r"customProperties\[(\d+)\]", field)[1])
    return [i for i, line in below if line.startswith("value:")][index] + 1


def _problem_lab(lab):
    """shop/visits with one relationship per thing mesh check must refuse, against crm's products."""
    lab.add_domain("shop")
    lab.add_domain("crm")
    people = [
        column("person_id", "integer"),
        column("score", "number", "DOUBLE", classification="personal"),
        column("phone", classification="personal", customProperties=[{"property": "masking", "value": "drop"}]),
    ]
    lab.add_product("crm", "people", SOURCE.format(file="people.csv"), contract_yaml("crm", "people", people))
    notes = contract_yaml("crm", "notes", [column("person_id", "integer")], customProperties=INTERNAL)
    lab.add_product("crm", "notes", SOURCE.format(file="people.csv"), notes)
    visits = [
        column("a", "integer", relationships=[references("mesh://crm/nobody", "person_id")]),
        column("b", "integer", relationships=[references("mesh://crm/people", "person_id", table="persons")]),
        column("c", "integer", relationships=[references("mesh://crm/people", "nope")]),
        column("d", "integer", relationships=[references("mesh://crm/notes", "person_id")]),
        column("e", relationships=[references("mesh://crm/people", "phone")]),
        column("f", relationships=[references("mesh://crm/people", "person_id")]),
        column("g", "integer", relationships=[references("mesh://crm/people", "score")]),
        column("h", "integer", relationships=[references("mesh://crm/people", "person_id")]),  # the one that is right
    ]
    contract = contract_yaml("shop", "visits", visits)
    folder = lab.add_product("shop", "visits", SOURCE.format(file="visits.csv"), contract)
    return folder / "contract.yaml"


def test_mesh_check_locates_every_relationship_it_cannot_check(lab):
    file = _problem_lab(lab)
    report = json.loads(run_mesh("check", "--json", env={**os.environ}).stdout)
    found = {(v["line"], v["message"]) for v in report["violations"] if v["policy"] == "mesh.relationships"}
    text = file.read_text().splitlines()

    def line(column_name: str, key: str) -> int:
        start = next(i for i, row in enumerate(text) if row.strip() == f"- name: {column_name}")
        return next(i for i, row in enumerate(text) if i > start and row.strip().startswith((key, f"- {key}"))) + 1

    assert found == {
        (
            line("a", "value: mesh://crm/nobody"),
            "relationship a → mesh://crm/nobody.person_id names mesh://crm/nobody, which is no product of the mesh",
        ),
        (line("b", "to:"), "to names table 'persons', but mesh://crm/people's table is 'people'"),
        (line("c", "to:"), "mesh://crm/people has no column 'nope'"),
        (
            line("d", "value: mesh://crm/notes"),
            "relationship d → mesh://crm/notes.person_id cannot be checked: access denied: shop may not read mesh://crm/notes: "
            "it is internal to the crm domain, and shop is not in consumers of mesh://crm/notes; to request access, "
            "ask its owner "
            "(team:crm, owner@example.com) to make it restricted to shop (customProperties access: restricted, "
            "consumers: [shop]) in "
            f"{lab.root / lab.package / 'crm/defs/notes/contract.yaml'}",
        ),
        (
            line("e", "to:"),
            "column 'phone' of mesh://crm/people is personal and reaches shop dropped (masking: drop): "
            "there is nothing to compare e with",
        ),
        (line("f", "to:"), "f (VARCHAR) cannot be compared with mesh://crm/people.person_id (BIGINT)"),
        (
            line("g", "to:"),
            "mesh://crm/people.score reaches shop as keyed tokens of its DOUBLE values; "
            "the tokens of g's BIGINT values would differ",
        ),
    }
    assert all(v["file"] == str(file) for v in report["violations"] if v["policy"] == "mesh.relationships")
    assert not report["ok"]


def test_the_diff_judges_relationships_added_removed_and_made_lenient():
    before = _contract([ORDERS[0], column("person_id", "integer")])
    after = _contract(ORDERS[:2], version="1.1.0")
    [added] = [c for c in diff_contracts(before, after).changes if c.kind.startswith("relationship")]
    assert (added.kind, added.breaking, added.producer_breaking, added.column) == ("relationship added", False, True, "person_id")
    assert added.message == "relationship added: person_id → mesh://crm/people.person_id"
    [removed] = [c for c in diff_contracts(after, before).changes if c.kind.startswith("relationship")]
    assert (removed.kind, removed.breaking, removed.producer_breaking) == ("relationship removed", True, False)
    lenient = [dict(c) for c in ORDERS[:2]]
    lenient[1]["relationships"] = [references("mesh://crm/people", "person_id", severity="warning")]
    warned = _contract(lenient, version="1.2.0")
    [lowered] = diff_contracts(after, warned).changes
    assert (lowered.kind, lowered.breaking) == ("rule no longer blocking", True)
    elsewhere = [dict(c) for c in ORDERS[:2]]
    elsewhere[1]["relationships"] = [references("mesh://crm/members", "person_id")]
    [moved] = diff_contracts(after, _contract(elsewhere)).changes
    assert (moved.kind, moved.breaking, moved.producer_breaking) == ("relationship changed", True, True)
    assert moved.message == "relationship person_id → mesh://crm/people.person_id → mesh://crm/members.person_id"


def test_mesh_contract_diff_prints_an_added_relationship(lab, tmp_path):
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    before.write_text(contract_yaml("shop", "orders", [ORDERS[0], column("person_id", "integer")]))
    after.write_text(contract_yaml("shop", "orders", ORDERS[:2], version="1.1.0"))
    result = run_mesh("contract", "diff", str(before), str(after), env={**os.environ})
    assert result.returncode == 0, result.stderr
    added = r"relationship added\s+relationship added: person_id → mesh://crm/people.person_id"
    assert re.search(added, result.stdout), result.stdout


def _contract(columns, **extra):
    return contract_from_document(yaml.safe_load(contract_yaml("shop", "orders", columns, **extra)), "contract.yaml")


def test_a_change_to_a_referenced_column_reaches_the_products_referencing_it(linked, tmp_path):
    """crm/people without person_id: shop/orders does not read it as an input, but its relationship does."""
    people = linked.root / linked.package / "crm/defs/people/contract.yaml"
    document = yaml.safe_load(people.read_text())
    document["schema"][0]["properties"] = document["schema"][0]["properties"][1:]
    (tmp_path / "people.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_mesh("contract", "diff", str(people), str(tmp_path / "people.yaml"), "--json", env={**os.environ})
    [removed] = [c for c in json.loads(result.stdout)["changes"] if c["kind"] == "column removed"]
    assert {r["product"] for r in removed["impact"]["read_by"]} == {"mesh://shop/orders"}
    assert removed["impact"]["breaks_consumers"] and result.returncode == 1


def _relationship(columns, references_, tokens=()):
    people = Address("crm", "people")
    return Relationship(tuple(columns), people, "people", tuple(references_), RelationshipSettings(product=people)), frozenset(
        tokens
    )


def test_orphans_are_counted_by_an_anti_join_in_duckdb():
    """Composite keys, empty values not checked, and columns compared as keyed tokens (clear values and tokens alike)."""
    with duckdb.connect() as db:
        rows = "(1, 'a'), (1, 'b'), (2, 'a'), (NULL, 'z'), (3, NULL), (9, 'a')"
        db.execute(f"CREATE TABLE staged AS FROM (VALUES {rows}) AS t(id, shop)")
        db.execute("CREATE TABLE people AS SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (2, 'b')) AS t(person_id, shop)")
        relationship, _ = _relationship(["id", "shop"], ["person_id", "shop"])
        counts = count_orphans(relationship, db, "staged", ReferencedRows("people"))
        assert (counts.rows, counts.unexpected_count, counts.sample) == (6, 2, ({"id": 1, "shop": "b"}, {"id": 9, "shop": "a"}))
        assert counts.unexpected_percent == pytest.approx(50.0)  # of the 4 rows with both columns filled

        # A referenced column seen as tokens: a clear staged value matches by its token, a token by itself.
        emails = "(VALUES ('ada@example.com'), ('bob@example.com')) AS t(email)"
        db.execute(f"CREATE TABLE hashed AS SELECT {keyed_token('email', SECRET)} AS email FROM {emails}")
        token = hashlib.sha256(f"{SECRET}:bob@example.com".encode()).hexdigest()
        db.execute(f"CREATE TABLE leads AS FROM (VALUES ('ada@example.com'), ('{token}'), ('eve@example.com')) AS t(email)")
        relationship, tokens = _relationship(["email"], ["email"], tokens=["email"])
        counts = count_orphans(relationship, db, "leads", ReferencedRows("hashed", tokens=tokens, key=SECRET))
        assert (counts.unexpected_count, counts.sample) == (1, ("eve@example.com",))

        # Integers hashed as text: a BIGINT staged column meets the tokens of an INTEGER one (as mesh check allows).
        db.execute(f"CREATE TABLE numbers AS SELECT {keyed_token('n', SECRET)} AS n FROM (VALUES (1::INTEGER), (2)) AS t(n)")
        db.execute("CREATE TABLE uses AS FROM (VALUES (1::BIGINT), (2::BIGINT), (2::BIGINT), (3::BIGINT)) AS t(n)")
        relationship, tokens = _relationship(["n"], ["n"], tokens=["n"])
        counts = count_orphans(relationship, db, "uses", ReferencedRows("numbers", tokens=tokens, key=SECRET))
        assert (counts.rows, counts.unexpected_count, counts.sample) == (4, 1, (3,))


def test_the_readme_example_is_a_contract_mesh_check_accepts(lab):
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n# contract.yaml of mesh://sales/orders[^\n]*\n(.*?)```", readme, re.DOTALL)
    assert block, "the README's relationships example is gone"
    schema = yaml.safe_load(block.group(1))["schema"]
    lab.add_domain("sales")
    lab.add_domain("customers")
    profiles = contract_yaml("customers", "profiles", [column("customer_id")])
    lab.add_product("customers", "profiles", SOURCE.format(file="profiles.csv"), profiles)
    orders = contract_yaml("sales", "orders", [], schema=schema)
    folder = lab.add_product("sales", "orders", SOURCE.format(file="orders.csv"), orders)
    contract = load_contract(folder / "contract.yaml")
    assert [str(r) for r in contract.relationships] == [
        "customer_id → mesh://customers/profiles.customer_id",
        "replaces_order_id → this product.order_id",
    ]
    assert [r.settings.severity for r in contract.relationships] == ["error", "warning"]
    report = json.loads(run_mesh("check", "--json", env={**os.environ}).stdout)
    assert report["ok"], report["violations"]


# Slow: real Dagster runs in a lab mesh.


@pytest.mark.slow
def test_orphans_fail_the_build_and_nothing_is_published(linked):
    lab = linked
    assert lab.materialize("shop").success  # crm/people is not published yet: not checked (see below)
    assert lab.materialize("crm").success
    passed = lab.materialize("shop")
    check = checks(passed, "orders")["person_id_references_people"]
    assert check.passed and check.metadata["unexpected_count"].value == 0
    assert check.metadata["compared"].value == "against mesh://crm/people version 0"
    assert checks(passed, "orders")["replaces_references_orders"].passed
    assert [v.version for v in product_versions("mesh://shop/orders")] == [1, 0]

    orphans = "order_id,person_id,amount,replaces\n10,1,5.0,\n13,99,2.0,10\n14,98,3.0,\n15,99,4.0,77\n16,,1.0,\n"
    lab.land("shop", "orders.csv", orphans)
    failed = lab.materialize("shop", raise_on_error=False)
    assert not failed.success
    check = checks(failed, "orders")["person_id_references_people"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["unexpected_count"].value == 3 and check.metadata["sample"].value == [98, 99]
    assert check.metadata["unexpected_percent"].value == 75.0  # of the 4 orders naming a person
    rule = "schema[0].properties[1].relationships[0]: every person_id is found in mesh://crm/people.person_id"
    assert check.metadata["rule"].value.startswith(rule)
    error = str(next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error)
    assert "person_id_references_people failed" in error
    assert "observed 3, expected = 0; e.g. 98, 99; against mesh://crm/people version 0" in error
    inside = checks(failed, "orders")["replaces_references_orders"]  # order 77 is no order: a warning, it would not block
    assert not inside.passed and inside.severity == dg.AssetCheckSeverity.WARN and inside.metadata["sample"].value == [77]
    assert "replaces_references_orders" not in error
    # Nothing published: the port keeps its version and rows; the rejected rows stay staged.
    assert [v.version for v in product_versions("mesh://shop/orders")] == [1, 0]
    assert sorted(owner_read("mesh://shop/orders")["order_id"]) == [10, 11, 12]
    with duckdb.connect(str(lab.settings.domain_database("shop")), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM staging.orders").fetchall()[0][0] == 5
    reads = [e for e in AccessLog(lab.settings.access_log_file).entries(consumer="shop", product="mesh://crm/people")]
    assert [(e.outcome, e.version) for e in reads] == [("granted", 0), ("granted", 0)]
    assert all(e.via.startswith("build of mesh://shop/orders (run ") and e.via.endswith("): relationship check") for e in reads)


@pytest.mark.slow
def test_a_product_reading_the_referencing_one_is_no_loop_and_a_mesh_builds_from_nothing(linked):
    lab = linked
    catalog = Catalog.load(lab.root)
    assert catalog.loops() == {}
    spec = next(s for s in lab.definitions("shop").resolve_all_asset_specs() if s.key == dg.AssetKey(["shop", "orders"]))
    assert spec.deps == [] and "mesh://crm/people.person_id" in spec.metadata["mesh/relationships"].value
    assert json.loads(run_mesh("check", "--json", env={**os.environ}).stdout)["ok"]

    first = run_mesh("materialize", "--all", env={**os.environ})
    assert first.returncode == 0, first.stdout + first.stderr
    assert [v.version for v in product_versions("mesh://crm/people")] == [0]
    assert owner_read("mesh://crm/people").sort_values("person_id")["orders"].tolist() == [1, 1, 0]
    shown = json.loads(run_mesh("show", "mesh://shop/orders", "--json", env={**os.environ}, check=True).stdout)
    state = next(c for c in shown["checks"] if c["name"] == "person_id_references_people")
    assert state["state"] == "not checked" and state["passed"]  # not failing: mesh status stays healthy
    assert state["description"] == (
        "person_id_references_people not checked: mesh://crm/people has no published version to compare with yet; "
        "the first build after it is published checks it"
    )
    assert shown["relationships"] == [
        {
            "columns": ["person_id"],
            "product": "mesh://crm/people",
            "references": ["person_id"],
            "severity": "error",
            "field": "schema[0].properties[1].relationships[0]",
        },
        {
            "columns": ["replaces"],
            "product": "mesh://shop/orders",
            "references": ["order_id"],
            "severity": "warning",
            "field": "schema[0].properties[3].relationships[0]",
        },
    ]

    second = run_mesh("materialize", "--all", env={**os.environ})
    assert second.returncode == 0, second.stdout + second.stderr
    shown = json.loads(run_mesh("show", "mesh://shop/orders", "--json", env={**os.environ}, check=True).stdout)
    state = next(c for c in shown["checks"] if c["name"] == "person_id_references_people")
    assert state["state"] == "passed" and "against mesh://crm/people version 0" in state["description"]
    people = run_mesh("show", "mesh://crm/people", env={**os.environ}, check=True).stdout
    assert "referenced by mesh://shop/orders" in people
    orders = run_mesh("show", "mesh://shop/orders", env={**os.environ}, check=True).stdout
    assert "person_id → mesh://crm/people.person_id  (error)" in orders


@pytest.mark.slow
def test_a_referenced_column_seen_hashed_is_compared_as_keyed_tokens(lab, monkeypatch):
    monkeypatch.setenv("MESH_SECRET", SECRET)
    lab.add_domain("crm")
    lab.add_domain("shop")
    contacts = contract_yaml("crm", "contacts", [column("email", classification="personal")])
    lab.add_product("crm", "contacts", SOURCE.format(file="contacts.csv"), contacts)
    lab.land("crm", "contacts.csv", "email\nada@example.com\nbob@example.com\n")
    email = column("email", classification="personal", relationships=[references("mesh://crm/contacts", "email")])
    lab.add_product("shop", "leads", SOURCE.format(file="leads.csv"), contract_yaml("shop", "leads", [email]))
    # A product whose email arrives hashed from its input: its staged values are tokens already.
    mailing = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/contacts]\n"
    mailing += "  sql: SELECT email FROM contacts\n"
    lab.add_product("shop", "mailing", mailing, contract_yaml("shop", "mailing", [email]))
    lab.land("shop", "leads.csv", "email\nada@example.com\n")
    assert lab.materialize("crm").success
    built = lab.materialize("shop")
    assert checks(built, "leads")["email_references_contacts"].passed
    assert checks(built, "mailing")["email_references_contacts"].passed

    lab.land("shop", "leads.csv", "email\nada@example.com\neve@example.com\n")
    failed = lab.materialize("shop", "leads", raise_on_error=False)
    check = checks(failed, "leads")["email_references_contacts"]
    assert not check.passed and check.metadata["unexpected_count"].value == 1
    assert "sample" not in check.metadata  # personal: counted, never shown
    assert "eve@example.com" not in "".join(str(e) for e in failed.all_events)
    reads = AccessLog(lab.settings.access_log_file).entries(consumer="shop", product="mesh://crm/contacts")
    [read] = [e for e in reads if "leads" in e.via][-1:]
    assert read.hashed == ["email"]


@pytest.mark.slow
def test_a_reference_the_domain_may_not_read_refuses_the_build_naming_whom_to_ask(lab):
    lab.add_domain("crm")
    lab.add_domain("shop")
    notes = contract_yaml("crm", "notes", [column("person_id", "integer")], customProperties=INTERNAL)
    lab.add_product("crm", "notes", SOURCE.format(file="notes.csv"), notes)
    lab.land("crm", "notes.csv", "person_id\n1\n")
    visits = [column("person_id", "integer", relationships=[references("mesh://crm/notes", "person_id")])]
    lab.add_product("shop", "visits", SOURCE.format(file="visits.csv"), contract_yaml("shop", "visits", visits))
    lab.land("shop", "visits.csv", "person_id\n1\n")
    assert lab.materialize("crm").success
    result = lab.materialize("shop", raise_on_error=False)
    assert not result.success
    governance = checks(result, "visits")["governance"]
    assert not governance.passed
    denied = (
        "access denied: shop may not read mesh://crm/notes: it is internal to the crm domain, and shop is not in "
        "consumers of mesh://crm/notes"
    )
    assert (
        f"{denied}; to request access, ask its owner (team:crm, owner@example.com) to make it restricted to shop"
        in governance.description
    )
    assert product_versions("mesh://shop/visits") == []
