"""The data contract: an Open Data Contract Standard (ODCS) v3.1 YAML file as a typed model.

A contract is checked in two layers. First against the published ODCS v3.1
JSON schema (shipped by the `open-data-contract-standard` package), so outside
tools read it unchanged. Then against what the mesh needs on top of the
standard: one table named like the product, a DuckDB type per column, known
classifications, the access level and usable SLAs. Every problem names the
file, the field and the line.

Mesh settings the standard has no field for are `customProperties`:
  contract level: `access` (public | restricted | internal), `consumers`
  (domains a restricted product is granted to), `tier`,
  `servePreviousMajorUntil` (date until which older major versions stay readable);
  column level: `term` (the glossary term the column carries), and for personal
  columns `masking` (hash | drop: how readers outside the domain see it) and
  `unmaskedFor` (domains that see the clear value).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mesh_platform.core.address import NAME_PATTERN, Address
from mesh_platform.core.errors import ContractError, Problem
from mesh_platform.core.yaml_document import (
    FieldPath,
    YamlDocument,
    load_yaml_document,
    parse_yaml_document,
)

Access = Literal["public", "restricted", "internal"]
ACCESS_LEVELS: tuple[str, ...] = ("public", "restricted", "internal")

# Ordered from least to most sensitive; a product's classification is its most sensitive column's.
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "personal", "sensitive")
PERSONAL_CLASSIFICATIONS = frozenset({"personal", "sensitive"})

DEFAULT_PHYSICAL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
}

_UNITS: dict[str, dt.timedelta] = {}
for _names, _delta in (
    (("min", "mins", "minute", "minutes"), dt.timedelta(minutes=1)),
    (("h", "hr", "hrs", "hour", "hours"), dt.timedelta(hours=1)),
    (("d", "day", "days"), dt.timedelta(days=1)),
    (("w", "wk", "week", "weeks"), dt.timedelta(weeks=1)),
    (("mo", "month", "months"), dt.timedelta(days=30)),
    (("y", "yr", "year", "years"), dt.timedelta(days=365)),
):
    _UNITS.update(dict.fromkeys(_names, _delta))

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.-]+)?$")
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


@dataclass(frozen=True)
class TeamMember:
    username: str
    name: str = ""
    role: str = ""


@dataclass(frozen=True)
class Column:
    """One column of the product's table (an ODCS schema property)."""

    name: str
    logical_type: str
    physical_type: str
    description: str = ""
    required: bool = False
    unique: bool = False
    primary_key: bool = False
    primary_key_position: int = -1
    classification: str | None = None
    term: str | None = None
    quality: tuple[dict[str, Any], ...] = ()
    logical_type_options: dict[str, Any] = field(default_factory=dict)
    masking: str = "hash"
    unmasked_for: tuple[str, ...] = ()

    @property
    def is_personal(self) -> bool:
        return self.classification in PERSONAL_CLASSIFICATIONS


@dataclass(frozen=True)
class ServiceLevel:
    """An ODCS `slaProperties` entry the mesh acts on (`frequency`, `latency`)."""

    property: str
    duration: dt.timedelta
    schedule: str | None = None


@dataclass(frozen=True)
class Contract:
    """A loaded, validated contract. `document` is the ODCS document as written."""

    file: Path
    id: str
    version: str
    status: str
    name: str
    domain: str
    purpose: str
    usage: str
    limitations: str
    team_name: str
    members: tuple[TeamMember, ...]
    table: str
    columns: tuple[Column, ...]
    quality: tuple[dict[str, Any], ...]
    frequency: ServiceLevel | None
    latency: ServiceLevel | None
    access: str
    consumers: tuple[str, ...]
    tier: str | None
    previous_major_served_until: dt.date | None
    tags: tuple[str, ...]
    document: dict[str, Any]
    source: YamlDocument

    @property
    def address(self) -> Address:
        return Address(self.domain, self.name)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def description(self) -> str:
        """Human description: purpose, then usage and limitations when given."""
        parts = [self.purpose]
        if self.usage:
            parts.append(f"Usage: {self.usage}")
        if self.limitations:
            parts.append(f"Limitations: {self.limitations}")
        return "\n\n".join(p for p in parts if p)

    @property
    def owners(self) -> list[str]:
        """Dagster owners: the team, then members with an e-mail username and an owner role."""
        owners = [f"team:{self.team_name}"]
        owners += [m.username for m in self.members if "@" in m.username and "owner" in m.role.lower()]
        return owners

    @property
    def classification(self) -> str:
        """The most sensitive classification among the columns."""
        ranks = [CLASSIFICATIONS.index(c.classification) for c in self.columns if c.classification]
        return CLASSIFICATIONS[max(ranks)] if ranks else "unclassified"

    @property
    def has_personal_data(self) -> bool:
        return any(c.is_personal for c in self.columns)

    @property
    def cron_schedule(self) -> str | None:
        """When the product is rebuilt: the frequency SLA's own cron, else one derived from it."""
        if self.frequency is None:
            return None
        return self.frequency.schedule or cron_for_interval(self.frequency.duration)

    @property
    def fingerprint(self) -> str:
        """Stable hash of the contract's content (part of the product's code version)."""
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def text(self) -> str:
        """The contract as YAML: its file as written, or the document when it came from a port."""
        if self.file.is_file():
            return self.file.read_text(encoding="utf-8")
        import yaml

        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def line_of(self, path: FieldPath) -> int | None:
        return self.source.line_of(path)


