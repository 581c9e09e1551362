"""Loading a contract file: ODCS v3.1 first, then what the mesh needs, every problem with its line.

A contract is checked in two layers. First against the published ODCS v3.1
JSON schema (shipped by the `open-data-contract-standard` package), so outside
tools read it unchanged, and parsed into the standard's pydantic model. Then
against what the mesh needs on top of the standard: one table named like the
product, a DuckDB type per column, known classifications, the access level and
usable SLAs. Every problem names the file, the field and the line.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty

from mesh_platform.contract.model import (
    CLASSIFICATIONS,
    DEFAULT_PHYSICAL_TYPES,
    PERSONAL_CLASSIFICATIONS,
    STATUSES,
    Column,
    Contract,
    Relationship,
    ServiceLevel,
)
from mesh_platform.contract.partitioning import GRAIN_LENGTHS, PARTITION_TYPES, PERIODS, Partitioning
from mesh_platform.contract.schedule import format_duration, is_valid_cron
from mesh_platform.contract.settings import (
    ColumnSettings,
    ContractSettings,
    RelationshipSettings,
    SettingsModel,
    custom_property_path,
    parse_settings,
)
from mesh_platform.contract.types import port_type_problem
from mesh_platform.core.address import NAME_PATTERN, Address
from mesh_platform.core.durations import UNITS
from mesh_platform.core.errors import ContractError, Problem
from mesh_platform.core.yaml_document import FieldPath, YamlDocument, kind_of, load_yaml_document, parse_yaml_document

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.-]+)?$")
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_Settings = TypeVar("_Settings", bound=SettingsModel)
_SHORTHAND = re.compile(r"^(?P<table>[A-Za-z_][A-Za-z0-9_]*)\.(?P<column>[A-Za-z_][A-Za-z0-9_]*)$")  # ODCS's table.column


@functools.cache
def odcs_json_schema() -> dict[str, Any]:
    """The published ODCS v3.1 JSON schema."""
    text = importlib.resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return json.loads(text)


@functools.cache
def _schema_validator():
    """The explaining validator: run only on a contract the fast one found invalid."""
    import jsonschema  # only needed to explain a contract's problems

    return jsonschema.Draft201909Validator(odcs_json_schema())


@functools.cache
def _fast_schema_validator():
    """The ODCS schema compiled once by jsonschema-rs: ~0.03 ms per contract against ~6 ms.

    Formats are annotations in draft 2019-09, as the explaining validator treats them.
    """
    import jsonschema_rs

    return jsonschema_rs.validator_for(odcs_json_schema(), validate_formats=False)


def load_contract(file: Path | str) -> Contract:
    """Load and validate a contract file; raise `ContractError` listing every problem."""
    return contract_from(load_yaml_document(Path(file)))


def contract_from_document(document: dict[str, Any], label: str) -> Contract:
    """A contract from its document (e.g. the one kept with a published port version)."""
    import yaml

    return contract_from(parse_yaml_document(yaml.safe_dump(document, sort_keys=False), Path(label)))


def contract_from(document: YamlDocument) -> Contract:
    """A contract from a parsed YAML document: the standard's checks, its model, then the mesh's."""
    if problems := _standard_problems(document):
        raise ContractError(problems)
    try:
        odcs = OpenDataContractStandard.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise ContractError(document.validation_problems(error, "see the ODCS v3.1 standard for this field")) from None
    return _ContractReader(document, odcs).read()


def _standard_problems(document: YamlDocument) -> list[Problem]:
    """Problems against the ODCS v3.1 JSON schema, most specific first per location."""
    if _fast_schema_validator().is_valid(document.data):
        return []
    import jsonschema

    problems: list[Problem] = []
    for error in sorted(_schema_validator().iter_errors(document.data), key=lambda e: list(map(str, e.absolute_path))):
        if error.context:
            error = jsonschema.exceptions.best_match(error.context)
        path = list(error.absolute_path)
        listed = error.validator == "type" and error.validator_value == "array"
        fix = "write a list, one '- ' item per entry (ODCS v3.1)" if listed else "see the ODCS v3.1 standard for this field"
        found = _mesh_settings_misplaced(document, path, error) or [document.problem(path, _schema_message(error), fix)]
        problems += [p for p in found if p not in problems]  # the schema's branches can report one problem twice
    return problems


def _mesh_settings_misplaced(document: YamlDocument, path: list, error: Any) -> list[Problem]:
    """A mesh setting written as a field of the standard (`unmaskedFor: [marketing]` on a column): where it goes instead."""
    if error.validator not in ("unevaluatedProperties", "additionalProperties") or not isinstance(error.instance, dict):
        return []
    column = len(path) >= 3 and path[-2] == "properties"
    known = ColumnSettings.setting_names() if column else ContractSettings.setting_names() if not path else ()
    misplaced = [key for key in error.instance if key in known]
    where = "this column's" if column else "the contract's"
    return [
        document.problem(
            [*path, key],
            f"'{key}' is a mesh setting, not a field of the ODCS standard",
            f"write it under {where} customProperties: - property: {key} / value: {json.dumps(error.instance[key])}",
        )
        for key in misplaced
    ]


_JSON_KINDS = {
    "array": "a list",
    "object": "a mapping",
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "an empty value",
}


def _schema_message(error: Any) -> str:
    """The schema's verdict in a line: what kind of value was found and what is expected, never the whole value."""
    if error.validator == "required":
        return f"{error.message} (required by ODCS v3.1)"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"{kind_of(error.instance)} where {' or '.join(_JSON_KINDS.get(e, str(e)) for e in expected)} is expected"
    shown = repr(error.instance)
    found = shown if len(shown) <= 40 and not isinstance(error.instance, (dict, list)) else kind_of(error.instance)
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{found} is not allowed; use one of: {allowed}"
    if error.validator == "additionalProperties":
        return f"{error.message}; put settings the standard has no field for under customProperties"
    message = error.message.replace(shown, found) if found != shown else error.message
    return message if len(message) <= 200 else message[:200] + "…"


