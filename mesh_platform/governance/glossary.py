"""The glossary of shared terms and their polysemes (one word, a different meaning per domain).

The governance group keeps it in one YAML file (`governance/glossary.yaml` in the mesh's root, or
the file `mesh.yaml`'s `glossary` or `MESH_GLOSSARY` names; no file, or `terms: {}`, is an empty
glossary). A contract column names the term it carries:

    customProperties:
      - property: term
        value: customer            # the owning domain's meaning, else the term's canonical one
      # or  value: active_user/web_analytics   — another domain's meaning, named

What runs as code: a term's value mapping normalizes the column on publish and its
canonical values (or its meaning's pattern) become a blocking check; a meaning's
parameters (e.g. active_user's `window`) are what the domain's SQL reads through
`term_parameter('active_user', 'window')`, so the definition lives here once; a
crosswalk names the product linking two meanings' identifiers.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import pydantic
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Discriminator, Field, Tag
from pydantic.alias_generators import to_camel

from mesh_platform.contract.settings import Refused
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError, GlossaryError, MeshError, Problem
from mesh_platform.core.yaml_document import FieldPath, YamlDocument, kind_of, load_yaml_document
from mesh_platform.governance.value_mappings import BUILT_IN, ValueMapping, table_mapping
from mesh_platform.quality.rules import QualityRule, rules_for_contract
from mesh_platform.quality.thresholds import ZERO
from mesh_platform.storage.sql_functions import SqlSignature

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.contract.model import Column, Contract

LogicalType = Literal["string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"]
LOGICAL_TYPES: tuple[LogicalType, ...] = get_args(LogicalType)


@dataclass(frozen=True)
class Meaning:
    """What a term means in one domain."""

    name: str  # the domain whose meaning it is
    definition: str
    column: str | None = None  # the column that usually carries it
    pattern: str | None = None  # a regular expression every value matches
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Crosswalk:
    """A published product linking the identifiers of a term's meanings: meaning → its column."""

    product: Address
    columns: dict[str, str]


@dataclass(frozen=True)
class Term:
    name: str
    definition: str
    canonical: str = ""
    logical_type: str | None = None
    values: ValueMapping | None = None
    meanings: dict[str, Meaning] = field(default_factory=dict, metadata={"json_value": lambda m: list(m.values())})
    canonical_meaning: str | None = None
    crosswalk: Crosswalk | None = None
    relation: str = ""

    @property
    def is_polyseme(self) -> bool:
        return len(self.meanings) > 1


@dataclass(frozen=True)
class TermUse:
    """A column's term and the meaning it has there (None for a term with one meaning)."""

    term: Term
    meaning: Meaning | None

    @property
    def label(self) -> str:
        return f"{self.term.name}/{self.meaning.name}" if self.meaning and self.term.is_polyseme else self.term.name

    @property
    def pattern(self) -> str | None:
        return self.meaning.pattern if self.meaning else None


@dataclass(frozen=True)
class ColumnTermUse:
    """What the term a contract column names means there: `use`, or `error` when that is unclear."""

    index: int  # the column's position in the contract's schema
    column: Column
    use: TermUse | None = None
    error: TermUseError | None = None

    @property
    def label(self) -> str:
        """`term` or `term/meaning` as resolved; the column's own reference when it cannot be."""
        return self.use.label if self.use else str(self.column.settings.term)


class TermUseError(MeshError):
    """A column names a term the glossary lacks, or a polyseme without saying which meaning."""

    def __init__(self, message: str, fix: str):
        self.fix = fix
        super().__init__(message)


