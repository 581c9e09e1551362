import pytest

from mesh_platform import Address, AddressError
from mesh_platform.core.inputs import ProductInput, parse_inputs


def test_parse_address_and_asset_key():
    address = Address.parse("mesh://sales/orders")
    assert (address.domain, address.product, address.major) == ("sales", "orders", None)
    assert address.asset_key_path == ["sales", "orders"]
    assert str(address) == "mesh://sales/orders"


def test_parse_versioned_address():
    address = Address.parse("mesh://sales/orders@v2")
    assert address.major == 2
    assert str(address) == "mesh://sales/orders@v2"
    assert address.unversioned() == Address("sales", "orders")


@pytest.mark.parametrize(
    "text",
    [
        "sales/orders",
        "mesh://Sales/orders",
        "mesh://sales",
        "mesh://sales/orders/x",
        "mesh://sales/or-ders",
        "mesh://sales/orders@2",
    ],
)
def test_malformed_addresses_are_rejected_with_the_expected_form(text):
    with pytest.raises(AddressError, match="mesh://<domain>/<product>"):
        Address.parse(text)


def test_input_alias():
    assert ProductInput.parse("mesh://sales/orders").alias == "orders"
    aliased = ProductInput.parse("mesh://sales/orders as sales_orders")
    assert (aliased.alias, str(aliased)) == ("sales_orders", "mesh://sales/orders as sales_orders")


def test_two_inputs_under_one_alias_name_both():
    with pytest.raises(AddressError, match="mesh://a/orders and mesh://b/orders are both named 'orders'"):
        parse_inputs(["mesh://a/orders", "mesh://b/orders"])
