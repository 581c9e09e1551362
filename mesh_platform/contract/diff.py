"""Comparing two versions of a contract: every change, and whom it breaks.

What breaks is decided in one place, the `RULES` table, keyed by the field that
changed and how it changed. Each rule carries two verdicts, as datacontract-cli
grades changes: as a consumer of the data (a query or an assumption about the
data that may fail) and as its producer (an obligation the build now has to
meet). The functions below only find changes; they never decide what breaks. A
change breaking consumers needs a new major version (`version` 1.x.y → 2.0.0).
`mesh contract rules` prints the table.

The mesh's settings (`contract.settings`) are compared field by field over their
models, so no setting can be missed: one the functions below do not judge by a
rule of their own is listed as `<setting> changed`, with the table's rule for
(setting, changed) when it has one, else `UNJUDGED`: breaking both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mesh_platform.contract.model import CLASSIFICATIONS, DRAFT_STATUSES, Column, Contract
from mesh_platform.contract.settings import ACCESS_LEVELS, ColumnSettings, ContractSettings, RelationshipSettings, SettingsModel
from mesh_platform.contract.types import type_family, widens


@dataclass(frozen=True)
class ChangeRule:
    """How one kind of change is judged: the name it is shown under, whether it breaks consumers, why,
    and whether it breaks the producer (a new obligation its build must meet)."""

    kind: str
    breaking: bool
    why: str
    producer: bool = False


# (field, how it changed) → the rule. The one table deciding whom a change breaks: consumers, the producer.
RULES: dict[tuple[str, str], ChangeRule] = {
    ("column", "removed"): ChangeRule("column removed", True, "consumers selecting the column fail"),
    ("column", "renamed"): ChangeRule("column renamed", True, "consumers selecting the old name fail", producer=True),
    ("column", "added"): ChangeRule("column added", False, "consumers select columns by name", producer=True),
    ("physicalType", "narrowed"): ChangeRule(
        "type narrowed", True, "values or operations consumers rely on no longer fit", producer=True
    ),
    ("physicalType", "widened"): ChangeRule(
        "type widened", True, "consumers may newly meet values that do not fit the type they read them into"
    ),
    ("physicalType", "widened compatibly"): ChangeRule(
        "type widened", False, "the column declares widening: compatible: consumers read it into a type wide enough"
    ),
    ("widening", "changed"): ChangeRule("widening changed", False, "a promise about later type changes; the data did not change"),
    ("required", "added"): ChangeRule(
        "made required",
        False,
        "consumers meet no empty value they could not meet before; the producer must always fill it",
        producer=True,
    ),
    ("required", "removed"): ChangeRule("made optional", True, "consumers can meet empty values"),
    ("unique", "removed"): ChangeRule("uniqueness dropped", True, "consumers joining on the column may repeat rows"),
    ("unique", "added"): ChangeRule("uniqueness added", False, "consumers may now join on the column", producer=True),
    ("primaryKey", "changed"): ChangeRule("primary key changed", True, "what identifies a row changed"),
    ("validValues", "reduced"): ChangeRule(
        "allowed values reduced",
        False,
        "every value consumers see was allowed before; the producer's rows with the dropped values are refused",
        producer=True,
    ),
    ("validValues", "extended"): ChangeRule(
        "allowed values extended", True, "consumers can meet values they never had to handle"
    ),
    ("classification", "raised"): ChangeRule("classification changed", True, "more sensitive: other domains may see it masked"),
    ("classification", "lowered"): ChangeRule("classification changed", False, "less sensitive: readers see as much or more"),
    ("column description", "changed"): ChangeRule("description changed", False, "documentation only"),
    ("description", "changed"): ChangeRule("description changed", False, "documentation only"),
    ("access", "tightened"): ChangeRule("access tightened", True, "some consumers lose access"),
    ("access", "widened"): ChangeRule("access widened", False, "every consumer keeps access"),
    ("consumers", "removed"): ChangeRule("access tightened", True, "the removed domains lose access"),
    ("consumers", "added"): ChangeRule("access widened", False, "every consumer keeps access"),
    # An agreement narrows its consumer's reads (columns, clear values, dates); what grants the read at all is the
    # access level, the consumers and unmaskedFor, judged by their own rows (an approval or a revoke changes them too).
    ("agreements", "removed"): ChangeRule(
        "agreements removed", False, "their consumers read as the rest of the contract grants (access, consumers)"
    ),
    ("agreements", "added"): ChangeRule(
        "agreements added", False, "each narrows only the consumer that asked for it, to what it asked for"
    ),
    ("usageAgreements", "changed"): ChangeRule(
        "usage agreements changed", False, "what consumers read under, as an export lists it; the data did not change"
    ),
    ("unmaskedFor", "removed"): ChangeRule("access tightened", True, "the removed domains see the column masked"),
    ("unmaskedFor", "added"): ChangeRule("access widened", False, "the added domains see the column in clear"),
    ("masking", "tightened"): ChangeRule("access tightened", True, "readers outside the domain lose the column (drop, not hash)"),
    ("masking", "loosened"): ChangeRule(
        "access widened", False, "readers outside the domain get a hashed column where they had none"
    ),
    ("sla", "removed"): ChangeRule("SLA weakened", True, "consumers lose a promise about freshness"),
    ("sla", "weakened"): ChangeRule("SLA weakened", True, "data may arrive later than consumers were promised"),
    ("sla", "added"): ChangeRule("SLA strengthened", False, "a new promise", producer=True),
    ("sla", "strengthened"): ChangeRule("SLA strengthened", False, "data arrives sooner", producer=True),
    ("retention", "removed"): ChangeRule("SLA weakened", True, "consumers lose a promise about how long past data stays"),
    ("retention", "shortened"): ChangeRule("SLA weakened", True, "past data consumers read may be gone sooner"),
    ("retention", "added"): ChangeRule("SLA strengthened", False, "a new promise: past data is kept", producer=True),
    ("retention", "lengthened"): ChangeRule("SLA strengthened", False, "past data is kept longer", producer=True),
    ("quality rule", "added"): ChangeRule("quality rule added", False, "stricter checks on the producer", producer=True),
    ("quality rule", "removed"): ChangeRule(
        "quality rule removed", True, "data the rule refused may now be published: a guarantee consumers relied on is gone"
    ),
    ("quality rule", "tightened"): ChangeRule(
        "quality threshold tightened", False, "data that passed before may now be refused", producer=True
    ),
    ("quality rule", "loosened"): ChangeRule(
        "quality threshold loosened", True, "data consumers relied on being refused may now pass"
    ),
    ("quality rule", "changed"): ChangeRule("quality rule changed", True, "what the rule guarantees changed", producer=True),
    ("relationship", "added"): ChangeRule("relationship added", False, "rows referencing nothing are now refused", producer=True),
    ("relationship", "removed"): ChangeRule("relationship removed", True, "consumers joining on the columns may miss rows"),
    ("relationship", "changed"): ChangeRule(
        "relationship changed", True, "the columns now reference other rows, or another way", producer=True
    ),
    ("severity", "raised"): ChangeRule("rule made blocking", False, "a failure now stops publishing", producer=True),
    ("severity", "lowered"): ChangeRule("rule no longer blocking", True, "data failing the rule may now be published"),
    ("bound", "tightened"): ChangeRule("bound tightened", False, "every value consumers could see still fits", producer=True),
    ("bound", "loosened"): ChangeRule("bound loosened", True, "consumers can meet values outside the old bound"),
    ("format", "changed"): ChangeRule("format changed", True, "values may no longer have the old shape", producer=True),
    ("term", "changed"): ChangeRule("term changed", True, "the column now means something else", producer=True),
    ("partitioning", "changed"): ChangeRule(
        "partitioning changed", True, "partition-aware readers and backfills see other keys", producer=True
    ),
    ("status", "published"): ChangeRule(
        "status changed", False, "a draft becomes readable by other domains; its first active version starts its history"
    ),
    ("status", "drafted"): ChangeRule("status changed", True, "other domains may not read a draft"),
    ("status", "deprecated"): ChangeRule("status changed", False, "still readable; its readers are told to move away"),
    ("status", "retired"): ChangeRule("status changed", True, "other domains may no longer read it"),
    ("status", "reinstated"): ChangeRule("status changed", False, "readable again as before"),
    ("team", "changed"): ChangeRule("owner changed", False, "who answers for the product changed; the data did not"),
    ("tags", "changed"): ChangeRule("tags changed", False, "catalog labels only (`mesh catalog --tag`)"),
    ("tier", "changed"): ChangeRule("tier changed", False, "catalog label only (`mesh catalog --tag`)"),
    ("servePreviousMajorUntil", "changed"): ChangeRule(
        "previous major served until changed",
        False,
        "how long the previous major stays served (its readers are told the date); this version's data did not change",
    ),
    ("rebuildLatePartitions", "changed"): ChangeRule(
        "rebuilding late partitions changed",
        False,
        "whether a day built again upstream is rebuilt here; what a build publishes did not change",
    ),
}

# How a changed field no rule names is judged, until the table says otherwise: it may break anyone.
UNJUDGED_WHY = "no rule judges this field yet: it may break consumers and the producer"


def rule_for(subject: str, how: str) -> ChangeRule:
    """The table's rule for a change; for a setting's change the table does not name, `<setting> changed`, breaking both."""
    return RULES.get((subject, how)) or ChangeRule(f"{subject} changed", True, UNJUDGED_WHY, producer=True)


@dataclass(frozen=True)
class Change:
    kind: str
    field: str
    breaking: bool  # for consumers: what the exit code follows
    message: str
    producer_breaking: bool = False  # a new obligation the producer's build must meet
    column: str | None = None  # the column consumers read that the change is about (a rename: its old name)


@dataclass(frozen=True)
class ContractDiff:
    old_version: str
    new_version: str
    changes: tuple[Change, ...] = field(default_factory=tuple)
    old_status: str = "active"

    @property
    def drafting(self) -> bool:
        """Whether the old contract is a draft: its changes, and its first active version, need no new version."""
        return self.old_status in DRAFT_STATUSES

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
        if self.drafting:
            return None
        if self.breaking and not self.major_bumped:
            wanted = f"{_major(self.old_version) + 1}.0.0"
            count = len(self.breaking)
            return f"{count} breaking change(s) need a new major version: set version to {wanted} (now {self.new_version})"
        if self.changes and self.new_version == self.old_version:
            return f"the contract changed but its version did not ({self.new_version}); raise the minor or patch number"
        return None


def _change(subject: str, how: str, where: str, message: str, column: str | None = None) -> Change:
    rule = rule_for(subject, how)
    if column is None and (match := _COLUMN_FIELD.match(where)):
        column = match[1]
    return Change(rule.kind, where, rule.breaking, message, rule.producer, column)


_COLUMN_FIELD = re.compile(r"^schema\[0\]\.properties\.([^.]+)")

# The settings the functions below judge by rules of their own (by field name); `_setting_changes` lists any other.
JUDGED: dict[type[SettingsModel], frozenset[str]] = {
    ContractSettings: frozenset({"access", "consumers", "agreements", "tier"}),
    ColumnSettings: frozenset({"term", "masking", "unmasked_for", "partition_grain", "partition_start"}),
    RelationshipSettings: frozenset({"product", "severity"}),
}


def _setting_changes(old: SettingsModel, new: SettingsModel, where: str, said: str = "") -> list[Change]:
    """Every field of the settings model (its class, and the classes it extends) that changed and no function here
    judges: `<setting> <old> → <new>` under `where`'s customProperties, judged by the table's (setting, changed)."""
    judged = frozenset().union(*(names for model, names in JUDGED.items() if isinstance(new, model)))
    changes = []
    for name in type(new).model_fields:
        was, now = getattr(old, name, None), getattr(new, name, None)
        if name not in judged and was != now:
            setting = type(new).setting(name)
            at = f"{where}.customProperties.{setting}" if where else f"customProperties.{setting}"
            changes.append(_change(setting, "changed", at, f"{said}{setting} {_shown(was)} → {_shown(now)}"))
    return changes


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    changes: list[Change] = []
    changes += _column_changes(old, new)
    changes += _access_changes(old, new)
    changes += _setting_changes(old.settings, new.settings, "")
    changes += _sla_changes(old, new)
    if old.description != new.description:
        changes.append(_change("description", "changed", "description", "the description changed"))
    if _table_description(old) != _table_description(new):
        changes.append(_change("description", "changed", "schema[0].description", "the table's description changed"))
    changes += _status_changes(old, new)
    changes += _catalog_changes(old, new)
    old_rules, new_rules = _rules(old), _rules(new)
    for rule in sorted(new_rules.keys() - old_rules.keys()):
        changes.append(_change("quality rule", "added", "schema[0].quality", f"quality rule added: {rule}"))
    for rule in sorted(old_rules.keys() - new_rules.keys()):
        changes.append(_change("quality rule", "removed", "schema[0].quality", f"quality rule removed: {rule}"))
    for rule in sorted(old_rules.keys() & new_rules.keys()):
        changes += _rule_changes(rule, old_rules[rule], new_rules[rule])
    changes += _relationship_changes(old, new)
    return ContractDiff(old.version, new.version, tuple(changes), old.status)


def _relationship_changes(old: Contract, new: Contract) -> list[Change]:
    """Foreign keys, matched by their columns: added, removed, pointed elsewhere, made blocking or not."""
    before, after = ({r.columns: r for r in c.relationships} for c in (old, new))
    changes = []
    for columns in [*before, *(c for c in after if c not in before)]:
        was, now = before.get(columns), after.get(columns)
        # One column's key is about that column (its readers); a composite key about the whole table.
        where = f"schema[0].properties.{columns[0]}.relationships"
        if len(columns) > 1:
            where = f"schema[0].relationships[{','.join(columns)}]"
        if was is None:
            changes.append(_change("relationship", "added", where, f"relationship added: {now}"))
        elif now is None:
            changes.append(_change("relationship", "removed", where, f"relationship removed: {was}"))
        else:
            if (was.product, was.references) != (now.product, now.references):
                changes.append(_change("relationship", "changed", where, f"relationship {was} → {now.target}"))
            if was.type != now.type:
                changes.append(
                    _change("relationship", "changed", f"{where}.type", f"relationship {now} type {was.type} → {now.type}")
                )
            level_was, level = was.settings.severity, now.settings.severity
            if level_was != level:
                said = f"relationship {now} severity {level_was} → {level}"
                changes.append(_change("severity", "raised" if level == "error" else "lowered", f"{where}.severity", said))
            changes += _setting_changes(was.settings, now.settings, where, f"relationship {now} ")
    return changes


def _column_changes(old: Contract, new: Contract) -> list[Change]:
    changes = []
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    sole_key = (_sole_key(old), _sole_key(new))  # a one-column key, before and after
    removed = [c for c in old.columns if c.name not in new_columns]
    added = [c for c in new.columns if c.name not in old_columns]
    by_shape: dict[tuple, list[Column]] = {}  # the added columns of each shape, in order: a rename takes the first left
    for column in reversed(added):
        by_shape.setdefault(_shape(column), []).append(column)
    twins: set[str] = set()
    for column in removed:
        if alike := by_shape.get(_shape(column)):
            twin = alike.pop()
            twins.add(twin.name)
            changes.append(
                _change(
                    "column",
                    "renamed",
                    f"schema[0].properties.{twin.name}",
                    f"column '{column.name}' renamed to '{twin.name}'",
                    column.name,
                )
            )
        else:
            changes.append(_change("column", "removed", f"schema[0].properties.{column.name}", f"column '{column.name}' removed"))
    for column in added:
        if column.name not in twins:
            changes.append(
                _change(
                    "column",
                    "added",
                    f"schema[0].properties.{column.name}",
                    f"column '{column.name}' ({column.physical_type}) added",
                )
            )
    for name in (c.name for c in old.columns if c.name in new_columns):  # in the contract's order, not a set's
        changes += _one_column_changes(old_columns[name], new_columns[name], sole_key)
    return changes


def _sole_key(contract: Contract) -> bool:
    return sum(c.primary_key for c in contract.columns) == 1


def _one_column_changes(old: Column, new: Column, sole_key: tuple[bool, bool]) -> list[Change]:
    where = f"schema[0].properties.{new.name}"
    changes = []
    if old.physical_type.upper() != new.physical_type.upper():
        how = (
            "widened"
            if type_family(old.physical_type) == type_family(new.physical_type) and widens(old.physical_type, new.physical_type)
            else "narrowed"
        )
        if how == "widened" and new.settings.widening == "compatible":
            how = "widened compatibly"
        changes.append(
            _change(
                "physicalType",
                how,
                f"{where}.physicalType",
                f"column '{new.name}' {old.physical_type} → {new.physical_type} ({how})",
            )
        )
    if old.required != new.required:
        if new.required:
            changes.append(
                _change(
                    "required",
                    "added",
                    f"{where}.required",
                    f"column '{new.name}' made required: producers must now always fill it",
                )
            )
        else:
            changes.append(
                _change(
                    "required",
                    "removed",
                    f"{where}.required",
                    f"column '{new.name}' no longer required: consumers can meet empty values",
                )
            )
    # A column is unique when it says so, or when it alone is the primary key (one column of several is not).
    was_unique, unique = (c.unique or (c.primary_key and sole) for c, sole in zip((old, new), sole_key, strict=True))
    if was_unique != unique:
        changes.append(
            _change(
                "unique",
                "added" if unique else "removed",
                f"{where}.unique",
                f"column '{new.name}' {'now' if unique else 'no longer'} unique",
            )
        )
    if old.primary_key != new.primary_key:
        changes.append(
            _change(
                "primaryKey",
                "changed",
                f"{where}.primaryKey",
                f"column '{new.name}' {'joined' if new.primary_key else 'left'} the primary key",
            )
        )
    old_allowed, new_allowed = _allowed_values(old), _allowed_values(new)
    if old_allowed is not None and new_allowed is not None and old_allowed != new_allowed:
        if lost := old_allowed - new_allowed:
            changes.append(
                _change(
                    "validValues",
                    "reduced",
                    f"{where}.quality",
                    f"column '{new.name}' no longer allows {', '.join(sorted(map(str, lost)))}",
                )
            )
        if gained := new_allowed - old_allowed:
            changes.append(
                _change(
                    "validValues",
                    "extended",
                    f"{where}.quality",
                    f"column '{new.name}' now also allows {', '.join(sorted(map(str, gained)))}",
                )
            )
    if old.classification != new.classification:
        rank = {c: i for i, c in enumerate(CLASSIFICATIONS)}
        raised = rank.get(new.classification or "", -1) > rank.get(old.classification or "", -1)
        note = " (more sensitive: may be masked for consumers)" if raised else ""
        changes.append(
            _change(
                "classification",
                "raised" if raised else "lowered",
                f"{where}.classification",
                f"column '{new.name}' {old.classification} → {new.classification}{note}",
            )
        )
    if old.description != new.description:
        changes.append(
            _change("column description", "changed", f"{where}.description", f"column '{new.name}' description changed")
        )
    changes += _option_changes(old, new, where)
    changes += _masking_changes(old, new, where)
    if old.settings.term != new.settings.term:
        changes.append(
            _change(
                "term",
                "changed",
                f"{where}.customProperties.term",
                f"column '{new.name}' term {old.settings.term or '(none)'} → {new.settings.term or '(none)'}",
            )
        )
    partition = ("partitioned", "partitionKeyPosition", "partitionGrain", "partitionStart")
    before, after = (
        (c.spec.partitioned, c.spec.partitionKeyPosition, c.settings.partition_grain, c.settings.partition_start)
        for c in (old, new)
    )
    if before != after:
        said = ", ".join(f"{name} {b} → {a}" for name, b, a in zip(partition, before, after) if b != a)
        changes.append(_change("partitioning", "changed", f"{where}.partitioned", f"column '{new.name}' partitioning: {said}"))
    changes += _setting_changes(old.settings, new.settings, where, f"column '{new.name}' ")
    return changes


# logicalTypeOptions that bound values from below or from above; the others (pattern, format, …) shape them.
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _option_changes(old: Column, new: Column, where: str) -> list[Change]:
    """Changes of a column's logicalTypeOptions: a bound tightened (added, or moved inward) or loosened (removed,
    or moved outward); any other option changed."""
    changes = []
    before, after = old.logical_type_options, new.logical_type_options
    for option in sorted(before.keys() | after.keys()):
        was, now = before.get(option), after.get(option)
        if was == now:
            continue
        said = f"column '{new.name}' {option}: {_shown(was)} → {_shown(now)}"
        if option in LOWER_BOUNDS or option in UPPER_BOUNDS:
            inward = now is not None and (was is None or (now > was if option in LOWER_BOUNDS else now < was))
            changes.append(_change("bound", "tightened" if inward else "loosened", f"{where}.logicalTypeOptions.{option}", said))
        else:
            changes.append(_change("format", "changed", f"{where}.logicalTypeOptions.{option}", said))
    return changes


# A rule's threshold operators, and which way each makes the rule stricter as its value grows.
STRICTER_AS_IT_GROWS = {
    "mustBeGreaterThan": True,
    "mustBeGreaterOrEqualTo": True,
    "mustBeLessThan": False,
    "mustBeLessOrEqualTo": False,
}
BLOCKING = ("error",)


def _rule_changes(name: str, old: dict, new: dict) -> list[Change]:
    """Changes of one quality rule kept under the same name: its threshold, its other settings, its severity."""
    where, changes, judged = f"quality[{name}]", [], {"severity", "description", "name"}
    for operator, stricter_up in STRICTER_AS_IT_GROWS.items():
        was, now = old.get(operator), new.get(operator)
        if was != now and isinstance(was, int | float) and isinstance(now, int | float) and _number(was) and _number(now):
            tighter = (now > was) == stricter_up
            changes.append(
                _change("quality rule", "tightened" if tighter else "loosened", where, f"rule '{name}' {operator}: {was} → {now}")
            )
            judged.add(operator)
    others = sorted(key for key in old.keys() | new.keys() if key not in judged and old.get(key) != new.get(key))
    if others:
        said = "; ".join(f"{key}: {_shown(old.get(key))} → {_shown(new.get(key))}" for key in others)
        changes.append(_change("quality rule", "changed", where, f"rule '{name}' {said}"))
    was_blocking, blocking = (old.get("severity") or "error") in BLOCKING, (new.get("severity") or "error") in BLOCKING
    if was_blocking != blocking:
        said = f"rule '{name}' severity {old.get('severity') or 'error'} → {new.get('severity') or 'error'}"
        changes.append(_change("severity", "raised" if blocking else "lowered", f"{where}.severity", said))
    return changes


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return f"[{', '.join(map(str, value))}]"
    return "(none)" if value is None else str(value)


def _access_changes(old: Contract, new: Contract) -> list[Change]:
    """Who may read the product: its access level, a restricted product's consumers, the agreements its grants come from."""
    changes = []
    before, after = old.settings, new.settings
    if before.access != after.access:
        tighter = ACCESS_LEVELS.index(after.access) > ACCESS_LEVELS.index(before.access)
        said = f"access {before.access} → {after.access}"
        changes.append(_change("access", "tightened" if tighter else "widened", "customProperties.access", said))
    elif after.access == "restricted":
        changes += _listed_changes("consumers", before.consumers, after.consumers, "consumers")
    changes += _listed_changes("agreements", before.agreements, after.agreements, "agreements")
    return changes