@dataclass(frozen=True)
class Glossary:
    file: Path
    terms: dict[str, Term]
    source: YamlDocument | None = None

    def term(self, name: str) -> Term:
        if name not in self.terms:
            raise TermUseError(
                f"the glossary has no term '{name}'",
                f"use one of: {', '.join(sorted(self.terms))}, or ask the governance group to add it to {self.file}",
            )
        return self.terms[name]

    def use(self, reference: str, domain: str) -> TermUse:
        """What `term` or `term/meaning` on a column of `domain` means; `TermUseError` when unclear."""
        name, _, explicit = reference.partition("/")
        term = self.term(name.strip())
        if explicit:
            if explicit not in term.meanings:
                known = ", ".join(f"{term.name}/{m}" for m in term.meanings) or f"{term.name} (it has one meaning)"
                raise TermUseError(f"term '{term.name}' has no meaning '{explicit}'", f"use {known}")
            return TermUse(term, term.meanings[explicit])
        if domain in term.meanings:
            return TermUse(term, term.meanings[domain])
        if term.canonical_meaning:
            return TermUse(term, term.meanings[term.canonical_meaning])
        if len(term.meanings) == 1:
            return TermUse(term, next(iter(term.meanings.values())))
        if term.is_polyseme and term.values is None:  # with canonical values, every meaning publishes the same
            options = " or ".join(f"{term.name}/{m}" for m in term.meanings)
            raise TermUseError(
                f"'{term.name}' means different things in {_and(list(term.meanings))}, and {domain} has no meaning of its own",
                f"name the meaning the column has: {options}",
            )
        return TermUse(term, None)

    def parameter(self, reference: str, name: str, domain: str) -> str:
        """A parameter of the meaning `reference` has in `domain` (e.g. active_user's window)."""
        use = self.use(reference, domain)
        parameters = use.meaning.parameters if use.meaning else {}
        if name not in parameters:
            known = ", ".join(parameters) or "none"
            raise TermUseError(f"meaning {use.label} has no parameter '{name}' (its parameters: {known})", f"see {self.file}")
        return parameters[name]

    def crosswalk(self, term: str, from_meaning: str, to_meaning: str) -> tuple[Address, str, str]:
        """The product and its two columns that translate `term` from one meaning's identifiers to another's."""
        found = self.term(term).crosswalk
        if found is None or from_meaning not in found.columns or to_meaning not in found.columns:
            raise TermUseError(
                f"the glossary has no crosswalk for {term} from {from_meaning} to {to_meaning}", f"see {self.file}"
            )
        return found.product, found.columns[from_meaning], found.columns[to_meaning]

    def column_terms(self, contract: Contract) -> list[ColumnTermUse]:
        """Each column of `contract` that names a term, with the meaning it has in the contract's domain."""
        found = []
        for index, column in enumerate(contract.columns):
            if not column.settings.term:
                continue
            try:
                found.append(ColumnTermUse(index, column, use=self.use(column.settings.term, contract.domain)))
            except TermUseError as error:
                found.append(ColumnTermUse(index, column, error=error))
        return found

    def line_of(self, path: FieldPath) -> int | None:
        return self.source.line_of(path) if self.source else None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def load_glossary(file: Path) -> Glossary:
    """Read and check a glossary file (none there: an empty glossary); `GlossaryError` lists every problem with its line."""
    file = Path(file)
    if not file.exists():
        return Glossary(file, {})
    return _load(file.resolve())


def _load(file: Path) -> Glossary:
    document = load_yaml_document(file, GlossaryError)
    try:
        spec = GlossaryFile.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise GlossaryError(_problems(document, error)) from None
    return Glossary(file, {name: entry.term(name) for name, entry in spec.terms.items()}, document)


# The glossary file's parts as typed models: each field is a setting of its part, any other key is refused (a typo
# would silently drop what it meant), and a refused value says where and what to write (`_Refusal`).


class _Refusal(ValueError):
    """Problems a validator finds: each a path below the value it checks (`..`: the entry holding it), a message and a
    fix. `{key}` in a message is the name of the entry the value belongs to (the term, the meaning's domain)."""

    def __init__(self, *problems: tuple[FieldPath, str, str]):
        super().__init__(problems[0][1])
        self.problems = problems


def _refuse(message: str, fix: str, at: FieldPath = ()) -> _Refusal:
    return _Refusal((at, message, fix))


class _Part(pydantic.BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, validate_by_name=True)


def _term_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _refuse(f"term name '{name}' is not a lowercase identifier", "use letters, digits and _")
    return name


def _text(value: Any) -> str:
    return str(value or "").strip()


def _term_definition(value: Any) -> str:
    if not _text(value):
        raise _refuse("term '{key}' has no definition", "say in one sentence what the word means across the mesh", ("..",))
    return _text(value)


def _meaning_definition(value: Any) -> str:
    if not value:
        raise _refuse(
            "the meaning for {key} has no definition",
            "write the definition as text, or {definition: …, parameters: {…}}",
            ("..",),
        )
    return _text(value)


def _pattern(value: Any) -> str | None:
    if value is None:
        return None
    try:
        re.compile(str(value))
    except re.error as error:
        raise _refuse(f"pattern '{value}' is not a regular expression: {error}", "fix the regular expression") from None
    return str(value)


def _parameters(value: Any) -> dict[str, str]:
    if not isinstance(value or {}, dict):
        raise _refuse("parameters must be a mapping of names to values", "e.g. parameters: {window: 7 days}")
    return {str(k): str(v) for k, v in (value or {}).items()}


