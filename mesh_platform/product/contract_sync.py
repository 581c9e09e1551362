"""`mesh contract sync`: a contract's columns brought up to date with what its recipe outputs, the rest of it kept.

Given the columns the recipe outputs now (`InferredColumn`s: described by DuckDB, or read
from the delivered files), the contract file is edited in place — comments, order and
layout kept:

  - a new column is added where the output has it, with its type, and the description,
    `required` and glossary term carried over from the input column it copies; it gets no
    classification, so `mesh check` asks for one until someone gives it (a comment on it
    suggests one: as the input column it copies, its most sensitive source, or a guess);
  - a column the output no longer has is removed (listed; whether that breaks a reader is
    `mesh.breaking-changes`' to judge in `mesh check`);
  - a column whose type is now of another kind (text where it was a number…) gets the new
    type, unless the recipe types its columns from the contract (a source);
  - every column that stays keeps its description, classification, term, quality and key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mesh_platform.contract.loading import contract_from
from mesh_platform.contract.model import Contract
from mesh_platform.contract.types import logical_type_of, type_family
from mesh_platform.core.errors import ContractError, MeshError
from mesh_platform.core.yaml_document import parse_yaml_document
from mesh_platform.core.yaml_round_trip import dump_round_trip, load_round_trip, write_round_trip
from mesh_platform.product.output_schema import InferredColumn


@dataclass(frozen=True)
class ColumnChange:
    kind: str  # added, removed, type
    column: str
    detail: str  # the new column's type; a removed one's; "old → new"


@dataclass(frozen=True)
class ContractSync:
    file: Path
    changes: tuple[ColumnChange, ...]
    written: bool  # False: nothing to change, or a dry run

    @property
    def unclassified(self) -> list[str]:
        return [c.column for c in self.changes if c.kind == "added"]


def sync_contract(
    contract: Contract, output: Sequence[InferredColumn], keep_types: bool = False, write: bool = True
) -> ContractSync:
    """Bring `contract`'s file up to date with `output` (see the module); with `write` False, only say what would change.

    `keep_types`: the contract types the output (a source's files), so a type of another kind is not a change."""
    file = contract.file
    document, yaml = load_round_trip(file)
    try:
        properties: CommentedSeq = document["schema"][0]["properties"]
    except (KeyError, IndexError, TypeError):
        raise MeshError(f"{file}: has no schema[0].properties list to bring up to date") from None
    wanted = {item.column.name.lower(): item for item in output}
    changes: list[ColumnChange] = []
    for index in reversed(range(len(properties))):
        entry = properties[index]
        name = str(entry.get("name"))
        if name.lower() not in wanted:
            changes.insert(0, ColumnChange("removed", name, str(entry.get("physicalType") or entry.get("logicalType") or "")))
            del properties[index]
    for entry in properties:
        inferred = wanted[str(entry.get("name")).lower()].column
        current = contract.column(str(entry.get("name"))).physical_type
        if not keep_types and type_family(current) != type_family(inferred.physical_type):
            changes.append(ColumnChange("type", str(entry["name"]), f"{current} → {inferred.physical_type}"))
            _set_type(entry, inferred.physical_type)
    position = -1  # where the output's previous column is in the list
    for item in output:
        names = [str(p.get("name")).lower() for p in properties]
        if item.column.name.lower() in names:
            position = names.index(item.column.name.lower())
            continue
        position += 1
        properties.insert(position, _new_entry(item))
        changes.append(ColumnChange("added", item.column.name, item.column.physical_type))
    if changes:
        text = dump_round_trip(document, yaml)
        try:
            contract_from(parse_yaml_document(text, file))  # what is written must load
        except ContractError as error:
            raise MeshError(f"{file}: the synced contract would not load ({error.problems[0]}); nothing was written") from None
        if write:
            write_round_trip(file, document, yaml)
    return ContractSync(file, tuple(changes), bool(changes) and write)


def _set_type(entry: CommentedMap, physical: str) -> None:
    entry["logicalType"] = logical_type_of(physical)
    if "physicalType" in entry:
        entry["physicalType"] = physical
    else:
        entry.insert(list(entry).index("logicalType") + 1, "physicalType", physical)


def _new_entry(item: InferredColumn) -> CommentedMap:
    """A new column as the contract will hold it: no classification, so `mesh check` asks for one."""
    column = item.column
    entry = CommentedMap()
    entry["name"] = column.name
    entry["logicalType"] = column.logical_type
    entry["physicalType"] = column.physical_type
    if column.description:
        entry["description"] = column.description
    if column.required:
        entry["required"] = True
    if column.settings.term:
        entry["customProperties"] = [CommentedMap(property="term", value=column.settings.term)]
    why = item.review.removesuffix(": review") if item.review else "as the input column it copies"
    entry.yaml_add_eol_comment(f"added by mesh contract sync: classify it (suggested: {column.classification}, {why})", "name")
    return entry
