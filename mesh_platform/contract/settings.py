"""The mesh's own settings of a contract: what ODCS has no field for, each a `customProperties` entry at its level.

One typed model per level, and each setting is defined once, as a field of it: its name as written (the field's
alias), its type, its default, and what to tell the user when a value is refused (`Refused`). The loading parses
them (`parse_settings`), readers read the model (`contract.settings.access`, `column.settings.term`), and
`mesh contract diff` compares every field of them, so a new setting is listed as a change without more code.

  contract level (`ContractSettings`): `access` (public | restricted | internal), `consumers` (principals a
  restricted product is granted to), `tier`, `servePreviousMajorUntil` (date until which older major versions stay
  readable), `rebuildLatePartitions` (a partitioned product rebuilds any partition whose inputs changed),
  `agreements` (the usage agreements its grants come from: their ids), `usageAgreements` (what an exported
  contract says its consumers read it under: written by `mesh contract export`);
  column level (`ColumnSettings`): `term` (the glossary term the column carries), for personal columns `masking`
  (hash | drop: how readers outside the domain see it) and `unmaskedFor` (principals that see the clear value), on a
  `partitioned` column `partitionGrain` and `partitionStart` (see `contract.partitioning`), and `widening`
  (compatible: consumers read the column into a type wide enough for a widened physicalType);
  relationship level (`RelationshipSettings`): `product` (the address of the product `to` names) and `severity`;
  quality rule level (`RuleSettings`): `scope` (partition | table: what a partitioned product's rule checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast, get_args

import pydantic
from pydantic import BeforeValidator, ConfigDict, Strict, StringConstraints
from pydantic.alias_generators import to_camel

from mesh_platform.contract.partitioning import GRAINS, Grain
from mesh_platform.core.address import NAME_PATTERN, Address
from mesh_platform.core.errors import AddressError, Problem
from mesh_platform.core.yaml_document import FieldPath, YamlDocument

Access = Literal["public", "restricted", "internal"]
ACCESS_LEVELS: tuple[Access, ...] = get_args(Access)  # from the widest to the narrowest
Masking = Literal["hash", "drop"]
MASKING_MODES: tuple[Masking, ...] = get_args(Masking)
Widening = Literal["breaking", "compatible"]
WIDENINGS: tuple[Widening, ...] = get_args(Widening)
Severity = Literal["error", "warning"]  # how a failed relationship check counts (a warning never blocks publishing)
Scope = Literal["partition", "table"]  # what a partitioned product's rule checks: the partitions built, or the whole table
SCOPES: tuple[Scope, ...] = get_args(Scope)


@dataclass(frozen=True)
class Refused:
    """What a refused value of a setting is told as: `message` and `fix` may name the value as written, `{value}`
    (or `{value!r}`)."""

    message: str
    fix: str


class SettingRefused(ValueError):
    """A refusal whose message says more than the setting's `Refused` can (a rule across settings, a parser's reason);
    `setting` names the setting it is shown at when the refusal is the whole model's."""

    def __init__(self, message: str, fix: str = "", setting: str | None = None):
        super().__init__(message)
        self.message, self.fix, self.setting = message, fix, setting


def _listed(value: Any) -> Any:
    return value or []  # an empty value, or none: no entries


def _text(value: Any) -> Any:
    return str(value) if value is not None else None


def _date(value: Any) -> Any:
    # Written as text or as a YAML date; read as ISO dates read, whatever the YAML made of it.
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    return dt.date.fromisoformat(str(value))


def _address(value: Any) -> Address | None:
    if value is None:
        return None
    try:
        return Address.parse(str(value))
    except AddressError as error:
        raise SettingRefused(str(error)) from None


def _severity(value: Any) -> Any:
    level = str(value).lower()
    return "error" if level == "error" else "warning" if level in ("warning", "warn", "info") else value