class MeaningSpec(_Part):
    """What a term means in one domain: its definition as text, or a mapping."""

    definition: Annotated[str, BeforeValidator(_meaning_definition)] = Field("", validate_default=True)
    column: str | None = None
    pattern: Annotated[str | None, BeforeValidator(_pattern)] = None
    parameters: Annotated[dict[str, str], BeforeValidator(_parameters)] = Field(default_factory=dict)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"definition": value}
        if not isinstance(value, dict):
            raise _refuse(
                "the meaning for {key} has no definition", "write the definition as text, or {definition: …, parameters: {…}}"
            )
        return value

    def meaning(self, domain: str) -> Meaning:
        return Meaning(domain, self.definition, self.column, self.pattern, dict(self.parameters))


_VALUE_TABLE = (
    "a value table needs canonical: [values] and optional synonyms: {written: canonical}",
    "e.g. values: {canonical: [completed, cancelled], synonyms: {done: completed}}",
)


class ValueTableSpec(_Part):
    """A term's own table of canonical values, and the synonyms written for them."""

    canonical: list[str]
    synonyms: dict[str, str] = Field(default_factory=dict)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        canonical = value.get("canonical") if isinstance(value, dict) else None
        synonyms = (value.get("synonyms") or {}) if isinstance(value, dict) else {}
        if not isinstance(canonical, list) or not canonical or not isinstance(synonyms, dict):
            raise _refuse(*_VALUE_TABLE)
        written = {str(k): str(v) for k, v in synonyms.items()}
        return {**value, "canonical": [str(v) for v in canonical], "synonyms": written}

    @pydantic.model_validator(mode="after")
    def _synonyms_are_canonical(self) -> ValueTableSpec:
        wrong = [
            (("synonyms", written), f"synonym '{written}' maps to '{value}', which is not a canonical value")
            for written, value in self.synonyms.items()
            if value not in self.canonical
        ]
        if wrong:
            raise _Refusal(*((at, said, f"map it to one of: {', '.join(self.canonical)}") for at, said in wrong))
        return self


def _values(value: Any) -> Any:
    if isinstance(value, str) and value not in BUILT_IN:
        shipped = ", ".join(BUILT_IN)
        raise _refuse(
            f"value mapping '{value}' is unknown",
            f"use one the platform ships ({shipped}) or a table {{canonical: [...], synonyms: {{...}}}}",
        )
    if value is not None and not isinstance(value, str | dict):
        raise _refuse(*_VALUE_TABLE)
    return value


def _address(value: Any) -> Address:
    try:
        return Address.parse(str(value))
    except AddressError as error:
        raise _refuse(str(error), "write mesh://<domain>/<product>") from None


# A value mapping the platform ships, by name, or the term's own table.
_ValueMapping = Annotated[
    Annotated[str, Tag("built-in mapping")] | Annotated[ValueTableSpec, Tag("value table")],
    Discriminator(lambda value: "built-in mapping" if isinstance(value, str) else "value table"),
]


