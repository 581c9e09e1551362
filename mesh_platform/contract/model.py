"""The data contract: the Open Data Contract Standard (ODCS) v3.1 model, and what the mesh adds on top.

The standard's own pydantic model (`open_data_contract_standard`, maintained by
the datacontract authors) holds everything a contract says; `Contract` and
`Column` read from it and add only the mesh's own notions: the product's
address, its access level and consumers, the glossary term and masking of a
column, SLA durations, and the source lines every error points at.

The mesh's settings the standard has no field for are `customProperties`, parsed into one typed model per
level (`contract.settings`): `contract.settings`, `column.settings`, `relationship.settings`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaProperty,
    TeamMember,
)

from mesh_platform.contract.partitioning import Partitioning
from mesh_platform.contract.schedule import cron_for_interval
from mesh_platform.contract.settings import Access as Access  # re-exported: who may read a product
from mesh_platform.contract.settings import ColumnSettings, ContractSettings, RelationshipSettings
from mesh_platform.contract.settings import Severity as Severity  # re-exported: how a failed relationship check counts
from mesh_platform.core.address import Address
from mesh_platform.core.user_files import read_user_text
from mesh_platform.core.yaml_document import FieldPath, YamlDocument, field_name

# Ordered from least to most sensitive; a product's classification is its most sensitive column's.
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "personal", "sensitive")
PERSONAL_CLASSIFICATIONS = frozenset({"personal", "sensitive"})

# ODCS's contract statuses. Proposed and draft products are not published yet: they change freely and only
# their own domain reads them; a retired one is read by its own domain only too.
STATUSES: tuple[str, ...] = ("proposed", "draft", "active", "deprecated", "retired")
DRAFT_STATUSES = frozenset({"proposed", "draft"})


DEFAULT_PHYSICAL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
}

# Our names for the standard's schema-property fields, for `Column.changed`.
_PROPERTY_FIELDS = {
    "name": "name",
    "logical_type": "logicalType",
    "physical_type": "physicalType",
    "description": "description",
    "required": "required",
    "unique": "unique",
    "primary_key": "primaryKey",
    "primary_key_position": "primaryKeyPosition",
    "classification": "classification",
    "logical_type_options": "logicalTypeOptions",
    "quality": "quality",
}


@dataclass(frozen=True)
class Column:
    """One column of the product's table: the standard's schema property, and what the mesh reads from it."""

    spec: SchemaProperty
    physical_type: str  # the contract's physicalType, or the DuckDB default for its logicalType
    settings: ColumnSettings  # the mesh's settings of the column, from its customProperties

    @classmethod
    def new(
        cls,
        name: str,
        logical_type: str,
        physical_type: str,
        description: str = "",
        *,
        required: bool = False,
        unique: bool = False,
        primary_key: bool = False,
        primary_key_position: int | None = None,
        classification: str | None = None,
    ) -> Column:
        """A column made in code (e.g. a template's example columns)."""
        spec = SchemaProperty(
            name=name,
            logicalType=logical_type,
            physicalType=physical_type,
            description=description or None,
            required=required or None,
            unique=unique or None,
            primaryKey=primary_key or None,
            primaryKeyPosition=primary_key_position,
            classification=classification,
        )
        return cls(spec, physical_type, ColumnSettings())

    def changed(self, **changes: Any) -> Column:
        """A copy with some fields changed, named as this class names them (`primary_key=False`)."""
        update = {_PROPERTY_FIELDS[name]: value for name, value in changes.items()}
        return Column(self.spec.model_copy(update=update), changes.get("physical_type", self.physical_type), self.settings)

    @property
    def name(self) -> str:
        return str(self.spec.name)

    @property
    def logical_type(self) -> str:
        return str(self.spec.logicalType or "")

    @property
    def description(self) -> str:
        return self.spec.description or ""

    @property
    def required(self) -> bool:
        return bool(self.spec.required)

    @property
    def unique(self) -> bool:
        return bool(self.spec.unique)

    @property
    def primary_key(self) -> bool:
        return bool(self.spec.primaryKey)

    @property
    def primary_key_position(self) -> int:
        return self.spec.primaryKeyPosition if self.spec.primaryKeyPosition is not None else -1

    @property
    def classification(self) -> str | None:
        return self.spec.classification

    @property
    def logical_type_options(self) -> dict[str, Any]:
        return dict(self.spec.logicalTypeOptions or {})

    @property
    def quality(self) -> tuple[DataQuality, ...]:
        return tuple(self.spec.quality or ())

    @property
    def is_personal(self) -> bool:
        return self.classification in PERSONAL_CLASSIFICATIONS


@dataclass(frozen=True)
class Relationship:
    """A foreign key (ODCS `relationships`): every row whose `columns` are all filled has their values in
    the `references` columns of some row of `product` (None: of this product itself)."""

    columns: tuple[str, ...]  # this product's columns (`from`)
    product: Address | None  # the referenced product, from the relationship's `product` setting (None: this one)
    table: str  # the referenced table, as `to` names it
    references: tuple[str, ...]  # the referenced product's columns (`to`)
    settings: RelationshipSettings  # the mesh's settings of the relationship (its `severity`…)
    path: FieldPath = ()  # where the entry is written in the contract
    type: str = "foreignKey"  # ODCS's relationship type

    @property
    def source(self) -> str:
        """The entry's place as checks name it: `schema[0].properties[2].relationships[0]`."""
        return field_name(self.path)

    @property
    def target(self) -> str:
        """The referenced columns, as the mesh names them: `mesh://customers/profiles.customer_id`."""
        where = str(self.product) if self.product is not None else "this product"
        return f"{where}.{self.references[0]}" if len(self.references) == 1 else f"{where}.({', '.join(self.references)})"

    def __str__(self) -> str:
        columns = self.columns[0] if len(self.columns) == 1 else f"({', '.join(self.columns)})"
        return f"{columns} → {self.target}"


@dataclass(frozen=True)
class ServiceLevel:
    """An ODCS `slaProperties` entry the mesh reads (`frequency`, `latency`; `retention`, which only
    `mesh contract diff` judges), as a duration."""

    property: str
    duration: dt.timedelta
    schedule: str | None = None


@dataclass(frozen=True)
class Contract:
    """A loaded, validated contract: the standard's model (`odcs`), the file's lines, and the mesh's additions."""

    odcs: OpenDataContractStandard
    source: YamlDocument  # the file as written: its data and the line of every field
    columns: tuple[Column, ...]
    settings: ContractSettings  # the mesh's settings of the product, from its customProperties
    frequency: ServiceLevel | None
    latency: ServiceLevel | None
    retention: ServiceLevel | None = None  # how long past data stays readable (a promise; `mesh contract diff` judges it)
    partitioning: Partitioning | None = None  # time partitions, when the contract declares a partitioned column
    relationships: tuple[Relationship, ...] = ()  # foreign keys: checked on every build, never build inputs

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (the catalog index) without the standard's model and the column index: both are rebuilt when used."""
        return {name: value for name, value in self.__dict__.items() if name not in ("odcs", "_columns_by_name")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        if name == "odcs" and "source" in self.__dict__:  # unpickled: validate the document again (a few µs)
            odcs = OpenDataContractStandard.model_validate(self.source.data)
            object.__setattr__(self, "odcs", odcs)
            return odcs
        raise AttributeError(name)

    @property
    def file(self) -> Path:
        return self.source.file

    @property
    def document(self) -> dict[str, Any]:
        """The contract as written (what is stored with a port and exported)."""
        return self.source.data

    @property
    def id(self) -> str:
        return str(self.odcs.id)

    @property
    def version(self) -> str:
        return str(self.odcs.version)

    @property
    def status(self) -> str:
        return self.odcs.status or ""

    @property
    def is_draft(self) -> bool:
        """Not published yet (status draft or proposed): it may change without a new version, and only its domain reads it."""
        return self.status in DRAFT_STATUSES

    @property
    def name(self) -> str:
        return str(self.odcs.name)

    @property
    def domain(self) -> str:
        return str(self.odcs.domain)

    @property
    def address(self) -> Address:
        return Address(self.domain, self.name)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def purpose(self) -> str:
        return (self.odcs.description.purpose or "").strip() if self.odcs.description else ""

    @property
    def usage(self) -> str:
        return (self.odcs.description.usage or "").strip() if self.odcs.description else ""

    @property
    def limitations(self) -> str:
        return (self.odcs.description.limitations or "").strip() if self.odcs.description else ""

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
    def team_name(self) -> str:
        team = self.odcs.team
        return str(team.name or "") if team is not None and not isinstance(team, list) else ""

    @property
    def members(self) -> tuple[TeamMember, ...]:
        team = self.odcs.team
        return tuple(team.members or ()) if team is not None and not isinstance(team, list) else ()

    @property
    def owners(self) -> list[str]:
        """Dagster owners: the team, then members with an e-mail username and an owner role."""
        owners = [f"team:{self.team_name}"]
        owners += [m.username for m in self.members if m.username and "@" in m.username and "owner" in (m.role or "").lower()]
        return owners

    @property
    def table(self) -> str:
        return str(self.odcs.schema_[0].name) if self.odcs.schema_ else self.name

    @property
    def quality(self) -> tuple[DataQuality, ...]:
        """The table-level quality rules."""
        return tuple(self.odcs.schema_[0].quality or ()) if self.odcs.schema_ else ()

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(str(t) for t in self.odcs.tags or ())

    @property
    def classification(self) -> str:
        """The most sensitive classification among the columns."""
        ranks = [CLASSIFICATIONS.index(c.classification) for c in self.columns if c.classification in CLASSIFICATIONS]
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
            return read_user_text(self.file, "YAML")
        import yaml

        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)

    @functools.cached_property
    def _columns_by_name(self) -> dict[str, tuple[int, Column]]:
        # Policies, lineage and the diff look columns up by name, column by column: a search each would be quadratic.
        return {c.name: (index, c) for index, c in enumerate(self.columns)}

    def column(self, name: str) -> Column:
        """The column named `name` (KeyError when there is none)."""
        return self._columns_by_name[name][1]

    def column_index(self, name: str) -> int | None:
        """The column's position under schema[0].properties (its field path's index), or None."""
        found = self._columns_by_name.get(name)
        return found[0] if found else None

    def line_of(self, path: FieldPath) -> int | None:
        return self.source.line_of(path)
