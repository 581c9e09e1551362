"""A product's contract as a complete ODCS v3.1 document, pointing at its published Delta table.

Outside tools (datacontract-cli, catalogs) read it unchanged: the contract as
written, plus a `servers` entry for the port of its current major version.
"""

from __future__ import annotations

import copy
from typing import Any

from mesh_platform.contract.model import Contract


def export_contract(contract: Contract, port_uri: str) -> dict[str, Any]:
    """The contract as written, with a `servers` entry naming the Delta table at `port_uri`."""
    document = copy.deepcopy(contract.document)
    personal = [c.name for c in contract.columns if c.is_personal]
    document["servers"] = [
        {
            "server": "mesh-port",
            "type": "local",
            "format": "delta",
            "path": port_uri,
            "environment": "mesh",
            "description": f"The published output port of {contract.address.at_major(contract.major)}: a Delta Lake table, one version per publish."
            + (f" Personal columns ({', '.join(personal)}) hold keyed tokens; their clear values stay with the owning domain." if personal else ""),
        }
    ]
    return document