def _listed_changes(setting: str, before: tuple[str, ...], after: tuple[str, ...], said: str) -> list[Change]:
    """A contract setting listing names: those removed, then those added (their order aside)."""
    changes = []
    if lost := set(before) - set(after):
        changes.append(_change(setting, "removed", f"customProperties.{setting}", f"{said} removed: {', '.join(sorted(lost))}"))
    if gained := set(after) - set(before):
        changes.append(_change(setting, "added", f"customProperties.{setting}", f"{said} added: {', '.join(sorted(gained))}"))
    return changes


def _masking_changes(old: Column, new: Column, where: str) -> list[Change]:
    """Who outside the owning domain sees a personal column, and how: its `unmaskedFor` domains and its `masking`."""
    if not (old.is_personal and new.is_personal):
        return []  # a column becoming personal or not is a classification change
    changes = []
    before, after = old.settings, new.settings
    if lost := set(before.unmasked_for) - set(after.unmasked_for):
        changes.append(
            _change(
                "unmaskedFor",
                "removed",
                f"{where}.customProperties.unmaskedFor",
                f"column '{new.name}' masked again for {', '.join(sorted(lost))}",
            )
        )
    if gained := set(after.unmasked_for) - set(before.unmasked_for):
        changes.append(
            _change(
                "unmaskedFor",
                "added",
                f"{where}.customProperties.unmaskedFor",
                f"column '{new.name}' in clear for {', '.join(sorted(gained))}",
            )
        )
    if before.masking != after.masking:
        how = "tightened" if after.masking == "drop" else "loosened"
        said = f"column '{new.name}' masking {before.masking} → {after.masking}"
        changes.append(_change("masking", how, f"{where}.customProperties.masking", said))
    return changes


