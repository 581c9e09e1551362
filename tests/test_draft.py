"""The development loop: draft products (ODCS `status: draft`) change without new versions and only their own
domain reads them, until they are published (`status: active`); `mesh materialize --dev` builds into a
development namespace no consumer reads, against the mesh's real inputs, and leaves the mesh untouched."""

import hashlib
import json
import os

import pytest
import yaml

from mesh_platform import read_product
from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.loading import load_contract
from mesh_platform.core.errors import AccessDeniedError, ContractError, DeprecatedPortWarning
from mesh_platform.governance.access import decide
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.storage.ports import PortStore

from .conftest import column, contract_yaml, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: orders.csv\n"
ORDERS = [column("order_id", "integer", required=True), column("amount", "number", "DOUBLE")]
SUMMARY_SQL = "SELECT count(*) AS orders, sum(amount) AS revenue FROM orders"


def sql_recipe(inputs: list[str], sql: str) -> str:
    return f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [{', '.join(inputs)}]\n  sql: {sql}\n"


def mesh(lab, *args):
    return run_mesh(*args, env={**os.environ}, cwd=lab.root)


def edit(contract_file, amount_type=None, status=None, version=None):
    """Change the contract in place: the amount column's type, the status, the version."""
    document = yaml.safe_load(contract_file.read_text())
    if amount_type is not None:
        next(p for p in document["schema"][0]["properties"] if p["name"] == "amount")["physicalType"] = amount_type
    if status is not None:
        document["status"] = status
    if version is not None:
        document["version"] = version
    contract_file.write_text(yaml.safe_dump(document, sort_keys=False))


def lines(result, start):
    return [line for line in result.stdout.splitlines() if line.startswith(start)]


def draft_shop(lab):
    """shop/orders, a draft source, read by shop/summary (same domain: it may)."""
    lab.add_domain("shop")
    lab.add_domain("ads")
    folder = lab.add_product("shop", "orders", SOURCE, contract_yaml("shop", "orders", ORDERS, status="draft"))
    lab.add_product(
        "shop",
        "summary",
        sql_recipe(["mesh://shop/orders"], SUMMARY_SQL),
        contract_yaml("shop", "summary", [column("orders", "integer", "BIGINT"), column("revenue", "number")]),
    )
    lab.land("shop", "orders.csv", "order_id,amount\n1,10\n2,20\n")
    return folder / "contract.yaml"


def add_ads_reader(lab):
    lab.add_product(
        "ads",
        "totals",
        sql_recipe(["mesh://shop/orders"], "SELECT sum(amount) AS total FROM orders"),
        contract_yaml("ads", "totals", [column("total", "number", "DOUBLE")]),
    )


def test_an_unknown_status_is_a_located_contract_error(lab):
    contract = draft_shop(lab)
    edit(contract, status="wip")
    with pytest.raises(ContractError) as error:
        load_contract(contract)
    [problem] = error.value.problems
    assert problem.field == "status" and problem.line == 5
    assert "status 'wip' is unknown" in problem.message and "draft" in problem.fix and "active" in problem.fix


def test_only_the_owning_domain_reads_a_draft_or_a_retired_product(lab):
    contract_file = draft_shop(lab)
    contract = load_contract(contract_file)
    assert decide(contract, "shop").clear == ()  # the owner reads it
    for consumer in ("ads", None):
        with pytest.raises(AccessDeniedError) as denied:
            decide(contract, consumer)
        message = str(denied.value)
        assert "\n" not in message
        assert "may not read mesh://shop/orders: it is a draft (status: draft), read by the shop domain only until" in message
        assert f"its owner (team:shop, owner@example.com) publishes it by setting status: active in {contract_file}" in message
    edit(contract_file, status="retired")
    with pytest.raises(AccessDeniedError, match="it is retired"):
        decide(load_contract(contract_file), "ads")
    edit(contract_file, status="active")
    assert decide(load_contract(contract_file), "ads").owner == "shop"  # public once active


