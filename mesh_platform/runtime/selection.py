"""Selecting products by an address expression, as Dagster's selection syntax reads `+`."""

from __future__ import annotations

import re

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError


def select_related(catalog: Catalog, expression: str) -> list[Address]:
    """The products an address expression selects, as Dagster's selection syntax reads `+`:
    `ADDRESS` the product; `+ADDRESS` it and everything upstream; `ADDRESS+` it and everything
    downstream; `2+ADDRESS` / `ADDRESS+1` only that many layers."""
    match = _EXPRESSION.fullmatch(expression.strip())
    if match is None:
        raise AddressError(
            f"{expression}: not an address expression (write mesh://<domain>/<product>, +… for its inputs, …+ for its readers)"
        )
    product = catalog.product(match["address"])
    selected = [product.address]
    for sign, depth, step in (
        (match["up"], match["up_depth"], catalog.upstream),
        (match["down"], match["down_depth"], catalog.downstream),
    ):
        if not sign:
            continue
        layer, seen, remaining = [product], {product.address}, int(depth) if depth else -1
        while layer and remaining != 0:
            found = {q.address: q for item in layer for q in step(item) if q.address not in seen}
            layer = sorted(found.values(), key=lambda q: q.address)
            seen |= set(found)
            selected += [p.address for p in layer]
            remaining -= 1
    return list(dict.fromkeys(selected))


_EXPRESSION = re.compile(r"(?:(?P<up_depth>\d*)(?P<up>\+))?(?P<address>[^+\s]+)(?:(?P<down>\+)(?P<down_depth>\d*))?")
