"""Results as JSON (`core.json_values`): the one rendering `--json` and webhook bodies go through."""

from __future__ import annotations

import ast
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mesh_platform.core.address import Address
from mesh_platform.core.json_values import as_json
from mesh_platform.lineage.mesh_lineage import ColumnRef

PACKAGE = Path(__file__).parent.parent / "mesh_platform"


@dataclass(frozen=True)
class Inner:
    count: int
    note: str | None = field(default=None, metadata={"json_omit_none": True})


@dataclass(frozen=True)
class Outer:
    product: Address
    column: ColumnRef
    at: dt.datetime
    day: dt.date
    file: Path
    seconds: float = field(metadata={"json_name": "run_seconds", "json_value": lambda s: round(s, 2)})
    secret: str = field(default="", metadata={"json_name": None})
    inner: Inner = field(default=Inner(3), metadata={"json_inline": True})
    items: tuple[Inner, ...] = ()
    json_properties: ClassVar[tuple[str, ...]] = ("doubled",)

    @property
    def doubled(self) -> int:
        return self.inner.count * 2


@dataclass(frozen=True)
class Renamed:
    raw: str = field(metadata={"json_name": None})
    json_properties: ClassVar[dict[str, str]] = {"message": "summary"}

    @property
    def summary(self) -> str:
        return self.raw.upper()


def test_a_result_is_written_by_its_fields_and_their_metadata():
    at = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    outer = Outer(
        Address("sales", "orders"),
        ColumnRef(Address("sales", "orders"), "amount"),
        at,
        at.date(),
        Path("/tmp/x.yaml"),
        1.23456,
        secret="hidden",
        items=(Inner(1, "one"), Inner(2)),
    )
    rendered = as_json(outer)
    assert rendered == {
        "product": "mesh://sales/orders",
        "column": "mesh://sales/orders.amount",
        "at": "2026-12-03T09:30:00+00:00",
        "day": "2026-12-03",
        "file": "/tmp/x.yaml",
        "run_seconds": 1.23,
        "count": 3,
        "items": [{"count": 1, "note": "one"}, {"count": 2}],
        "doubled": 6,
    }
    assert json.loads(json.dumps(rendered)) == rendered  # nothing but JSON values
    assert as_json(Renamed("late")) == {"message": "LATE"}


def test_no_result_builds_its_own_json():
    """Every `--json` result and webhook body is a data class written by `as_json`: no `to_json` methods beside it."""
    found = []
    for file in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in ("to_json", "as_dict", "_as_json"):
                found.append(f"{file.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not found, "write the result as a data class (core/json_values.py) instead:\n" + "\n".join(found)