def test_mesh_check_notices_each_draft_and_refuses_another_domains_product_reading_one(lab):
    contract = draft_shop(lab)
    clean = mesh(lab, "check")
    assert clean.returncode == 0, clean.stdout
    [notice] = lines(clean, "warning mesh.draft")
    assert f"mesh://shop/orders {contract}:5: mesh://shop/orders is a draft (status: draft): only shop reads it" in notice
    assert "set status: active to publish it" in notice
    assert not lines(clean, "error")  # shop/summary reads it: its own domain may

    add_ads_reader(lab)
    refused = mesh(lab, "check")
    assert refused.returncode == 1
    [error] = lines(refused, "error")
    assert error.startswith("error mesh.granted-inputs mesh://ads/totals")
    assert "mesh://shop/orders is a draft (status: draft) that only shop reads until it is published; ads may not" in error
    assert f"publish it (status: active in {contract})" in error

    edit(contract, status="proposed")  # ODCS's other status before publishing: the same
    assert lines(mesh(lab, "check"), "error mesh.granted-inputs mesh://ads/totals")
    edit(contract, status="active")
    published = mesh(lab, "check")
    assert published.returncode == 0 and not lines(published, "warning mesh.draft")


def test_list_catalog_and_show_say_the_status(lab):
    draft_shop(lab)
    listed = {p["address"]: p for p in json.loads(mesh(lab, "list", "--json").stdout)["products"]}
    assert listed["mesh://shop/orders"]["status"] == "draft" and listed["mesh://shop/summary"]["status"] == "active"
    table = mesh(lab, "list").stdout.splitlines()
    assert table[0].split()[:5] == ["ADDRESS", "OWNER", "ACCESS", "STATUS", "VERSION"]
    assert next(line for line in table if "mesh://shop/orders" in line).split()[1:5] == ["team:shop", "public", "draft", "1.0.0"]
    found = json.loads(mesh(lab, "catalog", "--domain", "shop", "--json").stdout)["products"]
    assert {p["address"]: p["status"] for p in found} == {"mesh://shop/orders": "draft", "mesh://shop/summary": "active"}
    assert "STATUS" in mesh(lab, "catalog").stdout.splitlines()[0].split()
    shown = mesh(lab, "show", "mesh://shop/orders")
    assert "(contract 1.0.0, draft, public)" in shown.stdout.splitlines()[0]
    said = "status        draft: only shop reads it, and it changes without new versions; set status: active to publish it"
    assert said in shown.stdout


def test_contract_diff_needs_no_version_for_a_draft_and_judges_a_move_back_to_draft(lab, tmp_path):
    contract = draft_shop(lab)
    old = tmp_path / "old.yaml"
    old.write_text(contract.read_text())
    edit(contract, amount_type="BIGINT")  # narrowed, the version left as it is
    draft = mesh(lab, "contract", "diff", str(old), str(contract))
    assert draft.returncode == 0, draft.stderr
    assert diff_contracts(load_contract(old), load_contract(contract)).breaking  # by the rules; but a draft has no history

    edit(contract, status="active")  # the step draft → active starts the history: still no version needed
    first = mesh(lab, "contract", "diff", str(old), str(contract), "--json")
    assert first.returncode == 0, first.stderr
    assert ("status changed", False) in [(c["kind"], c["breaking"]) for c in json.loads(first.stdout)["changes"]]

    old.write_text(contract.read_text())
    edit(contract, status="draft", version="1.1.0")  # back to draft: other domains lose it
    back = mesh(lab, "contract", "diff", str(old), str(contract), "--json")
    [change] = json.loads(back.stdout)["changes"]
    assert (change["kind"], change["message"], change["breaking"]) == ("status changed", "status active → draft", True)
    assert back.returncode == 0 and change["impact"]["read_by"] == []  # shop/summary, of shop itself, keeps reading it
    add_ads_reader(lab)
    read = mesh(lab, "contract", "diff", str(old), str(contract))
    assert read.returncode == 1 and "→ read by mesh://ads/totals" in read.stdout and "set version to 2.0.0" in read.stderr


