"""A product's contract as a complete ODCS v3.1 document, pointing at its published Delta table.

Outside tools (datacontract-cli, catalogs) read it unchanged: the contract as
written, plus a `servers` entry for the port of its current major version and, as the
custom property `usageAgreements`, the agreements its consumers read it under.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from mesh_platform.contract.model import Contract


def export_contract(contract: Contract, port_uri: str, usage_agreements: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The contract as written, with a `servers` entry naming the Delta table at `port_uri` and the `usage_agreements`
    in force or about to start (each its id, consumer, purpose, columns, clear columns, start, end)."""
    document = copy.deepcopy(contract.document)
    if usage_agreements:
        custom = [p for p in document.get("customProperties") or [] if p.get("property") != "usageAgreements"]
        document["customProperties"] = [
            *custom,
            {
                "property": "usageAgreements",
                "value": list(usage_agreements),
                "description": "The usage agreements consumers read this product under (mesh access).",
            },
        ]
    personal = [c.name for c in contract.columns if c.is_personal]
    port = contract.address.at_major(contract.major)
    document["servers"] = [
        {
            "server": "mesh-port",
            "type": "local",
            "format": "delta",
            "path": port_uri,
            "environment": "mesh",
            "description": f"The published output port of {port}: a Delta Lake table, one version per publish."
            + (
                f" Personal columns ({', '.join(personal)}) hold keyed tokens; their clear values stay with the owning domain."
                if personal
                else ""
            ),
        }
    ]
    return document
