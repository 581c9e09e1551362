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
from typing import TYPE_CHECKING, Any

from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError, GlossaryError, MeshError, Problem
from mesh_platform.core.yaml_document import FieldPath, YamlDocument, load_yaml_document
from mesh_platform.governance.value_mappings import BUILT_IN, ValueMapping, table_mapping
from mesh_platform.quality.rules import QualityRule, rules_for_contract
from mesh_platform.quality.thresholds import ZERO
from mesh_platform.storage.sql_functions import SqlSignature

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.contract.model import Column, Contract

LOGICAL_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array")
# The settings each part of the glossary has: any other key is refused (a typo would silently drop what it meant).
TERM_KEYS = ("definition", "canonical", "logicalType", "values", "meanings", "canonicalMeaning", "crosswalk", "relation")
MEANING_KEYS = ("definition", "column", "pattern", "parameters")
VALUE_TABLE_KEYS = ("canonical", "synonyms")
CROSSWALK_KEYS = ("product", "columns")


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
    meanings: dict[str, Meaning] = field(default_factory=dict)
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
    reader = _GlossaryReader(document)
    terms = reader.read()
    if reader.problems:
        raise GlossaryError(reader.problems)
    return Glossary(file, terms, document)


class _GlossaryReader:
    def __init__(self, document: YamlDocument):
        self.doc = document
        self.problems: list[Problem] = []

    def fail(self, path: FieldPath, message: str, fix: str) -> None:
        self.problems.append(self.doc.problem(path, message, fix))

    def known_keys(self, path: FieldPath, entry: Any, known: tuple[str, ...]) -> None:
        """Fail every key of `entry` (a mapping) that is not one of `known`, with the nearest known one."""
        for key in entry if isinstance(entry, dict) else ():
            if key not in known:
                nearest = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean '{nearest[0]}'? " if nearest else ""
                self.fail(
                    (*path, str(key)),
                    f"unknown setting '{key}' (a typo?)",
                    f"{hint}this part of the glossary knows: {', '.join(known)}",
                )

    def read(self) -> dict[str, Term]:
        self.known_keys((), self.doc.data, ("terms",))
        entries = self.doc.data.get("terms")
        if entries is None:
            return {}  # a glossary with no terms yet (`terms:` or `terms: {}`): nothing to check
        if not isinstance(entries, dict):
            self.fail(
                ("terms",), "terms must be a mapping of term name → its definition", "write terms: {<term>: {definition: …}}"
            )
            return {}
        terms = {}
        for name, entry in entries.items():
            if (term := self.term(str(name), entry)) is not None:
                terms[term.name] = term
        return terms

    def term(self, name: str, entry: Any) -> Term | None:
        path: tuple[str | int, ...] = ("terms", name)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            self.fail(path, f"term name '{name}' is not a lowercase identifier", "use letters, digits and _")
        if not isinstance(entry, dict) or not str(entry.get("definition") or "").strip():
            self.fail(path, f"term '{name}' has no definition", "say in one sentence what the word means across the mesh")
            return None
        self.known_keys(path, entry, TERM_KEYS)
        logical_type = entry.get("logicalType")
        if logical_type is not None and logical_type not in LOGICAL_TYPES:
            self.fail(
                (*path, "logicalType"), f"logicalType '{logical_type}' is unknown", f"use one of: {', '.join(LOGICAL_TYPES)}"
            )
        meanings = {}
        for domain, meaning in (entry.get("meanings") or {}).items():
            meanings[str(domain)] = self.meaning((*path, "meanings", str(domain)), str(domain), meaning)
        canonical_meaning = entry.get("canonicalMeaning")
        if canonical_meaning is not None and canonical_meaning not in meanings:
            self.fail(
                (*path, "canonicalMeaning"),
                f"'{canonical_meaning}' is not one of the term's meanings",
                f"use one of: {', '.join(meanings) or 'none (add meanings)'}",
            )
        return Term(
            name=name,
            definition=str(entry["definition"]).strip(),
            canonical=str(entry.get("canonical") or "").strip(),
            logical_type=logical_type,
            values=self.values((*path, "values"), name, entry.get("values")),
            meanings=meanings,
            canonical_meaning=canonical_meaning,
            crosswalk=self.crosswalk((*path, "crosswalk"), entry.get("crosswalk"), meanings),
            relation=str(entry.get("relation") or "").strip(),
        )

    def meaning(self, path: FieldPath, domain: str, entry: Any) -> Meaning:
        if isinstance(entry, str):
            return Meaning(domain, entry.strip())
        if not isinstance(entry, dict) or not entry.get("definition"):
            self.fail(
                path,
                f"the meaning for {domain} has no definition",
                "write the definition as text, or {definition: …, parameters: {…}}",
            )
            return Meaning(domain, "")
        self.known_keys(path, entry, MEANING_KEYS)
        pattern = entry.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as error:
                self.fail(
                    (*path, "pattern"), f"pattern '{pattern}' is not a regular expression: {error}", "fix the regular expression"
                )
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict):
            self.fail(
                (*path, "parameters"), "parameters must be a mapping of names to values", "e.g. parameters: {window: 7 days}"
            )
            parameters = {}
        return Meaning(
            domain,
            str(entry["definition"]).strip(),
            column=entry.get("column"),
            pattern=str(pattern) if pattern is not None else None,
            parameters={str(k): str(v) for k, v in parameters.items()},
        )

    def values(self, path: FieldPath, term: str, entry: Any) -> ValueMapping | None:
        if entry is None:
            return None
        if isinstance(entry, str):
            if entry not in BUILT_IN:
                self.fail(
                    path,
                    f"value mapping '{entry}' is unknown",
                    f"use one the platform ships ({', '.join(BUILT_IN)}) or a table {{canonical: [...], synonyms: {{...}}}}",
                )
                return None
            return BUILT_IN[entry]
        self.known_keys(path, entry, VALUE_TABLE_KEYS)
        canonical = entry.get("canonical") if isinstance(entry, dict) else None
        synonyms = (entry.get("synonyms") or {}) if isinstance(entry, dict) else {}
        if not isinstance(canonical, list) or not canonical or not isinstance(synonyms, dict):
            self.fail(
                path,
                "a value table needs canonical: [values] and optional synonyms: {written: canonical}",
                "e.g. values: {canonical: [completed, cancelled], synonyms: {done: completed}}",
            )
            return None
        canonical = [str(value) for value in canonical]
        for written, value in synonyms.items():
            if str(value) not in canonical:
                self.fail(
                    (*path, "synonyms", str(written)),
                    f"synonym '{written}' maps to '{value}', which is not a canonical value",
                    f"map it to one of: {', '.join(canonical)}",
                )
        return table_mapping(f"{term} values", canonical, {str(k): str(v) for k, v in synonyms.items()})

    def crosswalk(self, path: FieldPath, entry: Any, meanings: dict[str, Meaning]) -> Crosswalk | None:
        if entry is None:
            return None
        self.known_keys(path, entry, CROSSWALK_KEYS)
        if not isinstance(entry, dict) or not entry.get("product") or not isinstance(entry.get("columns"), dict):
            self.fail(
                path,
                "a crosswalk needs product: mesh://<domain>/<product> and columns: {meaning: column}",
                "see the customer term for an example",
            )
            return None
        try:
            product = Address.parse(str(entry["product"]))
        except AddressError as error:
            self.fail((*path, "product"), str(error), "write mesh://<domain>/<product>")
            return None
        columns = {str(k): str(v) for k, v in entry["columns"].items()}
        for meaning in columns:
            if meaning not in meanings:
                self.fail(
                    (*path, "columns", meaning),
                    f"'{meaning}' is not one of the term's meanings",
                    f"use one of: {', '.join(meanings)}",
                )
        if len(columns) < 2:
            self.fail((*path, "columns"), "a crosswalk links at least two meanings", "name the column of each meaning it links")
        return Crosswalk(product, columns)


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
                    description=f"{column.name} holds canonical {use.term.name} values: {use.term.canonical or use.term.values.description}.",
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

    address: str
    column: str
    label: str
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