def _sla_changes(old: Contract, new: Contract) -> list[Change]:
    """Frequency and latency are stronger when shorter; retention when longer."""
    changes = []
    for name, subject, longer_is_weaker in (
        ("frequency", "sla", True),
        ("latency", "sla", True),
        ("retention", "retention", False),
    ):
        before, after = getattr(old, name), getattr(new, name)
        where = f"slaProperties.{name}"
        if before is None and after is None:
            continue
        if after is None:
            changes.append(_change(subject, "removed", where, f"{name} SLA removed"))
        elif before is None:
            changes.append(_change(subject, "added", where, f"{name} SLA added ({after.duration})"))
        elif after.duration != before.duration:
            weaker = (after.duration > before.duration) == longer_is_weaker
            how = (
                ("weakened" if weaker else "strengthened")
                if subject == "sla"
                else ("lengthened" if after.duration > before.duration else "shortened")
            )
            changes.append(_change(subject, how, where, f"{name} {before.duration} → {after.duration}"))
    return changes


def _status_changes(old: Contract, new: Contract) -> list[Change]:
    """A move between ODCS statuses, judged by who may read the product before and after (proposed and draft are alike)."""
    if old.status == new.status or (old.is_draft and new.is_draft):
        return []
    if new.is_draft:
        how = "drafted"
    elif new.status in ("deprecated", "retired"):
        how = new.status
    else:
        how = "published" if old.is_draft else "reinstated"
    return [_change("status", how, "status", f"status {old.status} → {new.status}")]