def test_reading_a_deprecated_product_from_another_domain_warns(lab):
    contract = draft_shop(lab)
    edit(contract, status="deprecated")
    add_ads_reader(lab)
    checked = mesh(lab, "check")
    assert checked.returncode == 0
    [warning] = lines(checked, "warning mesh.deprecated-inputs mesh://ads/totals")
    assert "input mesh://shop/orders is deprecated (status: deprecated)" in warning


def port_type(lab, address, name):
    """The type of a column in the current version of a product's port (as Delta stores it)."""
    from mesh_platform.core.address import Address

    return str(PortStore.of(lab.settings).port(Address.parse(address)).dataset().schema.field(name).type)


@pytest.mark.slow
def test_a_draft_changes_a_type_twice_without_a_new_version_is_refused_to_others_then_is_published(lab):
    contract = draft_shop(lab)
    assert mesh(lab, "check").returncode == 0
    built = mesh(lab, "materialize", "mesh://shop/orders+")
    assert built.returncode == 0, built.stdout + built.stderr
    assert port_type(lab, "mesh://shop/orders@v1", "amount") == "double"

    for new_type, published_type, version in (("DECIMAL(12,2)", "decimal128(12, 2)", 1), ("BIGINT", "int64", 2)):
        before = load_contract(contract)
        edit(contract, amount_type=new_type)  # the version stays 1.0.0
        assert diff_contracts(before, load_contract(contract)).breaking  # breaking by the rules, and shop/summary reads amount
        checked = mesh(lab, "check")
        assert checked.returncode == 0 and not lines(checked, "error"), checked.stdout
        assert lines(checked, "warning mesh.draft mesh://shop/orders")
        built = mesh(lab, "materialize", "mesh://shop/orders+")
        assert built.returncode == 0, built.stdout + built.stderr
        assert f"✓ mesh://shop/orders  version {version}," in built.stdout
        assert port_type(lab, "mesh://shop/orders@v1", "amount") == published_type
    assert load_contract(contract).version == "1.0.0"
    assert read_product("mesh://shop/summary", consumer="shop")["revenue"].tolist() == [30.0]

    # Another domain's reader is refused: the Python API, mesh query, and a product of it (mesh check and its build).
    with pytest.raises(AccessDeniedError, match="it is a draft"):
        read_product("mesh://shop/orders", consumer="ads")
    queried = mesh(lab, "query", "--as", "ads", "SELECT * FROM shop.orders")
    assert queried.returncode == 1
    notice, error = queried.stderr.splitlines()  # the one line saying --as is unverified here, then the one-line error
    assert notice.startswith("acting as ads, unverified") and error.startswith("error: "), queried.stderr
    assert "access denied: ads may not read mesh://shop/orders: it is a draft" in queried.stderr
    add_ads_reader(lab)
    assert lines(mesh(lab, "check"), "error mesh.granted-inputs mesh://ads/totals")
    refused = mesh(lab, "materialize", "mesh://ads/totals")
    assert refused.returncode == 1
    assert "mesh://ads/totals" in refused.stdout and "refused by governance" in refused.stdout and "is a draft" in refused.stdout

    # Published: status active (and, in the same step, a type narrowed once more: the first active version starts the history).
    edit(contract, status="active", amount_type="INTEGER")
    checked = mesh(lab, "check")
    assert checked.returncode == 0 and not lines(checked, "error") and not lines(checked, "warning mesh.draft"), checked.stdout
    with pytest.raises(AccessDeniedError, match="version 2: it was published while the product was a draft"):
        read_product("mesh://shop/orders", consumer="ads")  # what the port holds was built as a draft, for shop only
    built = mesh(lab, "materialize", "mesh://shop/orders+")  # orders, then summary and ads/totals reading it
    assert built.returncode == 0, built.stdout + built.stderr
    assert "✓ mesh://ads/totals" in built.stdout
    assert read_product("mesh://shop/orders", consumer="ads")["amount"].tolist() == [10, 20]
    assert port_type(lab, "mesh://shop/orders@v1", "amount") == "int32"

    # Now it has a history: a breaking change needs a new major version again, and so does going back to draft.
    edit(contract, amount_type="SMALLINT")
    [breaking] = lines(mesh(lab, "check"), "error mesh.breaking-changes mesh://shop/orders")
    assert "type narrowed" in breaking or "INTEGER → SMALLINT" in breaking
    assert "set version to 2.0.0" in breaking
    edit(contract, amount_type="INTEGER", status="draft")
    [back] = lines(mesh(lab, "check"), "error mesh.breaking-changes mesh://shop/orders")
    assert f"{contract}:5: status active → draft (since 1.0.0, as published) breaks its readers" in back
    assert "set version to 2.0.0" in back and "keep status: active" in back

    edit(contract, status="deprecated")  # still readable, and every other domain's read hears about it
    assert mesh(lab, "check").returncode == 0
    with pytest.warns(DeprecatedPortWarning, match=r"mesh://shop/orders@v1 is deprecated \(status: deprecated\)"):
        assert len(read_product("mesh://shop/orders", consumer="ads")) == 2


