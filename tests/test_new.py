"""Self-serve: a domain engineer creates domains and products from templates with `mesh new`."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from mesh_platform import read_product

from .conftest import MeshCopy, owner_read


def read(copy: MeshCopy, address: str, **kwargs) -> pd.DataFrame:
    return owner_read(address, settings=copy.settings, **kwargs)


def sorted_rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(frame[columns].astype(str).itertuples(index=False, name=None))


def asset_deps(copy: MeshCopy, domain: str) -> dict[str, list[str]]:
    """Load the domain's code location the way Dagster does, in a fresh process, and list each asset's deps."""
    script = (
        "import json, importlib\n"
        f"defs = importlib.import_module('domains.{domain}.definitions').defs\n"
        "print(json.dumps({'/'.join(a.key.path): sorted('/'.join(d.asset_key.path) for s in a.specs for d in s.deps) "
        "for a in defs.assets}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=copy.root, env=copy.env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_new_domain_engineer_adds_a_domain_and_a_cross_domain_join(mesh_copy):
    workspace_before = (mesh_copy.root / "workspace.yaml").read_text()
    mesh_copy.mesh("new", "domain", "returns", "--owner", "team:returns", check=True)
    workspace = (mesh_copy.root / "workspace.yaml").read_text()
    assert workspace.startswith(workspace_before), "comments and order of workspace.yaml are kept"
    assert "module_name: domains.returns.definitions" in workspace

    created = mesh_copy.mesh(
        "new",
        "product",
        "returns/refunds",
        "--template",
        "join",
        "--input",
        "mesh://sales/orders",
        "--input",
        "mesh://customers/profiles",
        check=True,
    )
    assert "joins through mesh://customers/customer_keys" in created.stdout

    run = mesh_copy.mesh("materialize", "--all")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✓ mesh://returns/refunds" in run.stdout

    refunds = read(mesh_copy, "mesh://returns/refunds")
    orders = read(mesh_copy, "mesh://sales/orders")
    profiles = read_product("mesh://customers/profiles", settings=mesh_copy.settings, consumer="returns")  # as returns sees it
    assert len(refunds) == len(orders)
    assert set(refunds["order_id"]) == set(orders["order_id"])
    known = refunds.dropna(subset=["full_name"]).merge(profiles, on="customer_id", suffixes=("", "_profile"))
    assert len(known) > 0 and (known["email"] == known["email_profile"]).all()
    assert known["email"].str.fullmatch(r"[0-9a-f]{64}").all() and "birth_date" not in refunds  # personal data masked

    deps = asset_deps(mesh_copy, "returns")
    assert deps == {"returns/refunds": ["customers/customer_keys", "customers/profiles", "sales/orders"]}
    from mesh_platform import load_contract

    contract = load_contract(mesh_copy.root / "domains/returns/defs/refunds/contract.yaml")
    assert contract.column("email").classification == "personal"  # carried over from customers' contract
    assert contract.owners == ["team:returns"]
    checked = mesh_copy.mesh("check")
    assert checked.returncode == 0 and "0 errors, 0 warnings" in checked.stdout, checked.stdout


@pytest.mark.slow
def test_source_template_materializes_its_example_delivery(mesh_copy):
    created = mesh_copy.mesh("new", "product", "sales/store_visits", "--template", "source", check=True)
    assert "example delivery written to" in created.stdout
    mesh_copy.mesh("materialize", "mesh://sales/store_visits", check=True)
    frame = read(mesh_copy, "mesh://sales/store_visits")
    assert sorted_rows(frame, ["id", "name"]) == [("1", "first example"), ("2", "second example"), ("3", "third example")]
    assert mesh_copy.mesh("check").returncode == 0


@pytest.mark.slow
def test_sql_python_and_projection_templates_reproduce_their_input(mesh_copy):
    for template, name in (("sql", "orders_copy"), ("python", "orders_frame"), ("projection", "orders_slim")):
        mesh_copy.mesh("new", "product", f"sales/{name}", "--template", template, "--input", "mesh://sales/orders", check=True)
    mesh_copy.mesh("materialize", "mesh://sales/orders_copy", "mesh://sales/orders_frame", "mesh://sales/orders_slim", check=True)
    orders = read(mesh_copy, "mesh://sales/orders")
    columns = list(orders.columns)
    for name in ("orders_copy", "orders_frame", "orders_slim"):
        assert sorted_rows(read(mesh_copy, f"mesh://sales/{name}"), columns) == sorted_rows(orders, columns), name
        # Each knows its column lineage: parsed, by construction, or declared by the Python template.
        lineage = json.loads(mesh_copy.mesh("lineage", f"mesh://sales/{name}", "--upstream", "--json", check=True).stdout)
        assert {c: e["upstream"] for c, e in lineage["columns"].items()} == {c: [f"mesh://sales/orders.{c}"] for c in columns}, (
            name
        )
    checked = mesh_copy.mesh("check")
    assert checked.returncode == 0 and "0 errors, 0 warnings" in checked.stdout, checked.stdout


@pytest.mark.slow
def test_filter_and_union_templates(mesh_copy):
    for status in ("refunded", "cancelled"):
        mesh_copy.mesh(
            "new",
            "product",
            f"sales/{status}_orders",
            "--template",
            "filter",
            "--input",
            "mesh://sales/orders",
            "--set",
            f"where=status = '{status}'",
            check=True,
        )
    mesh_copy.mesh(
        "new",
        "product",
        "sales/unhappy_orders",
        "--template",
        "union",
        "--set",
        "source_column=came_from",
        "--input",
        "mesh://sales/refunded_orders",
        "--input",
        "mesh://sales/cancelled_orders",
        check=True,
    )
    mesh_copy.mesh("materialize", "--domain", "sales", check=True)
    orders = read(mesh_copy, "mesh://sales/orders")
    refunded = read(mesh_copy, "mesh://sales/refunded_orders")
    assert sorted(refunded["order_id"]) == sorted(orders.loc[orders["status"] == "refunded", "order_id"])
    unhappy = read(mesh_copy, "mesh://sales/unhappy_orders")
    expected = orders[orders["status"].isin(["refunded", "cancelled"])]
    assert sorted(unhappy["order_id"]) == sorted(expected["order_id"])
    assert set(unhappy["came_from"]) == {"mesh://sales/refunded_orders", "mesh://sales/cancelled_orders"}
    assert mesh_copy.mesh("check").returncode == 0
    assert (
        unhappy.set_index("order_id")["came_from"].str.endswith("refunded_orders")
        == (unhappy.set_index("order_id")["status"] == "refunded")
    ).all()


CHANGE_EVENTS_CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:mesh:customers:account_events
version: 1.0.0
status: active
name: account_events
domain: customers
description:
  purpose: Changes to loyalty accounts, as the loyalty system sends them.
team:
  name: customers
schema:
  - name: account_events
    physicalType: table
    properties:
      - {name: account_id, logicalType: integer, physicalType: BIGINT, required: true, classification: internal}
      - {name: seq, logicalType: integer, physicalType: BIGINT, required: true, classification: internal}
      - {name: op, logicalType: string, physicalType: VARCHAR, required: true, classification: internal}
      - {name: tier, logicalType: string, physicalType: VARCHAR, classification: internal}
      - {name: points, logicalType: integer, physicalType: BIGINT, classification: internal}
    quality:
      - {metric: rowCount, mustBeGreaterThan: 0}
slaProperties:
  - {property: frequency, value: 1, unit: h}
customProperties:
  - {property: access, value: internal}
"""


