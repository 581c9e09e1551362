"""A product's inputs: other products named by address, each seen under an alias.

In a recipe: `mesh://sales/orders` is read as the table `orders`;
`mesh://sales/orders as sales_orders` as `sales_orders` (to tell apart two
inputs with the same product name, or to pick a clearer name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mesh_platform.core.address import NAME_PATTERN, Address
from mesh_platform.core.errors import AddressError

_ALIAS = re.compile(rf"^(?P<address>\S+)(?:\s+as\s+(?P<alias>{NAME_PATTERN}))?$")
# What an input looks like, for schemas (the recipe's JSON schema, `dg check yaml`).
INPUT_PATTERN = rf"^mesh://{NAME_PATTERN}/{NAME_PATTERN}(@v[0-9]+)?(\s+as\s+{NAME_PATTERN})?$"


@dataclass(frozen=True)
class ProductInput:
    address: Address
    alias: str

    @classmethod
    def parse(cls, text: str) -> ProductInput:
        match = _ALIAS.match(text.strip())
        if not match:
            raise AddressError(f"input '{text}' is not 'ADDRESS' or 'ADDRESS as ALIAS' (alias: lowercase identifier)")
        address = Address.parse(match["address"])
        return cls(address, match["alias"] or address.product)

    def __str__(self) -> str:
        return str(self.address) if self.alias == self.address.product else f"{self.address} as {self.alias}"


def parse_inputs(texts: Iterable[str]) -> tuple[ProductInput, ...]:
    """Parse inputs; two inputs under one alias is an error that names both."""
    inputs = tuple(ProductInput.parse(t) for t in texts)
    seen: dict[str, ProductInput] = {}
    for item in inputs:
        if item.alias in seen:
            raise AddressError(
                f"inputs {seen[item.alias].address} and {item.address} are both named '{item.alias}'; "
                f"give one an alias: '{item.address} as <name>'"
            )
        seen[item.alias] = item
    return inputs
