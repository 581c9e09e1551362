"""Comparing two versions of a contract: every change, and whether it breaks consumers.

Breaking: a column removed or renamed, a type narrowed or changed in kind, a
column made required or no longer required, uniqueness or the primary key
changed, allowed values reduced, a column made more sensitive, an SLA weakened,
access tightened. Not breaking: columns added, types widened, allowed values
extended, SLAs strengthened, access widened, descriptions and quality rules.
A breaking change needs a new major version (`version` 1.x.y → 2.0.0).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from mesh_platform.product.conformance import type_family
from mesh_platform.contract.model import ACCESS_LEVELS, CLASSIFICATIONS, Column, Contract


@dataclass(frozen=True)
class Change:
    kind: str
    field: str
    breaking: bool
    message: str


@dataclass(frozen=True)
class ContractDiff:
    old_version: str
    new_version: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def major_bumped(self) -> bool:
        return _major(self.new_version) > _major(self.old_version)

    @property
    def problem(self) -> str | None:
        """Why the new version may not ship as it is, or None."""
        if _version_tuple(self.new_version) < _version_tuple(self.old_version):
            return f"version went down ({self.old_version} → {self.new_version})"
        if self.breaking and not self.major_bumped:
            wanted = f"{_major(self.old_version) + 1}.0.0"
            return f"{len(self.breaking)} breaking change(s) need a new major version: set version to {wanted} (now {self.new_version})"
        if self.changes and self.new_version == self.old_version:
            return f"the contract changed but its version did not ({self.new_version}); raise the minor or patch number"
        return None


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    changes: list[Change] = []
    changes += _column_changes(old, new)
    changes += _access_changes(old, new)
    changes += _sla_changes(old, new)
    if old.description != new.description:
        changes.append(Change("description changed", "description", False, "the description changed"))
    old_rules, new_rules = _rules(old), _rules(new)
    for rule in sorted(new_rules - old_rules):
        changes.append(Change("quality rule added", "schema[0].quality", False, f"quality rule added: {rule}"))
    for rule in sorted(old_rules - new_rules):
        changes.append(Change("quality rule removed", "schema[0].quality", False, f"quality rule removed: {rule}"))
    return ContractDiff(old.version, new.version, tuple(changes))


def _column_changes(old: Contract, new: Contract) -> list[Change]:
    changes = []
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    removed = [c for c in old.columns if c.name not in new_columns]
    added = [c for c in new.columns if c.name not in old_columns]
    for column in removed:
        twin = next((a for a in added if _same_shape(column, a)), None)
        if twin is not None:
            added.remove(twin)
            changes.append(Change("column renamed", f"schema[0].properties.{twin.name}", True, f"column '{column.name}' renamed to '{twin.name}'"))
        else:
            changes.append(Change("column removed", f"schema[0].properties.{column.name}", True, f"column '{column.name}' removed"))
    for column in added:
        changes.append(Change("column added", f"schema[0].properties.{column.name}", False, f"column '{column.name}' ({column.physical_type}) added"))
    for name in old_columns.keys() & new_columns.keys():
        changes += _one_column_changes(old_columns[name], new_columns[name])
    return changes


def _one_column_changes(old: Column, new: Column) -> list[Change]:
    where = f"schema[0].properties.{new.name}"
    changes = []
    if old.physical_type.upper() != new.physical_type.upper():
        widened = type_family(old.physical_type) == type_family(new.physical_type) and _widens(old.physical_type, new.physical_type)
        kind = "type widened" if widened else "type narrowed"
        changes.append(Change(kind, f"{where}.physicalType", not widened, f"column '{new.name}' {old.physical_type} → {new.physical_type} ({kind.split()[1]})"))
    if old.required != new.required:
        if new.required:
            changes.append(Change("made required", f"{where}.required", True, f"column '{new.name}' made required: producers must now always fill it"))
        else:
            changes.append(Change("made optional", f"{where}.required", True, f"column '{new.name}' no longer required: consumers can meet empty values"))
    if (old.unique or old.primary_key) and not (new.unique or new.primary_key):
        changes.append(Change("uniqueness dropped", f"{where}.unique", True, f"column '{new.name}' no longer unique"))
    if old.primary_key != new.primary_key:
        changes.append(Change("primary key changed", f"{where}.primaryKey", True, f"column '{new.name}' {'joined' if new.primary_key else 'left'} the primary key"))
    old_allowed, new_allowed = _allowed_values(old), _allowed_values(new)
    if old_allowed is not None and new_allowed is not None and old_allowed != new_allowed:
        if lost := old_allowed - new_allowed:
            changes.append(Change("allowed values reduced", f"{where}.quality", True, f"column '{new.name}' no longer allows {', '.join(sorted(map(str, lost)))}"))
        if gained := new_allowed - old_allowed:
            changes.append(Change("allowed values extended", f"{where}.quality", False, f"column '{new.name}' now also allows {', '.join(sorted(map(str, gained)))}"))
    if old.classification != new.classification:
        rank = {c: i for i, c in enumerate(CLASSIFICATIONS)}
        stricter = rank.get(new.classification or "", -1) > rank.get(old.classification or "", -1)
        changes.append(Change("classification changed", f"{where}.classification", stricter, f"column '{new.name}' {old.classification} → {new.classification}" + (" (more sensitive: may be masked for consumers)" if stricter else "")))
    if old.description != new.description:
        changes.append(Change("description changed", f"{where}.description", False, f"column '{new.name}' description changed"))
    return changes


def _access_changes(old: Contract, new: Contract) -> list[Change]:
    changes = []
    if old.access != new.access:
        tighter = ACCESS_LEVELS.index(new.access) > ACCESS_LEVELS.index(old.access)
        changes.append(Change("access tightened" if tighter else "access widened", "customProperties.access", tighter, f"access {old.access} → {new.access}"))
    elif new.access == "restricted" and set(old.consumers) != set(new.consumers):
        if lost := set(old.consumers) - set(new.consumers):
            changes.append(Change("access tightened", "customProperties.consumers", True, f"consumers removed: {', '.join(sorted(lost))}"))
        if gained := set(new.consumers) - set(old.consumers):
            changes.append(Change("access widened", "customProperties.consumers", False, f"consumers added: {', '.join(sorted(gained))}"))
    return changes


def _sla_changes(old: Contract, new: Contract) -> list[Change]:
    changes = []
    for name in ("frequency", "latency"):
        before, after = getattr(old, name), getattr(new, name)
        if before is None and after is None:
            continue
        if after is None:
            changes.append(Change("SLA weakened", f"slaProperties.{name}", True, f"{name} SLA removed"))
        elif before is None:
            changes.append(Change("SLA strengthened", f"slaProperties.{name}", False, f"{name} SLA added ({after.duration})"))
        elif after.duration > before.duration:
            changes.append(Change("SLA weakened", f"slaProperties.{name}", True, f"{name} {before.duration} → {after.duration}"))
        elif after.duration < before.duration:
            changes.append(Change("SLA strengthened", f"slaProperties.{name}", False, f"{name} {before.duration} → {after.duration}"))
    return changes


def _same_shape(a: Column, b: Column) -> bool:
    """A removed and an added column alike in all but name: a rename."""
    return (a.physical_type, a.logical_type, a.description, a.classification) == (b.physical_type, b.logical_type, b.description, b.classification)


def _allowed_values(column: Column) -> frozenset | None:
    for rule in column.quality:
        values = (rule.get("arguments") or {}).get("validValues")
        if rule.get("metric") == "invalidValues" and values is not None:
            return frozenset(values)
    return None


def _rules(contract: Contract) -> set[str]:
    entries = [*contract.quality, *(q for c in contract.columns for q in c.quality)]
    return {str(e.get("name") or e.get("metric") or e.get("type")) for e in entries if e.get("metric") != "invalidValues"}


@functools.cache
def _widens(old: str, new: str) -> bool:
    import duckdb

    with duckdb.connect() as connection:
        return bool(connection.sql(f"SELECT can_cast_implicitly(NULL::{old}, NULL::{new})").fetchall()[0][0]) and not _decimal_shrinks(old, new)


def _decimal_shrinks(old: str, new: str) -> bool:
    """DuckDB calls DECIMAL(18,2) → DECIMAL(12,2) implicit; for a contract it narrows."""
    import re

    pattern = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)", re.IGNORECASE)
    a, b = pattern.match(old), pattern.match(new)
    if not (a and b):
        return False
    return int(b[1]) - int(b[2]) < int(a[1]) - int(a[2]) or int(b[2]) < int(a[2])


def _major(version: str) -> int:
    return _version_tuple(version)[0]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("+")[0].split("."))