class CrosswalkSpec(_Part):
    """A published product linking the identifiers of a term's meanings: meaning → its column."""

    product: Annotated[Address, BeforeValidator(_address)]
    columns: dict[str, str]

    @pydantic.model_validator(mode="before")
    @classmethod
    def _needs_both(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value.get("product") or not isinstance(value.get("columns"), dict):
            raise _refuse(
                "a crosswalk needs product: mesh://<domain>/<product> and columns: {meaning: column}",
                "see the customer term for an example",
            )
        return {**value, "columns": {str(k): str(v) for k, v in value["columns"].items()}}


class TermSpec(_Part):
    """One term of the glossary, as the file writes it."""

    definition: Annotated[str, BeforeValidator(_term_definition)] = Field("", validate_default=True)
    canonical: Annotated[str, BeforeValidator(_text)] = ""
    logical_type: Annotated[
        LogicalType | None, Refused("logicalType '{value}' is unknown", f"use one of: {', '.join(LOGICAL_TYPES)}")
    ] = None
    values: Annotated[_ValueMapping | None, BeforeValidator(_values)] = None
    meanings: dict[str, MeaningSpec] = Field(default_factory=dict)
    canonical_meaning: str | None = None
    crosswalk: CrosswalkSpec | None = None
    relation: Annotated[str, BeforeValidator(_text)] = ""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise _refuse("term '{key}' has no definition", "say in one sentence what the word means across the mesh")
        return value

    @pydantic.model_validator(mode="after")
    def _meanings_named_exist(self) -> TermSpec:
        known = f"use one of: {', '.join(self.meanings) or 'none (add meanings)'}"
        problems: list[tuple[FieldPath, str, str]] = []
        if self.canonical_meaning is not None and self.canonical_meaning not in self.meanings:
            said = f"'{self.canonical_meaning}' is not one of the term's meanings"
            problems.append((("canonicalMeaning",), said, known))
        if self.crosswalk is not None:
            problems += [
                (("crosswalk", "columns", meaning), f"'{meaning}' is not one of the term's meanings", known)
                for meaning in self.crosswalk.columns
                if meaning not in self.meanings
            ]
            if len(self.crosswalk.columns) < 2:
                said = "a crosswalk links at least two meanings"
                problems.append((("crosswalk", "columns"), said, "name the column of each meaning it links"))
        if problems:
            raise _Refusal(*problems)
        return self

    def term(self, name: str) -> Term:
        values = self.values
        if isinstance(values, ValueTableSpec):
            mapping: ValueMapping | None = table_mapping(f"{name} values", values.canonical, dict(values.synonyms))
        else:
            mapping = BUILT_IN[values] if values is not None else None
        crosswalk = Crosswalk(self.crosswalk.product, dict(self.crosswalk.columns)) if self.crosswalk else None
        meanings = {domain: meaning.meaning(domain) for domain, meaning in self.meanings.items()}
        return Term(
            name,
            self.definition,
            self.canonical,
            self.logical_type,
            mapping,
            meanings,
            self.canonical_meaning,
            crosswalk,
            self.relation,
        )


def _terms(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise _refuse("terms must be a mapping of term name → its definition", "write terms: {<term>: {definition: …}}")
    return {str(name): entry for name, entry in (value or {}).items()}


class GlossaryFile(_Part):
    """The glossary file: its terms by name (none yet: `terms:` or `terms: {}`)."""

    terms: Annotated[dict[Annotated[str, AfterValidator(_term_name)], TermSpec], BeforeValidator(_terms)] = Field(
        default_factory=dict
    )


# Each part's model by where it is written (`*`: any name), for the keys a misspelt setting could have meant.
_PARTS: dict[tuple[str, ...], type[_Part]] = {
    (): GlossaryFile,
    ("terms", "*"): TermSpec,
    ("terms", "*", "meanings", "*"): MeaningSpec,
    ("terms", "*", "values"): ValueTableSpec,
    ("terms", "*", "crosswalk"): CrosswalkSpec,
}


def _problems(document: YamlDocument, error: pydantic.ValidationError) -> list[Problem]:
    """The glossary models' validation error as the located problems it means, in the file's order."""
    problems: list[Problem] = []
    for item in error.errors():
        path = _written(document.data, item["loc"])
        refusal = (item.get("ctx") or {}).get("error")
        if item["type"] == "extra_forbidden":
            problems.append(_unknown_setting(document, path))
        elif isinstance(refusal, _Refusal):
            for at, message, fix in refusal.problems:
                where = (*path[:-1],) if at[:1] == ("..",) else (*path, *at)
                key = next((str(part) for part in reversed(where) if isinstance(part, str)), "")
                problems.append(document.problem(where, message.replace("{key}", key), fix))
        elif (explained := _explained(path)) is not None:
            value = _value_at(document.data, path)
            problems.append(document.problem(path, explained.message.format(value=value), explained.fix.format(value=value)))
        else:
            problems.append(document.problem(path, f"{kind_of(item['input'])}: {item['msg']}", "see the glossary's format above"))
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)


# Location parts of the models that the document does not write: a dict key's check, the value union's members.
_UNWRITTEN = frozenset({"[key]", "built-in mapping", "value table"})


def _written(data: Any, location: tuple[int | str, ...]) -> tuple[str | int, ...]:
    """The path in the document of an error's location (a field the document lacks kept: its line is its parent's)."""
    path: list[str | int] = []
    node = data
    for part in location:
        if part in _UNWRITTEN:
            continue
        node = node.get(part) if isinstance(node, dict) else None
        path.append(part)
    return tuple(path)


def _part_at(path: FieldPath) -> type[_Part] | None:
    for pattern, model in _PARTS.items():
        if len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True)):
            return model
    return None