def cron_for_interval(interval: dt.timedelta) -> str:
    """A cron schedule that ticks once per `interval` (rounded to what cron can say)."""
    minutes = int(interval.total_seconds() // 60)
    if minutes < 60:
        return f"*/{max(minutes, 1)} * * * *"
    if minutes < 24 * 60:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    days = minutes // (24 * 60)
    if days == 1:
        return "0 0 * * *"
    if days < 7:
        return f"0 0 */{days} * *"
    if days < 28:
        return "0 0 * * 1"
    if days < 365:
        return "0 0 1 * *"
    return "0 0 1 1 *"


@functools.cache
def odcs_json_schema() -> dict[str, Any]:
    """The published ODCS v3.1 JSON schema."""
    text = importlib.resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return json.loads(text)


def load_contract(file: Path | str) -> Contract:
    """Load and validate a contract file; raise `ContractError` listing every problem."""
    return _contract_from(load_yaml_document(Path(file)))


def contract_from_document(document: dict[str, Any], label: str) -> Contract:
    """A contract from its document (e.g. the one kept with a published port version)."""
    import yaml

    return _contract_from(parse_yaml_document(yaml.safe_dump(document, sort_keys=False), Path(label)))


def _contract_from(document: YamlDocument) -> Contract:
    problems = _standard_problems(document)
    if problems:
        raise ContractError(problems)
    return _ContractReader(document).read()


def _standard_problems(document: YamlDocument) -> list[Problem]:
    """Problems against the ODCS v3.1 JSON schema, most specific first per location."""
    import jsonschema  # only needed while loading contracts

    validator = jsonschema.Draft201909Validator(odcs_json_schema())
    problems = []
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(map(str, e.absolute_path))):
        if error.context:
            error = jsonschema.exceptions.best_match(error.context)
        path = list(error.absolute_path)
        problems.append(document.problem(path, _schema_message(error), "see the ODCS v3.1 standard for this field"))
    return problems


def _schema_message(error: Any) -> str:
    if error.validator == "required":
        return f"{error.message} (required by ODCS v3.1)"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not allowed; use one of: {allowed}"
    if error.validator == "additionalProperties":
        return f"{error.message}; put settings the standard has no field for under customProperties"
    return error.message


