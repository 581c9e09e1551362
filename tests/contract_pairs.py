"""The held-back contract pairs (tests/fixtures/contract_pairs/pairs.yaml): each a demo contract and the same
contract with one change, with the verdicts `mesh contract diff` must give; `write_pair` makes their two files."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
PAIRS_FILE = REPO / "tests/fixtures/contract_pairs/pairs.yaml"


@dataclass(frozen=True)
class Verdict:
    """One change mesh must list: its kind, and whether it breaks consumers and the producer."""

    kind: str
    consumer: bool
    producer: bool


@dataclass(frozen=True)
class ContractPair:
    name: str
    base: str  # <domain>/defs/<product>
    setup: tuple[dict[str, Any], ...]
    edits: tuple[dict[str, Any], ...]
    expect: tuple[Verdict, ...]

    @property
    def slug(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.name.lower()).strip("-")

    def documents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The old and the new contract; the new one's minor version raised."""
        old = yaml.safe_load((REPO / "domains" / self.base / "contract.yaml").read_text(encoding="utf-8"))
        for edit in self.setup:
            apply_edit(old, edit)
        new = copy.deepcopy(old)
        for edit in self.edits:
            apply_edit(new, edit)
        major, minor, *_ = str(old["version"]).split(".")
        new["version"] = f"{major}.{int(minor) + 1}.0"
        return old, new


def load_pairs(path: Path = PAIRS_FILE) -> list[ContractPair]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = [
        ContractPair(
            e["name"], e["base"], tuple(e.get("setup") or ()), tuple(e["edits"]), tuple(Verdict(**v) for v in e["expect"])
        )
        for e in entries
    ]
    slugs = [p.slug for p in pairs]
    assert len(set(slugs)) == len(slugs), f"{path}: two pairs share a name"
    return pairs


def write_pair(pair: ContractPair, folder: Path) -> tuple[Path, Path]:
    """The pair's two contracts as files `<slug>/old.yaml` and `<slug>/new.yaml` under `folder`."""
    target = folder / pair.slug
    target.mkdir(parents=True, exist_ok=True)
    paths = target / "old.yaml", target / "new.yaml"
    for path, document in zip(paths, pair.documents(), strict=True):
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return paths


def apply_edit(document: dict[str, Any], edit: dict[str, Any]) -> None:
    """Apply one edit of pairs.yaml: `set: {at, to}`, `remove: PATH` or `append: {at, item}`."""
    (action, argument), *rest = edit.items()
    assert not rest, f"one action per edit: {edit}"
    if action == "remove":
        parent, key = _parent(document, argument)
        del parent[key]
    elif action == "set":
        parent, key = _parent(document, argument["at"], create=True)
        if isinstance(parent, list) and key == len(parent):
            parent.append(argument["to"])
        else:
            parent[key] = argument["to"]
    elif action == "append":
        parent, key = _parent(document, argument["at"], create=True)
        if isinstance(parent, dict):
            parent.setdefault(key, [])
        parent[key].append(argument["item"])
    else:
        raise AssertionError(f"unknown edit {action!r}: use set, remove or append")


def _parent(document: Any, path: str, create: bool = False) -> tuple[Any, Any]:
    """The container holding the last segment of `path`, and that segment as a key or an index."""
    *parts, last = path.split("/")
    node = document
    for part in parts:
        key = _key(node, part, path)
        if create and isinstance(node, dict) and node.get(key) is None:
            node[key] = {}
        node = node[key]
    return node, _key(node, last, path, missing_ok=True)


def _key(node: Any, part: str, path: str, missing_ok: bool = False) -> Any:
    if isinstance(node, dict):
        return part
    if part.isdigit():
        return int(part)
    for index, item in enumerate(node):
        if isinstance(item, dict) and part in (item.get("name"), item.get("property")):
            return index
    if missing_ok:
        return len(node)
    raise AssertionError(f"{path}: no item named {part!r}")