def _unknown_setting(document: YamlDocument, path: tuple[str | int, ...]) -> Problem:
    model = _part_at(path[:-1])
    known = tuple(field.alias or name for name, field in model.model_fields.items()) if model else ()
    nearest = difflib.get_close_matches(str(path[-1]), known, n=1)
    hint = f"did you mean '{nearest[0]}'? " if nearest else ""
    return document.problem(
        path, f"unknown setting '{path[-1]}' (a typo?)", f"{hint}this part of the glossary knows: {', '.join(known)}"
    )


def _explained(path: tuple[str | int, ...]) -> Refused | None:
    model = _part_at(path[:-1])
    names = {field.alias or name: field for name, field in model.model_fields.items()} if model else {}
    found = names.get(str(path[-1])) if path else None
    return next((m for m in found.metadata if isinstance(m, Refused)), None) if found else None


def _value_at(data: Any, path: FieldPath) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None  # the glossary's parts are all mappings
    return data


def term_value_mappings(contract: Contract, glossary: Glossary) -> dict[str, ValueMapping]:
    """The columns of a contract normalized on publish: column → its term's value mapping."""
    # A term use that is unclear has nothing to normalize to; the glossary policy reports it.
    return {t.column.name: t.use.term.values for t in glossary.column_terms(contract) if t.use and t.use.term.values is not None}


def term_rules(contract: Contract, glossary: Glossary) -> list[QualityRule]:
    """A column carrying a glossary term holds the term's canonical values (after normalization on
    publish) and matches its meaning's pattern. Unclear term uses are the glossary policy's to report."""
    rules = []
    for found in glossary.column_terms(contract):
        if found.use is None:
            continue
        index, column, use = found.index, found.column, found.use
        source = f"schema[0].properties[{index}] term {use.label} ({glossary.file.name})"
        if use.term.values is not None:
            rules.append(
                QualityRule(
                    name=f"{column.name}_is_{use.term.name}",
                    description=f"{column.name} holds canonical {use.term.name} values: "
                    f"{use.term.canonical or use.term.values.description}.",
                    severity="error",
                    source=source,
                    threshold=ZERO,
                    column=column.name,
                    expectation="ExpectColumnValuesToBeInSet",
                    arguments={"column": column.name, "value_set": sorted(use.term.values.canonical_values)},
                )
            )
        if use.pattern:
            rules.append(
                QualityRule(
                    name=f"{column.name}_is_{use.term.name}_id" if use.term.values else f"{column.name}_is_{use.term.name}",
                    description=f"{column.name} is a {use.label} identifier ({use.pattern}).",
                    severity="error",
                    source=source,
                    threshold=ZERO,
                    column=column.name,
                    expectation="ExpectColumnValuesToMatchRegex",
                    arguments={"column": column.name, "regex": use.pattern},
                )
            )
    return rules


def rules_with_terms(contract: Contract, glossary: Glossary) -> list[QualityRule]:
    """A product's quality rules: its contract's, then the checks of the glossary terms its columns carry.

    Raises `ContractError` naming the field and line of a rule the mesh cannot run."""
    return rules_for_contract(contract, term_rules(contract, glossary))


TERM_PARAMETER = SqlSignature("term_parameter", ("VARCHAR", "VARCHAR"), "VARCHAR")


def register_term_parameter(connection: duckdb.DuckDBPyConnection, glossary: Glossary, domain: str) -> None:
    """Give SQL `term_parameter(term, name)`: the parameter of `domain`'s meaning of a term,
    e.g. `CAST(term_parameter('active_user', 'window') AS INTERVAL)` → 7 days in web_analytics."""

    def term_parameter(term, name):  # no annotations: DuckDB evaluates them at registration
        return glossary.parameter(term, name, domain)

    signature = TERM_PARAMETER
    connection.create_function(signature.name, term_parameter, list(signature.arguments), signature.returns, side_effects=False)


@dataclass(frozen=True)
class ColumnTerm:
    """A column of a product that carries a term (`label` names the meaning; `problem` when unclear)."""

    address: str = field(metadata={"json_name": "product"})
    column: str
    label: str = field(metadata={"json_name": "meaning"})
    problem: str | None = None


def term_uses(glossary: Glossary, contracts: list[Contract]) -> dict[str, list[ColumnTerm]]:
    """For every term the contracts name: the columns carrying it, with their meanings."""
    uses: dict[str, list[ColumnTerm]] = {}
    for contract in sorted(contracts, key=lambda c: c.address):
        for found in glossary.column_terms(contract):
            problem = str(found.error) if found.error else None
            name = str(found.column.settings.term).partition("/")[0]
            uses.setdefault(name, []).append(ColumnTerm(str(contract.address), found.column.name, found.label, problem))
    return uses
