"""Value mappings: how what people write becomes a glossary term's canonical form.

A glossary term names one in `values:`. Either one the platform ships —
`iso-3166-1-alpha-2` maps every way of writing a country that ISO 3166 knows
(codes, names, official and common names, from the maintained `pycountry`
package) to its alpha-2 code — or a table written in the glossary:

    values:
      canonical: [completed, cancelled, refunded]
      synonyms: {done: completed, canceled: cancelled}

On publish a column carrying the term passes through the mapping's SQL (inside
DuckDB, on the whole column); a value the mapping does not know stays as written,
so the term's check then fails on it and names it instead of hiding it as NULL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from mesh_platform.core.countries import iso_alpha2_codes, iso_country_code
from mesh_platform.core.sql import literal


@dataclass(frozen=True)
class ValueMapping:
    """A mapping to canonical values; `sql(expression)` applies it in DuckDB."""

    name: str = field(metadata={"json_name": "mapping"})
    description: str
    _canonical: Callable[[], frozenset[str]] = field(metadata={"json_name": None})
    _normalize: Callable[[str], str | None] = field(metadata={"json_name": None})
    _sql: Callable[[str], str] = field(metadata={"json_name": None})
    synonyms: dict[str, str] = field(default_factory=dict, metadata={"json_name": None})
    json_properties: ClassVar[dict[str, str]] = {"canonical_values": "canonical_count"}  # JSON: how many

    @property
    def canonical_count(self) -> int:
        return len(self.canonical_values)

    @property
    def canonical_values(self) -> frozenset[str]:
        return self._canonical()

    def normalize(self, value: str | None) -> str | None:
        """The canonical form of `value`, or None when the mapping does not know it."""
        return None if value is None else self._normalize(value)

    def sql(self, expression: str) -> str:
        """SQL giving the canonical form of `expression`, or the value unchanged when unknown."""
        return self._sql(expression)


ISO_COUNTRIES = ValueMapping(
    name="iso-3166-1-alpha-2",
    description="any way of writing a country ISO 3166-1 knows → its alpha-2 code (pycountry); ZZ = unknown",
    _canonical=iso_alpha2_codes,
    _normalize=iso_country_code,
    # country_code() is the platform's SQL function over the same mapping (storage/sql_functions.py).
    _sql=lambda expression: f"coalesce(country_code(CAST({expression} AS VARCHAR)), CAST({expression} AS VARCHAR))",
)

BUILT_IN: dict[str, ValueMapping] = {m.name: m for m in (ISO_COUNTRIES,)}


def table_mapping(name: str, canonical: list[str], synonyms: dict[str, str]) -> ValueMapping:
    """A mapping written in the glossary: canonical values, and written forms → canonical value.

    Matching ignores case and surrounding blanks."""
    known = {value.strip().lower(): value for value in canonical}
    known.update({written.strip().lower(): value for written, value in synonyms.items()})
    values = frozenset(canonical)

    def sql(expression: str) -> str:
        cases = " ".join(f"WHEN {literal(written)} THEN {literal(value)}" for written, value in sorted(known.items()))
        return f"CASE lower(trim(CAST({expression} AS VARCHAR))) {cases} ELSE {expression} END"

    return ValueMapping(
        name=name,
        description=f"{len(values)} canonical values, {len(synonyms)} synonyms",
        _canonical=lambda: values,
        _normalize=lambda value: known.get(value.strip().lower()),
        _sql=sql,
        synonyms=dict(synonyms),
    )