def _catalog_changes(old: Contract, new: Contract) -> list[Change]:
    """What the catalog shows about the product besides its data: the owning team and its members, tags, tier."""
    changes = []
    old_team, new_team = (
        (c.team_name, sorted((m.username or m.name or "", (m.role or "").lower()) for m in c.members)) for c in (old, new)
    )
    if old_team != new_team:
        said = f"team {old_team[0]} → {new_team[0]}" if old_team[0] != new_team[0] else "team members or their roles changed"
        changes.append(_change("team", "changed", "team", said))
    if set(old.tags) != set(new.tags):
        said = "; ".join(
            part
            for part in (_listed("added", set(new.tags) - set(old.tags)), _listed("removed", set(old.tags) - set(new.tags)))
            if part
        )
        changes.append(_change("tags", "changed", "tags", f"tags {said}"))
    if old.settings.tier != new.settings.tier:
        said = f"tier {_shown(old.settings.tier)} → {_shown(new.settings.tier)}"
        changes.append(_change("tier", "changed", "customProperties.tier", said))
    return changes


def _listed(what: str, names: set[str]) -> str:
    return f"{what} {', '.join(sorted(names))}" if names else ""


def _table_description(contract: Contract) -> str:
    return (contract.odcs.schema_[0].description or "") if contract.odcs.schema_ else ""


