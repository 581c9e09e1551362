"""A contract change's real impact: the consumers reading what it changes are named; a breaking change
that nobody reads needs no major version (`mesh contract diff`, `mesh check`, every build); `mesh show`
lists who read the product lately."""

import json
import os

import pytest
import yaml

from .conftest import column, contract_yaml, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {name}.csv\n"
ORDERS = [
    column("order_id", "integer", required=True),
    column("amount", "number", "DOUBLE"),
    column("discount", "number", "DOUBLE"),
    column("coupon"),
    column("note"),
]
ORDERS_CSV = "order_id,amount,discount,coupon,note\n1,10.0,1.0,A,x\n2,20.0,0.0,B,y\n"


def mesh_of_orders(lab):
    """shop/orders, read by ads/totals (its discount feeds total_discount; coupon only filters) and by
    planning/forecast (a Python recipe declaring it reads amount); note is read by nobody."""
    for domain in ("shop", "ads", "planning"):
        lab.add_domain(domain)
    folder = lab.add_product("shop", "orders", SOURCE.format(name="orders"), contract_yaml("shop", "orders", ORDERS))
    lab.land("shop", "orders.csv", ORDERS_CSV)
    totals = "SELECT count(*) AS orders, sum(discount) AS total_discount FROM orders WHERE coupon IS NOT NULL"
    lab.add_product(
        "ads",
        "totals",
        f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/orders]\n  sql: {totals}\n",
        contract_yaml("ads", "totals", [column("orders", "integer", "BIGINT"), column("total_discount", "number", "DOUBLE")]),
    )
    lab.add_product(
        "planning",
        "forecast",
        "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: [mesh://shop/orders]\n  function: f.py:build\n"
        "  lineage:\n    expected: [orders.amount]\n",
        contract_yaml("planning", "forecast", [column("expected", "number", "DOUBLE")]),
        files={
            "f.py": (
                "import pandas as pd\n\ndef build(orders):\n    return pd.DataFrame({'expected': [orders['amount'].mean()]})\n"
            )
        },
    )
    return folder / "contract.yaml"


def changed(contract_file, tmp_path, version, drop=(), **column_changes):
    """The contract with columns dropped or changed, written beside the test (the old file stays)."""
    document = yaml.safe_load(contract_file.read_text())
    properties = document["schema"][0]["properties"]
    document["schema"][0]["properties"] = [p for p in properties if p["name"] not in drop]
    for name, settings in column_changes.items():
        next(p for p in document["schema"][0]["properties"] if p["name"] == name).update(settings)
    document["version"] = version
    file = tmp_path / f"orders-{version}-{'-'.join(drop) or 'changed'}.yaml"
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    return file


def diff(lab, old, new):
    result = run_mesh("contract", "diff", str(old), str(new), "--json", env={**os.environ}, cwd=lab.root)
    return result, json.loads(result.stdout)


def test_dropping_a_column_a_consumer_reads_breaks_and_names_it_one_nobody_reads_does_not(lab, tmp_path):
    contract = mesh_of_orders(lab)

    read, found = diff(lab, contract, changed(contract, tmp_path, "1.1.0", drop=("discount",)))
    assert read.returncode == 1 and "need a new major version: set version to 2.0.0" in read.stderr
    [change] = found["changes"]
    assert change["kind"] == "column removed" and change["breaking"] and change["impact"]["breaks_consumers"]
    assert change["impact"]["read_by"] == [{"product": "mesh://ads/totals", "columns": ["total_discount"]}]

    unread, found = diff(lab, contract, changed(contract, tmp_path, "1.1.0", drop=("note",)))
    assert unread.returncode == 0, unread.stderr  # breaking by the rules, but nobody reads it
    [change] = found["changes"]
    assert change["breaking"] and not change["impact"]["breaks_consumers"] and change["impact"]["read_by"] == []

    printed = run_mesh(
        "contract",
        "diff",
        str(contract),
        str(changed(contract, tmp_path, "1.1.0", drop=("discount", "note"))),
        env={**os.environ},
        cwd=lab.root,
    )
    assert printed.returncode == 1
    lines = printed.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "column 'discount' removed" in line)
    assert lines[at].lstrip().startswith("BREAKING") and lines[at + 1].strip() == "→ read by mesh://ads/totals.total_discount"
    at = next(i for i, line in enumerate(lines) if "column 'note' removed" in line)
    assert lines[at].lstrip().startswith("unread") and lines[at + 1].strip() == "→ no consumer reads it: not breaking for anyone"
    assert "1 breaking change(s) that no consumer reads" in printed.stdout


