"""A product's contract as a complete ODCS v3.1 document, pointing at its published Delta table.

Outside tools (datacontract-cli, catalogs) read it unchanged: the contract as
written, plus a `servers` entry for the port of its current major version.
"""

from __future__ import annotations

import copy
from typing import Any

from mesh_platform.core.address import Address
from mesh_platform.catalog.catalog import Catalog


def export_contract(catalog: Catalog, address: Address | str) -> dict[str, Any]:
    product = catalog.product(address)
    port = catalog.port(product.address)
    document = copy.deepcopy(product.contract.document)
    document["servers"] = [
        {
            "server": "mesh-port",
            "type": "local",
            "format": "delta",
            "path": port.uri,
            "environment": "mesh",
            "description": f"The published output port of {port.address}: a Delta Lake table, one version per publish.",
        }
    ]
    return document