# --- mesh materialize --dev -------------------------------------------------------------------------------------

DEV_ORDERS = [
    column("order_id", "integer", required=True),
    column("email", classification="personal"),
    column("amount", "number"),
]
BY_CUSTOMER = "SELECT email, sum(amount) AS revenue FROM orders GROUP BY email"


def dev_shop(lab):
    """shop/orders (a source with a personal column) → shop/by_customer → shop/best, and ads/totals reading orders;
    all published for real."""
    lab.add_domain("shop")
    lab.add_domain("ads")
    lab.add_product("shop", "orders", SOURCE, contract_yaml("shop", "orders", DEV_ORDERS))
    lab.land("shop", "orders.csv", "order_id,email,amount\n1,a@example.com,10\n2,a@example.com,20\n3,b@example.com,12\n")
    by_customer = lab.add_product(
        "shop",
        "by_customer",
        sql_recipe(["mesh://shop/orders"], BY_CUSTOMER),
        contract_yaml("shop", "by_customer", [column("email", classification="personal"), column("revenue", "number", "DOUBLE")]),
    )
    lab.add_product(
        "shop",
        "best",
        sql_recipe(["mesh://shop/by_customer"], "SELECT max(revenue) AS best FROM by_customer"),
        contract_yaml("shop", "best", [column("best", "number", "DOUBLE")]),
    )
    add_ads_reader(lab)
    assert lab.materialize("shop").success and lab.materialize("ads").success
    return by_customer / "defs.yaml"


def state_tree(lab) -> dict[str, str]:
    """Every file of the mesh's MESH_HOME but the access log and the development namespaces, with a hash of its content."""
    home = lab.settings.home
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.relative_to(home).parts[0] not in ("dev", "access_log.sqlite")
    }