def _shape(column: Column) -> tuple:
    """What a removed and an added column share when one is the other renamed: all but the name."""
    return column.physical_type, column.logical_type, column.description, column.classification


def _allowed_values(column: Column) -> frozenset | None:
    for rule in column.quality:
        values = (rule.arguments or {}).get("validValues")
        if rule.metric == "invalidValues" and values is not None:
            return frozenset(values)
    return None


def _rules(contract: Contract) -> dict[str, dict]:
    """The contract's quality rules (allowed values aside: compared as such), by name, as ODCS spells their settings;
    a column's rule is named after its column when it has no name of its own."""
    rules = {}
    for column, entry in [*((None, q) for q in contract.quality), *((c.name, q) for c in contract.columns for q in c.quality)]:
        if entry.metric == "invalidValues":
            continue
        name = str(entry.name or entry.metric or entry.type)
        rules[name] = entry.model_dump(exclude_none=True, by_alias=True)
        if column is not None and not entry.name:
            rules[f"{column}.{name}"] = rules.pop(name)
    return rules


def _yes(verdict: bool) -> str:
    return "yes" if verdict else "no"


def rules_markdown() -> str:
    """The README's table of change rules, from `RULES`, so the two cannot drift."""
    rows = ["| field | change | shown as | breaks consumers | breaks the producer | why |", "|---|---|---|---|---|---|"]
    rows += [
        f"| `{subject}` | {how} | {rule.kind} | {_yes(rule.breaking)} | {_yes(rule.producer)} | {rule.why} |"
        for (subject, how), rule in RULES.items()
    ]
    rows.append(f"| any other setting | changed | `<setting>` changed | yes | yes | {UNJUDGED_WHY} |")
    return "\n".join(rows) + "\n"


def _major(version: str) -> int:
    return _version_tuple(version)[0]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("+")[0].split("."))