class _ContractReader:
    """Reads the mesh's notions off a standard-valid contract, collecting every problem."""

    def __init__(self, document: YamlDocument, odcs: OpenDataContractStandard):
        self.doc = document
        self.odcs = odcs
        self.problems: list[Problem] = []
        self.refused_settings: dict[FieldPath, frozenset[str]] = {}  # per column's path: its settings refused

    def fail(self, path: FieldPath, message: str, fix: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, fix))

    def custom_path(self, key: str, base: FieldPath = ("customProperties",)) -> FieldPath:
        return custom_property_path(self.doc.data, key, base)

    def settings(self, model: type[_Settings], entries: Any, base: FieldPath) -> tuple[_Settings, frozenset[str]]:
        """The settings at `base` (refused ones at their defaults, their problems recorded) and the refused names."""
        settings, problems, refused = parse_settings(model, entries, self.doc, base)
        self.problems += problems
        return settings, refused

    def read(self) -> Contract:
        odcs = self.odcs
        self.identifier(("name",), odcs.name, "the product name")
        self.identifier(("domain",), odcs.domain, "the owning domain")
        if not _SEMVER.match(str(odcs.version or "")):
            self.fail(("version",), f"'{odcs.version or ''}' is not a semantic version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0")
        if odcs.status not in STATUSES:
            fix = f"use one of ODCS's: {', '.join(STATUSES)} (draft while the product takes shape)"
            self.fail(("status",), f"status '{odcs.status}' is unknown", fix)
        if not (odcs.description and odcs.description.purpose):
            self.fail(("description",), "the contract has no description.purpose", "say in one sentence what the product holds")
        self.team()
        columns = self.schema(str(odcs.name))
        partitioning = self.partitioning(columns)
        relationships = self.relationships(columns)
        settings, _ = self.settings(ContractSettings, odcs.customProperties, ("customProperties",))
        frequency, latency, retention = self.service_levels()
        if partitioning is not None and frequency is not None and frequency.duration < GRAIN_LENGTHS[partitioning.grain]:
            index = next(i for i, sla in enumerate(odcs.slaProperties or []) if sla.property == "frequency")
            self.fail(
                ("slaProperties", index, "value"),
                f"an update every {format_duration(frequency.duration)} is more often than the {partitioning.grain} partitions "
                f"can give: a partition is complete once per {PERIODS[partitioning.grain]}",
                f"promise a frequency of at least one {partitioning.grain} partition, or partition more finely (partitionGrain)",
            )
        if settings.rebuild_late_partitions and partitioning is None:
            self.fail(
                self.custom_path("rebuildLatePartitions"),
                "rebuildLatePartitions is for partitioned products; this one has no partitioned column",
                "remove it, or partition the product (partitioned: true on a date or timestamp column)",
            )
        if self.problems:
            raise ContractError(self.problems)
        return Contract(
            odcs=odcs,
            source=self.doc,
            columns=columns,
            settings=settings,
            frequency=frequency,
            latency=latency,
            retention=retention,
            partitioning=partitioning,
            relationships=relationships,
        )

    def identifier(self, path: FieldPath, value: Any, what: str) -> None:
        if not isinstance(value, str) or not _NAME.match(value):
            self.fail(path, f"{what} '{value}' is not a valid name", "use a lowercase identifier: letters, digits and _")

    def team(self) -> None:
        team = self.odcs.team
        if team is None or isinstance(team, list) or not team.name:
            self.fail(
                ("team",),
                "the contract names no owning team",
                "write team: {name: <team>, members: [...]} (ODCS v3.1 team object)",
            )
        elif not _NAME.match(team.name.replace("-", "_")):
            self.fail(("team", "name"), f"team name '{team.name}' is not a valid name", "use lowercase letters, digits, _ or -")

    def schema(self, product: str) -> tuple[Column, ...]:
        objects = self.odcs.schema_ or []
        if len(objects) != 1:
            self.fail(
                ("schema",),
                f"the contract describes {len(objects)} tables; a product publishes exactly one",
                "keep one entry under schema",
            )
            return ()
        table = objects[0]
        if table.name != product:
            self.fail(
                ("schema", 0, "name"),
                f"the table is named '{table.name}', the product '{product}'",
                f"name the table '{product}'",
            )
        if not table.properties:
            self.fail(("schema", 0, "properties"), "the table has no columns", "list the columns under properties")
        columns, seen = [], set()
        for index, prop in enumerate(table.properties or []):
            column = self.column(("schema", 0, "properties", index), prop)
            if column is None:
                continue
            if column.name in seen:
                self.fail(
                    ("schema", 0, "properties", index, "name"), f"column '{column.name}' is listed twice", "remove the duplicate"
                )
            seen.add(column.name)
            columns.append(column)
        return tuple(columns)

    def column(self, path: tuple[str | int, ...], prop: SchemaProperty) -> Column | None:
        name = prop.name
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(
                (*path, "name"), f"column name '{name}' is not a valid name", "use a lowercase identifier: letters, digits and _"
            )
            return None
        logical = prop.logicalType
        if not logical:
            self.fail(
                (*path, "logicalType"), f"column '{name}' has no logicalType", f"use one of: {', '.join(DEFAULT_PHYSICAL_TYPES)}"
            )
        physical = prop.physicalType or DEFAULT_PHYSICAL_TYPES.get(str(logical))
        if not physical:
            self.fail(
                (*path, "physicalType"),
                f"column '{name}' needs a physicalType for logicalType {logical}",
                "give a DuckDB type, e.g. STRUCT(a INTEGER) or VARCHAR[]",
            )
        elif (problem := _duckdb_type_problem(str(physical))) is not None:
            self.fail(
                (*path, "physicalType"),
                f"'{physical}' is not a DuckDB type: {problem}",
                "use a DuckDB type such as VARCHAR, BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP",
            )
        elif (served := port_type_problem(str(physical))) is not None:
            implicit = "" if prop.physicalType else f" ({physical} is logicalType {logical}'s default physicalType)"
            self.fail((*path, "physicalType"), f"column '{name}': {served[0]}{implicit}", served[1])
        classification = prop.classification
        if classification is not None and classification not in CLASSIFICATIONS:
            self.fail(
                (*path, "classification"),
                f"classification '{classification}' is unknown",
                f"use one of: {', '.join(CLASSIFICATIONS)}",
            )
        settings, self.refused_settings[path] = self.settings(ColumnSettings, prop.customProperties, (*path, "customProperties"))
        if settings.personal_settings and classification not in PERSONAL_CLASSIFICATIONS:
            self.fail(
                (*path, "classification"),
                f"column '{name}' sets masking or unmaskedFor but is not classified personal or sensitive",
                "classify it personal, or remove masking and unmaskedFor",
            )
        return Column(prop, str(physical or ""), settings)

    def relationships(self, columns: tuple[Column, ...]) -> tuple[Relationship, ...]:
        """The foreign keys, from each column's `relationships` (whose `from` is the column), then the table's."""
        objects = self.odcs.schema_ or []
        if len(objects) != 1:
            return ()
        entries: list[tuple[FieldPath, Any, str | None]] = []
        for c_index, prop in enumerate(objects[0].properties or []):
            base: FieldPath = ("schema", 0, "properties", c_index, "relationships")
            entries += [((*base, i), entry, prop.name) for i, entry in enumerate(prop.relationships or [])]
        entries += [(("schema", 0, "relationships", i), entry, None) for i, entry in enumerate(objects[0].relationships or [])]
        found = []
        for path, entry, column in entries:
            relationship = self.relationship(path, entry, column, {c.name for c in columns})
            if relationship is not None:
                found.append(relationship)
        return tuple(found)

    def relationship(self, path: FieldPath, entry: Any, column: str | None, names: set[str]) -> Relationship | None:
        """One foreign key: `to` as ODCS's shorthand `<table>.<column>` (a list for a composite key), the referenced
        product named by the custom property `product` (without it, `to` names this product's own table)."""
        table = str(self.odcs.name)
        settings, refused = self.settings(RelationshipSettings, entry.customProperties, (*path, "customProperties"))
        if refused:
            return None
        product = settings.product
        if product is not None and product.unversioned() == Address(str(self.odcs.domain), table):
            product = None  # this product itself, named by its address
        targets = self.references((*path, "to"), entry.to)
        sources = [(table, column)] if column is not None else self.references((*path, "from"), entry.from_)
        if targets is None or sources is None:
            return None
        if len(sources) != len(targets):
            said = f"the relationship maps {len(sources)} column(s) to {len(targets)}"
            self.fail((*path, "to"), said, "give as many columns in to as in from")
            return None
        if len(tables := sorted({t for t, _ in targets})) > 1:
            self.fail((*path, "to"), f"to names columns of several tables ({', '.join(tables)})", "reference one table's columns")
            return None
        known = f"use one of: {', '.join(sorted(names))}"
        for index, (named, name) in enumerate(sources if column is None else []):
            where = (*path, "from", index) if isinstance(entry.from_, list) else (*path, "from")
            if named != table:
                self.fail(where, f"from names table '{named}'; this contract's table is '{table}'", f"write {table}.{name}")
            elif name not in names:
                self.fail(where, f"from names column '{name}', which this contract does not have", known)
        referenced = tables[0]
        if product is None and referenced != table:
            self.fail(
                (*path, "to"),
                f"to names table '{referenced}', not this contract's table ('{table}'); another product's needs its address",
                f"add customProperties: [{{property: product, value: 'mesh://<domain>/{referenced}'}}] to the relationship",
            )
            return None
        if product is None and (missing := [name for _, name in targets if name not in names]):
            self.fail((*path, "to"), f"to names column(s) {', '.join(missing)}, which this contract does not have", known)
            return None
        columns, references = tuple(name for _, name in sources), tuple(name for _, name in targets)
        return Relationship(columns, product, referenced, references, settings, tuple(path), str(entry.type or "foreignKey"))

    def references(self, path: FieldPath, value: Any) -> list[tuple[str, str]] | None:
        """`table.column` references (one, or a list for a composite key) as (table, column) pairs."""
        found = []
        for index, text in enumerate(value if isinstance(value, list) else [value]):
            match = _SHORTHAND.match(str(text or ""))
            if match is None:
                self.fail(
                    (*path, index) if isinstance(value, list) else path,
                    f"'{text}' is not a reference the mesh can check: it reads ODCS's shorthand <table>.<column>",
                    "e.g. to: profiles.customer_id, customProperties: [{property: product, value: 'mesh://customers/profiles'}]",
                )
                return None
            found.append((match["table"], match["column"]))
        return found

    def partitioning(self, columns: tuple[Column, ...]) -> Partitioning | None:
        """The product's time partitions: its one `partitioned` column, with its grain and first partition."""
        marked = [(index, c) for index, c in enumerate(columns) if c.spec.partitioned]
        if not marked:
            return None
        index, column = marked[0]
        path = ("schema", 0, "properties", index)
        if len(marked) > 1:
            others = ", ".join(c.name for _, c in marked[1:])
            self.fail(
                ("schema", 0, "properties", marked[1][0], "partitioned"),
                f"the mesh partitions a product by one time column; {column.name} is already partitioned (also marked: {others})",
                "keep partitioned: true on one date or timestamp column",
            )
        if column.logical_type not in PARTITION_TYPES:
            self.fail(
                (*path, "partitioned"),
                f"partition column '{column.name}' is a {column.logical_type or 'column without logicalType'}; "
                "partitions are periods of time",
                "partition by a date or timestamp column",
            )
            return None
        if not (column.required or column.primary_key):
            self.fail(
                (*path, "required"),
                f"partition column '{column.name}' may be empty, and a row without it belongs to no partition",
                "set required: true on it",
            )
        if column.spec.partitionKeyPosition not in (None, 1):
            self.fail(
                (*path, "partitionKeyPosition"),
                f"partitionKeyPosition {column.spec.partitionKeyPosition}: a product has one partition key",
                "set partitionKeyPosition: 1",
            )
        base = (*path, "customProperties")
        if "partitionGrain" in self.refused_settings.get(path, ()):
            return None
        grain = column.settings.partition_grain or "daily"
        if grain == "hourly" and column.logical_type == "date":
            self.fail(
                self.custom_path("partitionGrain", base),
                f"hourly partitions need a timestamp; '{column.name}' is a date",
                "partition daily or monthly, or by a timestamp column",
            )
            return None
        start_text = column.settings.partition_start
        example = "2026-01-01 00:00" if grain == "hourly" else "2026-01-01"
        if start_text is None:
            self.fail(
                self.custom_path("partitionStart", base),
                f"partition column '{column.name}' names no first partition",
                f"add customProperties: [{{property: partitionStart, value: '{example}'}}]",
            )
            return None
        try:
            start = dt.datetime.fromisoformat(str(start_text))
        except ValueError:
            self.fail(
                self.custom_path("partitionStart", base),
                f"partitionStart '{start_text}' is not a date",
                f"write it like '{example}'",
            )
            return None
        partitioning = Partitioning(column.name, column.physical_type, grain, start.replace(tzinfo=None))
        if not partitioning.starts_partition(partitioning.start):
            self.fail(
                self.custom_path("partitionStart", base),
                f"partitionStart '{start_text}' is not the start of a {grain} partition",
                f"write it like '{example}'",
            )
            return None
        try:
            partitioning.end_of(partitioning.start)
        except ValueError as error:
            self.fail(
                self.custom_path("partitionStart", base),
                f"partitionStart '{start_text}': {error}",
                f"give the first partition's real start, like '{example}'",
            )
            return None
        return partitioning

    def service_levels(self) -> tuple[ServiceLevel | None, ServiceLevel | None, ServiceLevel | None]:
        found: dict[str, ServiceLevel] = {}
        for index, sla in enumerate(self.odcs.slaProperties or []):
            prop = sla.property
            if prop not in ("frequency", "latency", "retention"):
                continue
            path = ("slaProperties", index)
            value, unit = sla.value, str(sla.unit or "").lower()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                self.fail((*path, "value"), f"{prop} value '{value}' is not a positive number", "e.g. value: 1, unit: d")
                continue
            if unit not in UNITS:
                self.fail((*path, "unit"), f"{prop} unit '{unit}' is unknown", "use min, h, d, w, mo or y")
                continue
            schedule = sla.schedule
            if schedule is not None and not is_valid_cron(str(schedule)):
                self.fail(
                    (*path, "schedule"),
                    f"'{schedule}' is not a cron schedule",
                    "write five fields, e.g. '0 6 * * *' (minute hour day month weekday)",
                )
                continue
            found[prop] = ServiceLevel(prop, value * UNITS[unit], str(schedule) if schedule else None)
        return found.get("frequency"), found.get("latency"), found.get("retention")


@functools.cache
def _duckdb_type_problem(type_text: str) -> str | None:
    import duckdb

    try:
        duckdb.type(type_text)
    except Exception as error:  # DuckDB raises several error kinds for unknown types
        return str(error).splitlines()[0]
    return None
