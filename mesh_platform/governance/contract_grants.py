"""A usage agreement's grant, written into (and taken out of) the product's contract file in place.

Approving an agreement makes the contract say what the agreement grants, so that everything that reads
contracts — the read path, `mesh check`, the store policies, an exported contract — sees it: the consumer
joins `consumers` (an `internal` product becomes `restricted` to it; a `public` one needs no entry), joins
the `unmaskedFor` of each column it was granted in clear, and the agreement's id joins the contract's
`agreements` custom property. Revoking takes them out again (a restricted product left with no consumer
becomes internal). The file keeps its comments, order, quotes and indentation (`core.yaml_round_trip`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mesh_platform.core.errors import MeshError
from mesh_platform.core.yaml_round_trip import load_round_trip, write_round_trip


def write_grant(contract_file: Path, consumer: str, clear: tuple[str, ...], agreement_id: str) -> None:
    """Grant `consumer` the product (and `clear` columns in clear) under the agreement `agreement_id`."""
    document, yaml = load_round_trip(contract_file)
    top = _custom(document)
    access = _value(top, "access") or "internal"
    if access == "internal":
        _set(top, "access", "restricted")
        access = "restricted"
    if access == "restricted":
        _add(top, "consumers", consumer)
    for name in clear:
        _add(_custom(_column(document, name, contract_file)), "unmaskedFor", consumer)
    _add(top, "agreements", agreement_id)
    write_round_trip(contract_file, document, yaml)


def remove_grant(
    contract_file: Path,
    consumer: str,
    clear: tuple[str, ...],
    agreement_id: str,
    keep_reading: bool,
    keep_clear: tuple[str, ...] = (),
) -> None:
    """Take the agreement's grant out: its id, the consumer's clear columns (but `keep_clear`, which another agreement
    in force grants) and, unless `keep_reading` (another agreement in force), the consumer's `consumers` entry."""
    document, yaml = load_round_trip(contract_file)
    top = _custom(document)
    _remove(top, "agreements", agreement_id)
    for name in set(clear) - set(keep_clear):
        _remove(_custom(_column(document, name, contract_file)), "unmaskedFor", consumer)
    if not keep_reading and _value(top, "access") == "restricted":
        _remove(top, "consumers", consumer)
        if not _value(top, "consumers"):
            _set(top, "access", "internal")  # restricted to nobody is no access level: the domain's own again
    write_round_trip(contract_file, document, yaml)


def _custom(node: CommentedMap) -> CommentedSeq:
    """The node's `customProperties` list (made when it has none)."""
    if not isinstance(node.get("customProperties"), list):
        node["customProperties"] = CommentedSeq()
    return node["customProperties"]


def _entry(properties: CommentedSeq, name: str) -> CommentedMap | None:
    return next((e for e in properties if isinstance(e, CommentedMap) and e.get("property") == name), None)


def _value(properties: CommentedSeq, name: str) -> Any:
    entry = _entry(properties, name)
    return entry.get("value") if entry is not None else None


def _set(properties: CommentedSeq, name: str, value: Any) -> None:
    entry = _entry(properties, name)
    if entry is None:
        properties.append(CommentedMap([("property", name), ("value", value)]))
    else:
        entry["value"] = value


def _add(properties: CommentedSeq, name: str, item: str) -> None:
    """Add `item` to the list property `name` (made when missing), once; written flow-style like `[a, b]`."""
    entry = _entry(properties, name)
    if entry is None or not isinstance(entry.get("value"), list):
        values = CommentedSeq()
        values.fa.set_flow_style()
        _set(properties, name, values)
        entry = _entry(properties, name)
        assert entry is not None, "just set"
    if item not in entry["value"]:
        entry["value"].append(item)


def _remove(properties: CommentedSeq, name: str, item: str) -> None:
    """Remove `item` from the list property `name`; the property goes when its list is left empty."""
    entry = _entry(properties, name)
    if entry is None or not isinstance(entry.get("value"), list):
        return
    while item in entry["value"]:
        entry["value"].remove(item)
    if not entry["value"]:
        properties.remove(entry)


def _column(document: CommentedMap, name: str, file: Path) -> CommentedMap:
    for table in document.get("schema") or []:
        for column in table.get("properties") or []:
            if isinstance(column, CommentedMap) and column.get("name") == name:
                return column
    raise MeshError(f"{file}: schema: no column '{name}' — the agreement names a column the contract does not have")