Principal = Annotated[str, StringConstraints(pattern=rf"^{NAME_PATTERN}$")]
Principals = Annotated[tuple[Principal, ...], BeforeValidator(_listed)]
PRINCIPALS_REFUSED = "{setting} must be a list of principal names (domains, or consumers of the principals file)"


class SettingsModel(pydantic.BaseModel):
    """The settings of one level, parsed from its customProperties (any other property is the author's own)."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True)
    level: ClassVar[str]

    @classmethod
    def setting(cls, name: str) -> str:
        """The name a field is written under (`servePreviousMajorUntil`)."""
        field = cls.model_fields[name]
        return field.alias or name

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(cls.setting(name) for name in cls.model_fields)


class ContractSettings(SettingsModel):
    level = "contract"

    access: Annotated[Access, Refused("access '{value}' is unknown", f"use one of: {', '.join(ACCESS_LEVELS)}")] = "internal"
    consumers: Annotated[Principals, Refused(PRINCIPALS_REFUSED.format(setting="consumers"), "e.g. [marketing, planning]")] = ()
    tier: Annotated[str | None, BeforeValidator(_text), Refused("tier '{value}' is not a text", "e.g. gold")] = None
    serve_previous_major_until: Annotated[
        dt.date | None, BeforeValidator(_date), Refused("'{value}' is not a date", "write YYYY-MM-DD")
    ] = None
    rebuild_late_partitions: Annotated[
        bool, Strict(), Refused("rebuildLatePartitions must be true or false, not {value!r}", "write true or false")
    ] = False
    agreements: Annotated[
        tuple[Annotated[str, StringConstraints(min_length=1)], ...],
        BeforeValidator(_listed),
        Refused("agreements must be a list of agreement ids", "mesh access approve writes them; e.g. [planning-profiles-3f2a9c]"),
    ] = ()
    usage_agreements: Annotated[
        tuple[dict[str, Any], ...],
        BeforeValidator(_listed),
        Refused("usageAgreements must be a list of agreements", "mesh contract export writes it; remove it from the contract"),
    ] = ()

    @pydantic.model_validator(mode="after")
    def _restricted_names_consumers(self) -> ContractSettings:
        if self.access == "restricted" and not self.consumers:
            raise SettingRefused(
                "a restricted product names no consumers", "add customProperties consumers: [principal, …]", setting="access"
            )
        return self


class ColumnSettings(SettingsModel):
    level = "column"

    term: Annotated[
        str | None,
        BeforeValidator(lambda value: str(value) if value else None),  # `term/meaning` names a domain's meaning
        Refused("term '{value}' is not a text", "name a glossary term: term or term/meaning"),
    ] = None
    masking: Annotated[
        Masking,
        Refused("masking '{value}' is unknown", "use hash (readers outside the domain see a keyed hash) or drop"),
    ] = "hash"
    unmasked_for: Annotated[Principals, Refused(PRINCIPALS_REFUSED.format(setting="unmaskedFor"), "e.g. [marketing]")] = ()
    partition_grain: Annotated[
        Grain | None, Refused("partitionGrain '{value}' is unknown", f"use one of: {', '.join(GRAINS)}")
    ] = None
    partition_start: Annotated[
        str | None, BeforeValidator(_text), Refused("partitionStart '{value}' is not a date", "write it like '2026-01-01'")
    ] = None
    widening: Annotated[
        Widening,
        Refused(
            "widening '{value}' is unknown",
            "use compatible (consumers read the column into a type wide enough for a widened physicalType) or breaking",
        ),
    ] = "breaking"

    @property
    def personal_settings(self) -> bool:
        """Whether it sets what only a personal column may set: a masking other than hash, or unmaskedFor."""
        return self.masking != "hash" or bool(self.unmasked_for)


class RelationshipSettings(SettingsModel):
    level = "relationship"

    product: Annotated[
        Address | None,
        BeforeValidator(_address),
        Refused("'{value}' is not a product address", "name the referenced product: mesh://<domain>/<product>"),
    ] = None
    severity: Annotated[
        Severity, BeforeValidator(_severity), Refused("severity '{value}' is unknown", "use error (blocks publishing) or warning")
    ] = "error"


class RuleSettings(SettingsModel):
    level = "quality rule"

    scope: Annotated[
        Scope,
        Refused("scope '{value}' is unknown", "use partition (the partitions a build writes) or table (the whole table)"),
    ] = "partition"


_Settings = TypeVar("_Settings", bound=SettingsModel)


def custom_properties(entries: Sequence[Any] | None) -> dict[str, Any]:
    """An ODCS `customProperties` list (the standard's entries or the document's mappings) as property → value."""
    found: dict[str, Any] = {}
    for entry in entries or []:
        key, value = (entry.get("property"), entry.get("value")) if isinstance(entry, Mapping) else (entry.property, entry.value)
        if key:
            found[str(key)] = value
    return found


def custom_property_path(document: dict[str, Any], key: str, base: FieldPath = ("customProperties",)) -> FieldPath:
    """The field path of custom property `key`'s value in the list at `base` (`base` itself when absent)."""
    entries: Any = document
    for part in base:
        try:
            entries = entries[part]
        except (KeyError, IndexError, TypeError):
            return tuple(base)
    for index, entry in enumerate(entries or []):
        if isinstance(entry, Mapping) and entry.get("property") == key:
            return (*base, index, "value")
    return tuple(base)


