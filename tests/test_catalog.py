"""Address resolution: an address names one product, its asset key, contract and port."""

import pytest

from mesh_platform import AddressError, Catalog, resolve
from mesh_platform.runtime.batches import plan_batches

from .conftest import REPO, column, contract_yaml


def test_resolve_address_to_asset_key_contract_and_port(mesh_home):
    resolved = resolve("mesh://sales/orders")
    assert resolved.asset_key_path == ["sales", "orders"]
    assert resolved.contract.file == REPO / "domains/sales/defs/orders/contract.yaml"
    assert str(resolved.address) == "mesh://sales/orders@v1"
    assert resolved.port.location.path == mesh_home.home / "ports/sales/orders/v1"
    assert resolved.product.recipe_type == "mesh_platform.recipes.SqlProduct"


def test_explicit_major_version_picks_that_port(mesh_home):
    assert resolve("mesh://sales/orders@v3").port.location.path == mesh_home.home / "ports/sales/orders/v3"


def test_unknown_domain_lists_the_domains(mesh_home):
    with pytest.raises(
        AddressError, match=r"there is no domain 'billing' \(domains: customers, marketing, planning, sales, web_analytics\)"
    ):
        resolve("mesh://billing/invoices")


def test_unknown_product_lists_the_domains_products(mesh_home):
    with pytest.raises(AddressError, match=r"domain 'sales' has no product 'refunds' \(its products: .*orders"):
        resolve("mesh://sales/refunds")


def test_batches_follow_dependencies_across_domains(mesh_home):
    catalog = Catalog.load()
    batches = plan_batches(catalog, catalog.products)
    seen: set = set()
    for batch in batches:
        assert len({p.address.domain for p in batch.products}) == 1
        for product in batch.products:
            upstream_outside = {i.address for i in product.inputs} - {p.address for p in batch.products}
            assert upstream_outside <= seen, f"{product.address} runs before its inputs"
        seen |= {p.address for p in batch.products}
    assert seen == set(catalog.products)
    assert len(batches) == 5  # one run per domain suffices for the demo mesh


def test_a_broken_contract_is_reported_and_does_not_hide_other_products(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "good",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: g.csv\n",
        contract_yaml("shop", "good", [column("a")]),
    )
    lab.add_product(
        "shop", "bad", "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: b.csv\n", "apiVersion: v3.1.0\nkind: [\n"
    )
    catalog = Catalog.load()
    assert [str(a) for a in catalog.products] == ["mesh://shop/good"]
    ((file, error),) = catalog.broken.items()
    assert file.parent.name == "bad" and "contract.yaml:3" in str(error)


def test_a_contract_in_the_wrong_domain_is_rejected(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "thing",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: t.csv\n",
        contract_yaml("finance", "thing", [column("a")]),
    )
    (error,) = Catalog.load().broken.values()
    assert "the contract says domain 'finance' but the product lives in domain 'shop'" in str(error)
    assert "— set domain: shop" in str(error)


def test_a_dependency_loop_names_its_products_and_leaves_the_order(lab):
    lab.add_domain("shop")
    for name, other in (("a", "b"), ("b", "a"), ("c", "c"), ("d", "a"), ("e", "f")):
        recipe = f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/{other}]\n  sql: SELECT 1 AS a\n"
        lab.add_product("shop", name, recipe, contract_yaml("shop", name, [column("a", "integer")]))
    lab.add_product(
        "shop",
        "f",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS a\n",
        contract_yaml("shop", "f", [column("a", "integer")]),
    )
    catalog = Catalog.load()
    loops = {str(address): " → ".join(map(str, loop)) for address, loop in catalog.loops().items()}
    assert loops == {
        "mesh://shop/a": "mesh://shop/a → mesh://shop/b → mesh://shop/a",
        "mesh://shop/b": "mesh://shop/b → mesh://shop/a → mesh://shop/b",
        "mesh://shop/c": "mesh://shop/c → mesh://shop/c",
    }
    # d reads a loop but is in none; e reads f: both still have an order, f first.
    assert [str(p.address) for p in catalog.ordered()] == ["mesh://shop/d", "mesh://shop/f", "mesh://shop/e"]


def test_plus_selects_upstream_and_downstream_as_dagster_does(lab):
    from mesh_platform.runtime.selection import select_related

    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "a",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: a.csv\n",
        contract_yaml("shop", "a", [column("id", "integer")]),
    )
    for name, reads in (("b", "a"), ("c", "b"), ("d", "a")):
        recipe = (
            f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/{reads}]\n"
            f"  sql: SELECT id FROM {reads}\n"
        )
        lab.add_product("shop", name, recipe, contract_yaml("shop", name, [column("id", "integer")]))
    catalog = Catalog.load()

    def names(expression):
        return sorted(address.product for address in select_related(catalog, expression))

    assert names("mesh://shop/c") == ["c"]
    assert names("+mesh://shop/c") == ["a", "b", "c"]
    assert names("1+mesh://shop/c") == ["b", "c"]
    assert names("mesh://shop/a+") == ["a", "b", "c", "d"]
    assert names("mesh://shop/a+1") == ["a", "b", "d"]
    assert names("+mesh://shop/b+") == ["a", "b", "c"]
    with pytest.raises(AddressError, match="domain 'shop' has no product 'zz'"):
        select_related(catalog, "+mesh://shop/zz")
    with pytest.raises(AddressError, match="not an address expression"):
        select_related(catalog, "mesh://shop/a ++ b")