def query(lab, sql, *flags):
    result = mesh(lab, "query", "--as", "shop", sql, "--json", *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.slow
def test_a_dev_build_reads_the_real_inputs_and_touches_no_port_vault_or_instance_of_the_mesh(lab):
    recipe = dev_shop(lab)
    before = state_tree(lab)
    assert any(name.startswith("vault/shop") for name in before) and any(name.startswith("dagster/") for name in before)
    recipe.write_text(recipe.read_text().replace("FROM orders GROUP BY", "FROM orders WHERE amount > 15 GROUP BY"))

    built = mesh(lab, "materialize", "--dev", "mesh://shop/by_customer")
    assert built.returncode == 0, built.stdout + built.stderr
    namespace = lab.settings.in_dev().dev.name
    folder = lab.settings.home / "dev" / namespace
    assert f"development namespace {namespace} ({folder}): no consumer reads it" in built.stdout
    assert f"materialized 1 products into the development namespace {namespace}" in built.stdout
    assert state_tree(lab) == before  # no port, vault, DuckDB file, run log or Dagster run of the mesh changed
    assert (folder / "ports" / "shop" / "by_customer" / "v1").is_dir() and (folder / "vault" / "shop").is_dir()
    assert (folder / "dagster" / "history" / "runs.db").is_file() and (folder / "domains" / "shop" / "shop.duckdb").is_file()

    rows, said = query(lab, "SELECT * FROM shop.by_customer ORDER BY email", "--dev")
    assert rows == [{"email": "a@example.com", "revenue": 20.0}]  # the change, its personal column in clear for its owner
    assert f"from the development namespace {namespace}: mesh://shop/by_customer" in said
    assert query(lab, "SELECT * FROM shop.by_customer ORDER BY email")[0] == [
        {"email": "a@example.com", "revenue": 30.0},
        {"email": "b@example.com", "revenue": 12.0},
    ]  # consumers read the mesh's
    assert read_product("mesh://shop/by_customer", consumer="shop", dev=True)["revenue"].tolist() == [20.0]
    assert query(lab, "SELECT count(*) AS n FROM shop.orders", "--dev")[0] == [{"n": 3}]  # not built there: the mesh's port
    reads = AccessLog(lab.settings.access_log_file).entries(product="mesh://shop/orders")
    dev_reads = [e for e in reads if "development namespace" in e.via]
    assert dev_reads and dev_reads[0].via.startswith("build of mesh://shop/by_customer") and dev_reads[0].outcome == "granted"

    shown = json.loads(mesh(lab, "dev", "show", "--json").stdout)
    assert [(p["address"], p["version"], p["rows"]) for p in shown["ports"]] == [("mesh://shop/by_customer@v1", 0, 1)]
    status = mesh(lab, "status", "--json")
    health = {p["address"]: p for p in json.loads(status.stdout)["products"]}
    assert health["mesh://shop/by_customer"]["last_materialization"]["port_version"] == 0  # the mesh's instance saw no dev run

    reset = mesh(lab, "dev", "reset")
    assert reset.returncode == 0 and f"removed the development namespace {namespace} ({folder}, 1 ports)" in reset.stdout
    assert not folder.exists() and state_tree(lab) == before
    assert query(lab, "SELECT count(*) AS n FROM shop.by_customer", "--dev")[0] == [{"n": 2}]


@pytest.mark.slow
def test_a_dev_build_of_a_chain_reads_each_selected_input_from_the_namespace(lab):
    recipe = dev_shop(lab)
    recipe.write_text(recipe.read_text().replace("FROM orders GROUP BY", "FROM orders WHERE amount > 15 GROUP BY"))

    chain = mesh(lab, "materialize", "--dev", "mesh://shop/by_customer+")  # by_customer and best, which reads it
    assert chain.returncode == 0, chain.stdout + chain.stderr
    assert "materialized 2 products into the development namespace" in chain.stdout
    assert query(lab, "SELECT best FROM shop.best", "--dev")[0] == [{"best": 20.0}]  # from the namespace's by_customer
    assert query(lab, "SELECT best FROM shop.best")[0] == [{"best": 30.0}]  # the mesh's is untouched

    alone = mesh(lab, "materialize", "--dev", "mesh://shop/best")  # by_customer not selected: the mesh's is read
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert query(lab, "SELECT best FROM shop.best", "--dev")[0] == [{"best": 30.0}]


@pytest.mark.slow
def test_a_dev_build_is_checked_as_the_real_build_is(lab):
    """Governance judges a dev build against the mesh's published ports: a change breaking a reader needs its major version."""
    dev_shop(lab)
    before = state_tree(lab)
    contract = lab.root / lab.package / "shop" / "defs" / "orders" / "contract.yaml"
    edit(contract, amount_type="INTEGER")
    refused = mesh(lab, "materialize", "--dev", "mesh://shop/orders")
    assert refused.returncode == 1
    assert "refused by governance" in refused.stdout and "breaks its readers" in refused.stdout
    assert "set version to 2.0.0" in refused.stdout
    assert state_tree(lab) == before