def parse_settings(
    model: type[_Settings], entries: Sequence[Any] | None, document: YamlDocument, base: FieldPath
) -> tuple[_Settings, list[Problem], frozenset[str]]:
    """The settings of the customProperties list at `base` of `document`; each refused value as a located problem,
    the setting taking its default then; and the names of the refused settings."""
    values = custom_properties(entries)
    try:
        return model.model_validate(values), [], frozenset()
    except pydantic.ValidationError as error:
        problems, refused = settings_problems(model, error, document, base)
    kept = {key: value for key, value in values.items() if key not in refused}
    try:
        return model.model_validate(kept), problems, refused
    except pydantic.ValidationError:  # a rule across settings refused what was kept too (it is among the problems)
        return cast(_Settings, model.model_construct()), problems, refused


def settings_problems(
    model: type[SettingsModel], error: pydantic.ValidationError, document: YamlDocument, base: FieldPath
) -> tuple[list[Problem], frozenset[str]]:
    """A settings model's validation error as located problems (one per setting), and the refused settings' names."""
    aliases = {model.setting(name): name for name in model.model_fields}
    problems: list[Problem] = []
    refused: set[str] = set()
    for item in error.errors():
        refusal = (item.get("ctx") or {}).get("error")
        refusal = refusal if isinstance(refusal, SettingRefused) else None
        setting = str((refusal.setting if refusal else None) or (item["loc"][0] if item["loc"] else ""))
        if setting in refused:
            continue  # one problem per setting (a list's every bad item is one)
        refused.add(setting)
        explained = _refused(model, aliases.get(setting, setting))
        value = custom_properties_value(document, base, setting)
        if refusal is not None:
            message, fix = refusal.message, refusal.fix or (explained.fix if explained else "")
        elif explained is not None:
            message, fix = explained.message.format(value=value), explained.fix.format(value=value)
        else:
            message, fix = f"{setting}: {item['msg']}", ""
        problems.append(document.problem(custom_property_path(document.data, setting, base), message, fix))
    return problems, frozenset(refused)


def custom_properties_value(document: YamlDocument, base: FieldPath, setting: str) -> Any:
    """The value of custom property `setting` as the document writes it at `base` (None when absent)."""
    path = custom_property_path(document.data, setting, base)
    node: Any = document.data
    for part in path if path != tuple(base) else ():
        node = node[part]
    return node if path != tuple(base) else None


def _refused(model: type[SettingsModel], name: str) -> Refused | None:
    field = model.model_fields.get(name)
    return next((m for m in field.metadata if isinstance(m, Refused)), None) if field is not None else None