@pytest.mark.slow
def test_cdc_template_replays_change_events_row_by_row(mesh_copy):
    mesh_copy.mesh(
        "new", "product", "customers/account_events", "--template", "source", "--set", "path=accounts/*.csv", check=True
    )
    folder = mesh_copy.root / "domains/customers/defs/account_events"
    (folder / "contract.yaml").write_text(CHANGE_EVENTS_CONTRACT)
    landing = mesh_copy.settings.landing_dir("customers") / "accounts"
    (landing / "example.csv").unlink()
    # Two deliveries; events arrive out of order, some twice, some late.
    (landing / "batch_1.csv").write_text(
        "account_id,seq,op,tier,points\n"
        "1,1,insert,silver,100\n"
        "2,2,insert,gold,500\n"
        "1,4,update,gold,900\n"
        "3,3,insert,bronze,10\n"
        "2,2,insert,gold,500\n"
    )
    (landing / "batch_2.csv").write_text(
        "account_id,seq,op,tier,points\n"
        "1,3,update,silver,300\n"
        "2,6,delete,gold,500\n"
        "4,8,delete,silver,40\n"
        "4,7,insert,silver,40\n"
        "3,3,insert,bronze,10\n"
        "5,9,update,gold,70\n"
        "3,10,update,silver,20\n"
        "2,5,update,platinum,800\n"
    )
    created = mesh_copy.mesh(
        "new",
        "product",
        "customers/accounts",
        "--template",
        "cdc",
        "--input",
        "mesh://customers/account_events",
        "--set",
        "key=account_id",
    )
    assert created.returncode == 0, created.stderr
    mesh_copy.mesh("materialize", "mesh://customers/account_events", "mesh://customers/accounts", check=True)
    state = read(mesh_copy, "mesh://customers/accounts").sort_values("account_id")
    assert list(state.columns) == ["account_id", "seq", "tier", "points"]
    assert [tuple(r) for r in state.itertuples(index=False, name=None)] == [
        (1, 4, "gold", 900),  # the late update (seq 3) does not undo seq 4
        (3, 10, "silver", 20),  # the repeated insert counted once, then updated
        (5, 9, "gold", 70),  # an update of an unknown account creates it
    ]  # 2 deleted at seq 6 (the late update at 5 changes nothing); 4 deleted after its late insert


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "domain", "Returns", "--owner", "team:returns"], "domain name 'Returns' is not allowed"),
        (
            ["new", "domain", "select", "--owner", "team:returns"],
            "domain name 'select' is a reserved word of DuckDB's SQL (SELECT * FROM duckdb_keywords() lists them)",
        ),
        (
            ["new", "domain", "temp", "--owner", "team:returns"],
            "domain name 'temp' is reserved: it is DuckDB's catalog of temporary tables",
        ),
        (
            ["new", "domain", "governance", "--owner", "team:returns"],
            "domain name 'governance' is reserved: it is the prefix of the governance group's policies",
        ),
        (["new", "product", "sales/class", "--template", "sql"], "product name 'class' is a reserved word (a Python keyword)"),
        (["new", "domain", "returns", "--owner", "returns team"], "owner 'returns team' is neither team:<name>"),
        (["new", "domain", "sales", "--owner", "team:sales"], "domain 'sales' already exists"),
        (["new", "product", "sales/../evil", "--template", "sql"], "is not DOMAIN/NAME"),
        (["new", "product", "sales/drop;table", "--template", "sql"], "product name 'drop;table' is not allowed"),
        (["new", "product", "sales/x", "--template", "nosuch"], "there is no product template 'nosuch'"),
        (
            ["new", "product", "sales/x", "--template", "filter", "--input", "mesh://sales/nope"],
            "domain 'sales' has no product 'nope'",
        ),
        (["new", "product", "sales/x", "--template", "filter"], "template 'filter' takes exactly 1 --input, got 0"),
        (["new", "product", "sales/orders", "--template", "sql"], "mesh://sales/orders already exists"),
        (["new", "product", "billing/x", "--template", "sql"], "there is no domain 'billing'"),
        (
            ["new", "product", "sales/x", "--template", "cdc", "--input", "mesh://sales/orders"],
            "cannot tell which column is the operation",
        ),
        (["new", "product", "sales/x", "--template", "sql", "--set", "colour=red"], "template 'sql' has no parameter colour"),
    ],
)
def test_bad_requests_get_one_line_errors_and_change_nothing(repo_copy, args, message):
    before = repo_copy.tree()
    result = repo_copy.mesh(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr
    assert repo_copy.tree() == before
    assert not repo_copy.settings.home.exists(), "a refused request writes no state either"


def test_templates_lists_every_template_with_parameters(repo_copy):
    result = repo_copy.mesh("templates", "--json", check=True)
    templates = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(templates) == {"domain", "source", "sql", "python", "filter", "projection", "union", "join", "cdc"}
    assert all(t["description"] for t in templates.values())
    assert [p["name"] for p in templates["cdc"]["parameters"]] == ["key", "sequence", "operation"]


def test_a_product_whose_contract_is_invalid_is_named_as_such_not_as_missing(repo_copy):
    """While a product's contract is invalid, whatever names it (mesh new --input, mesh materialize, an input of
    another product in mesh check) says so, with the contract's first problem, not that the product does not exist."""
    contract = repo_copy.root / "domains/sales/defs/orders/contract.yaml"
    contract.write_text(contract.read_text().replace("version: 1.1.0", "version: one"))
    problem = f"{contract}:"
    new = repo_copy.mesh("new", "product", "sales/x", "--template", "filter", "--input", "mesh://sales/orders")
    assert new.returncode == 1 and new.stderr.startswith("error: mesh://sales/orders: its folder ") and problem in new.stderr, (
        new.stderr
    )
    assert "has no product" not in new.stderr
    built = repo_copy.mesh("materialize", "mesh://sales/orders")
    assert built.returncode == 1 and "mesh://sales/orders: its folder " in built.stderr and problem in built.stderr, built.stderr
    check = repo_copy.mesh("check")
    reader = next(line for line in check.stdout.splitlines() if "mesh.granted-inputs mesh://sales/daily_revenue" in line)
    assert "input mesh://sales/orders is broken: its folder " in reader and problem in reader, check.stdout


@pytest.mark.slow
def test_names_the_platform_once_refused_without_a_reason_are_products_like_any_other(mesh_copy):
    """`products`, `main`, `staging`, `tests`: a product may take any identifier that SQL and Python need not quote."""
    for name in ("products", "main", "staging", "tests"):
        mesh_copy.mesh(
            "new",
            "product",
            f"sales/{name}",
            "--template",
            "filter",
            "--input",
            "mesh://sales/orders",
            "--set",
            "where=amount_usd > 100",
            check=True,
        )
    assert mesh_copy.mesh("check", "--domain", "sales").returncode == 0
    mesh_copy.mesh("materialize", "mesh://sales/products", "mesh://sales/main", check=True)
    assert len(read(mesh_copy, "mesh://sales/products")) == len(read(mesh_copy, "mesh://sales/main")) > 0
