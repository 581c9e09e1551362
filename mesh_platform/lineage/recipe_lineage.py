"""What one recipe says about its columns: which input columns each output column comes from, and which it reads.

Two relations, both in terms of the recipe's input aliases:

  - `derives`: output column → the input columns its values are computed from (what
    Dagster's `dagster/column_lineage` shows, and what personal data follows);
  - `reads`: every input column the recipe uses at all — in a value, a filter, a join key,
    a grouping or an ordering. Dropping any of them breaks the build, which is what a
    contract change's impact is judged on.

Besides, `copies` names the output columns whose values are one input column's, unchanged
(`SELECT customer_id`, a filter's columns): what a new contract carries over from the
input (description, classification, term, `required` unless an outer join may leave it empty).

How each is known is the recipe's `method`: parsed from SQL (`sql`), by construction for
the configured recipes (`configured`), declared in a Python recipe (`declared`), none for
a source reading files (`source`), or not known (`undeclared`: a Python recipe declaring
nothing is taken to read every column of its inputs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Method = Literal["sql", "configured", "declared", "source", "undeclared"]
# How each method knows the lineage, in words (the asset's lineage table, `mesh lineage`).
METHOD_DESCRIPTIONS: dict[Method, str] = {
    "sql": "parsed from the recipe's SQL",
    "configured": "from the recipe's configuration",
    "declared": "declared in the recipe",
    "source": "a source: its columns start in the delivered files",
    "undeclared": "not known",
}
InputColumn = tuple[str, str]  # (input alias, column of that input)


@dataclass(frozen=True)
class RecipeLineage:
    method: Method
    derives: Mapping[str, tuple[InputColumn, ...]] = field(default_factory=dict)
    reads: frozenset[InputColumn] = frozenset()
    problem: str | None = None  # why the lineage is not known (a query sqlglot cannot follow)
    copies: Mapping[str, InputColumn] = field(default_factory=dict)  # output column → the input column it copies
    nullable_copies: frozenset[str] = frozenset()  # copies an outer join may leave empty

    @classmethod
    def of(
        cls,
        method: Method,
        derives: Mapping[str, Iterable[InputColumn]],
        also_reads: Iterable[InputColumn] = (),
        copies: Mapping[str, InputColumn] | None = None,
        nullable_copies: Iterable[str] = (),
    ) -> RecipeLineage:
        """Lineage from what each output column derives from; `reads` is that plus `also_reads` (keys, conditions)."""
        derived = {column: tuple(sorted(set(sources))) for column, sources in derives.items()}
        reads = frozenset(source for sources in derived.values() for source in sources) | frozenset(also_reads)
        return cls(method, derived, reads, copies=dict(copies or {}), nullable_copies=frozenset(nullable_copies))

    @classmethod
    def identity(cls, alias: str, columns: Iterable[str], also_reads: Iterable[InputColumn] = ()) -> RecipeLineage:
        """Each column a copy of the same-named column of one input (a filter)."""
        columns = list(columns)
        return cls.of("configured", {c: [(alias, c)] for c in columns}, also_reads, copies={c: (alias, c) for c in columns})

    @classmethod
    def unknown(cls, inputs: Mapping[str, list[str]], problem: str, method: Method = "undeclared") -> RecipeLineage:
        """Nothing known about values; every input column taken as read (so no change to an input looks harmless)."""
        return cls(method, {}, frozenset((alias, c) for alias, columns in inputs.items() for c in columns), problem)