class _ContractReader:
    """Turns a standard-valid document into a `Contract`, collecting the mesh's own problems."""

    def __init__(self, document: YamlDocument):
        self.doc = document
        self.data = document.data
        self.problems: list[Problem] = []

    def fail(self, path: FieldPath, message: str, fix: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, fix))

    def read(self) -> Contract:
        data = self.data
        name = self.identifier(("name",), "the product name")
        domain = self.identifier(("domain",), "the owning domain")
        version = str(data.get("version", ""))
        if not _SEMVER.match(version):
            self.fail(("version",), f"'{version}' is not a semantic version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0")
        description = data.get("description") or {}
        if not description.get("purpose"):
            self.fail(("description",), "the contract has no description.purpose", "say in one sentence what the product holds")
        team_name, members = self.team()
        table, columns, quality = self.schema(name)
        custom = self.custom_properties(data.get("customProperties") or [])
        access = str(custom.get("access", "internal"))
        if access not in ACCESS_LEVELS:
            self.fail(self.custom_path("access"), f"access '{access}' is unknown", f"use one of: {', '.join(ACCESS_LEVELS)}")
        consumers = custom.get("consumers") or []
        if not isinstance(consumers, list) or not all(isinstance(c, str) and _NAME.match(c) for c in consumers):
            self.fail(self.custom_path("consumers"), "consumers must be a list of domain names", "e.g. [marketing, planning]")
            consumers = []
        if access == "restricted" and not consumers:
            self.fail(self.custom_path("access"), "a restricted product names no consumers", "add customProperties consumers: [domain, …]")
        frequency, latency = self.service_levels()
        served_until = None
        if custom.get("servePreviousMajorUntil") is not None:
            try:
                served_until = dt.date.fromisoformat(str(custom["servePreviousMajorUntil"]))
            except ValueError:
                self.fail(self.custom_path("servePreviousMajorUntil"), f"'{custom['servePreviousMajorUntil']}' is not a date", "write YYYY-MM-DD")
        if self.problems:
            raise ContractError(self.problems)
        return Contract(
            file=self.doc.file,
            id=str(data["id"]),
            version=version,
            status=str(data.get("status", "")),
            name=name,
            domain=domain,
            purpose=str(description.get("purpose", "")).strip(),
            usage=str(description.get("usage", "")).strip(),
            limitations=str(description.get("limitations", "")).strip(),
            team_name=team_name,
            members=members,
            table=table,
            columns=columns,
            quality=quality,
            frequency=frequency,
            latency=latency,
            access=access,
            consumers=tuple(consumers),
            tier=str(custom["tier"]) if custom.get("tier") is not None else None,
            previous_major_served_until=served_until,
            tags=tuple(str(t) for t in data.get("tags") or []),
            document=data,
            source=self.doc,
        )

    def identifier(self, path: FieldPath, what: str) -> str:
        value = self.data.get(path[0])
        if not isinstance(value, str) or not _NAME.match(value):
            self.fail(path, f"{what} '{value}' is not a valid name", "use a lowercase identifier: letters, digits and _")
            return str(value)
        return value

    def team(self) -> tuple[str, tuple[TeamMember, ...]]:
        team = self.data.get("team")
        if not isinstance(team, dict) or not team.get("name"):
            self.fail(("team",), "the contract names no owning team", "write team: {name: <team>, members: [...]} (ODCS v3.1 team object)")
            return "", ()
        if not _NAME.match(str(team["name"]).replace("-", "_")):
            self.fail(("team", "name"), f"team name '{team['name']}' is not a valid name", "use lowercase letters, digits, _ or -")
        members = tuple(
            TeamMember(username=str(m.get("username", "")), name=str(m.get("name", "")), role=str(m.get("role", "")))
            for m in team.get("members") or []
        )
        return str(team["name"]), members

    def schema(self, product: str) -> tuple[str, tuple[Column, ...], tuple[dict[str, Any], ...]]:
        objects = self.data.get("schema") or []
        if len(objects) != 1:
            self.fail(("schema",), f"the contract describes {len(objects)} tables; a product publishes exactly one", "keep one entry under schema")
            return product, (), ()
        table = objects[0]
        if table.get("name") != product:
            self.fail(("schema", 0, "name"), f"the table is named '{table.get('name')}', the product '{product}'", f"name the table '{product}'")
        properties = table.get("properties") or []
        if not properties:
            self.fail(("schema", 0, "properties"), "the table has no columns", "list the columns under properties")
        columns, seen = [], set()
        for index, prop in enumerate(properties):
            column = self.column(("schema", 0, "properties", index), prop)
            if column is None:
                continue
            if column.name in seen:
                self.fail(("schema", 0, "properties", index, "name"), f"column '{column.name}' is listed twice", "remove the duplicate")
            seen.add(column.name)
            columns.append(column)
        return str(table.get("name")), tuple(columns), tuple(table.get("quality") or [])

    def column(self, path: tuple[str | int, ...], prop: dict[str, Any]) -> Column | None:
        name = prop.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail((*path, "name"), f"column name '{name}' is not a valid name", "use a lowercase identifier: letters, digits and _")
            return None
        logical = prop.get("logicalType")
        if not logical:
            self.fail((*path, "logicalType"), f"column '{name}' has no logicalType", f"use one of: {', '.join(DEFAULT_PHYSICAL_TYPES)}")
        physical = prop.get("physicalType") or DEFAULT_PHYSICAL_TYPES.get(str(logical))
        if not physical:
            self.fail((*path, "physicalType"), f"column '{name}' needs a physicalType for logicalType {logical}", "give a DuckDB type, e.g. STRUCT(a INTEGER) or VARCHAR[]")
        elif (problem := _duckdb_type_problem(str(physical))) is not None:
            self.fail((*path, "physicalType"), f"'{physical}' is not a DuckDB type: {problem}", "use a DuckDB type such as VARCHAR, BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP")
        classification = prop.get("classification")
        if classification is not None and classification not in CLASSIFICATIONS:
            self.fail((*path, "classification"), f"classification '{classification}' is unknown", f"use one of: {', '.join(CLASSIFICATIONS)}")
        custom = self.custom_properties(prop.get("customProperties") or [])
        masking = str(custom.get("masking", "hash"))
        if masking not in ("hash", "drop"):
            self.fail(self.custom_path("masking", (*path, "customProperties")), f"masking '{masking}' is unknown", "use hash (readers outside the domain see a keyed hash) or drop")
        unmasked_for = custom.get("unmaskedFor") or []
        if not isinstance(unmasked_for, list) or not all(isinstance(d, str) and _NAME.match(d) for d in unmasked_for):
            self.fail(self.custom_path("unmaskedFor", (*path, "customProperties")), "unmaskedFor must be a list of domain names", "e.g. [marketing]")
            unmasked_for = []
        if (masking != "hash" or unmasked_for) and classification not in PERSONAL_CLASSIFICATIONS:
            self.fail((*path, "classification"), f"column '{name}' sets masking or unmaskedFor but is not classified personal or sensitive", "classify it personal, or remove masking and unmaskedFor")
        return Column(
            name=name,
            logical_type=str(logical),
            physical_type=str(physical or ""),
            description=str(prop.get("description", "")),
            required=bool(prop.get("required", False)),
            unique=bool(prop.get("unique", False)),
            primary_key=bool(prop.get("primaryKey", False)),
            primary_key_position=int(prop.get("primaryKeyPosition", -1)),
            classification=classification,
            term=str(custom["term"]) if custom.get("term") else None,
            quality=tuple(prop.get("quality") or []),
            logical_type_options=dict(prop.get("logicalTypeOptions") or {}),
            masking=masking,
            unmasked_for=tuple(unmasked_for),
        )

    def custom_properties(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {str(e.get("property")): e.get("value") for e in entries if e.get("property")}

    def custom_path(self, key: str, base: FieldPath = ("customProperties",)) -> FieldPath:
        return custom_property_path(self.data, key, base)

    def service_levels(self) -> tuple[ServiceLevel | None, ServiceLevel | None]:
        found: dict[str, ServiceLevel] = {}
        for index, sla in enumerate(self.data.get("slaProperties") or []):
            prop = sla.get("property")
            if prop not in ("frequency", "latency"):
                continue
            path = ("slaProperties", index)
            value, unit = sla.get("value"), str(sla.get("unit", "")).lower()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                self.fail((*path, "value"), f"{prop} value '{value}' is not a positive number", "e.g. value: 1, unit: d")
                continue
            if unit not in _UNITS:
                self.fail((*path, "unit"), f"{prop} unit '{unit}' is unknown", "use min, h, d, w, mo or y")
                continue
            schedule = sla.get("schedule")
            if schedule is not None and not _is_cron(str(schedule)):
                self.fail((*path, "schedule"), f"'{schedule}' is not a cron schedule", "write five fields, e.g. '0 6 * * *'")
                continue
            found[prop] = ServiceLevel(prop, value * _UNITS[unit], str(schedule) if schedule else None)
        return found.get("frequency"), found.get("latency")


def custom_property_path(document: dict[str, Any], key: str, base: FieldPath = ("customProperties",)) -> FieldPath:
    """The field path of custom property `key`'s value in the list at `base` (`base` itself when absent)."""
    entries: Any = document
    for part in base:
        try:
            entries = entries[part]
        except (KeyError, IndexError, TypeError):
            return tuple(base)
    for index, entry in enumerate(entries or []):
        if entry.get("property") == key:
            return (*base, index, "value")
    return tuple(base)


def _is_cron(text: str) -> bool:
    fields = text.split()
    return len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)


@functools.cache
def _duckdb_type_problem(type_text: str) -> str | None:
    import duckdb

    try:
        duckdb.type(type_text)
    except Exception as error:  # DuckDB raises several error kinds for unknown types
        return str(error).splitlines()[0]
    return None