@pytest.mark.parametrize(
    ("drop", "readers"),
    [
        (("coupon",), [{"product": "mesh://ads/totals", "columns": []}]),  # only in its WHERE: it still breaks the query
        (("amount",), [{"product": "mesh://planning/forecast", "columns": ["expected"]}]),  # declared by the Python recipe
    ],
    ids=["read in a filter", "declared by a Python recipe"],
)
def test_a_column_read_in_a_filter_or_declared_by_python_counts_as_read(lab, tmp_path, drop, readers):
    contract = mesh_of_orders(lab)
    result, found = diff(lab, contract, changed(contract, tmp_path, "1.1.0", drop=drop))
    assert result.returncode == 1
    assert found["changes"][0]["impact"]["read_by"] == readers


def test_a_safe_change_says_who_it_reaches(lab, tmp_path):
    contract = mesh_of_orders(lab)
    result, found = diff(
        lab, contract, changed(contract, tmp_path, "1.1.0", discount={"description": "Discount granted, in dollars."})
    )
    assert result.returncode == 0
    [change] = found["changes"]
    assert not change["breaking"] and change["impact"]["read_by"] == [
        {"product": "mesh://ads/totals", "columns": ["total_discount"]}
    ]


@pytest.mark.slow
def test_mesh_check_and_the_build_refuse_a_published_change_that_breaks_a_reader(lab):
    contract = mesh_of_orders(lab)
    assert lab.materialize("shop", "orders").success
    original = contract.read_text()

    document = yaml.safe_load(original)
    document["schema"][0]["properties"] = [p for p in document["schema"][0]["properties"] if p["name"] != "discount"]
    document["version"] = "1.1.0"
    contract.write_text(yaml.safe_dump(document, sort_keys=False))
    checked = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert checked.returncode == 1
    [refused] = [line for line in checked.stdout.splitlines() if line.startswith("error mesh.breaking-changes")]
    assert (
        "mesh://shop/orders" in refused
        and "column 'discount' removed (since 1.0.0, as published) breaks its readers: mesh://ads/totals.total_discount"
        in refused
    )
    assert "set version to 2.0.0" in refused
    run = lab.materialize("shop", "orders", raise_on_error=False)
    assert not run.success  # the governance check refuses the build: what ads reads stays published
    [governance] = [e for e in run.get_asset_check_evaluations() if e.check_name == "governance"]
    assert not governance.passed

    document = yaml.safe_load(original)
    document["schema"][0]["properties"] = [p for p in document["schema"][0]["properties"] if p["name"] != "note"]
    document["version"] = "1.1.0"
    contract.write_text(yaml.safe_dump(document, sort_keys=False))
    assert not [
        line
        for line in run_mesh("check", env={**os.environ}, cwd=lab.root).stdout.splitlines()
        if "mesh.breaking-changes" in line
    ]
    lab.land("shop", "orders.csv", "order_id,amount,discount,coupon\n1,10.0,1.0,A\n")
    assert lab.materialize("shop", "orders").success  # nobody reads note: it may go without a new major version


@pytest.mark.slow
def test_mesh_show_lists_the_domains_that_read_the_product_lately(lab):
    from mesh_platform import read_product

    mesh_of_orders(lab)
    lab.add_product(
        "shop",
        "big_orders",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://shop/orders]\n  where: amount > 15\n",
        contract_yaml("shop", "big_orders", ORDERS),
    )
    assert lab.materialize("shop").success  # orders, and big_orders reading it: the owner's own reads are no consumer's
    assert lab.materialize("ads", "totals").success  # a build of ads reads orders
    read_product("mesh://shop/orders", consumer="planning")  # an ad hoc read
    read_product("mesh://shop/orders", consumer="planning")
    shown = json.loads(run_mesh("show", "mesh://shop/orders", "--json", env={**os.environ}, cwd=lab.root).stdout)
    consumers = {c["consumer"]: (c["reads"], c["builds"], c["ad_hoc"]) for c in shown["read_by"]["consumers"]}
    assert consumers == {"planning": (2, 0, 2), "ads": (1, 1, 0)}
    printed = run_mesh("show", "mesh://shop/orders", env={**os.environ}, cwd=lab.root).stdout
    assert (
        "read by       planning (2 reads: 0 by builds, 2 ad hoc; last " in printed
        and "in the last 30 days (access log)" in printed
    )
    # An ad hoc reader's columns are not known: every breaking change of the product counts for them.
    contract = lab.root / lab.package / "shop/defs/orders/contract.yaml"
    document = yaml.safe_load(contract.read_text())
    document["schema"][0]["properties"] = [p for p in document["schema"][0]["properties"] if p["name"] != "note"]
    document["version"] = "1.1.0"
    new = lab.root / "orders-new.yaml"
    new.write_text(yaml.safe_dump(document, sort_keys=False))
    result, found = diff(lab, contract, new)
    assert result.returncode == 1 and found["changes"][0]["impact"]["read_ad_hoc_by"] == ["planning"]
