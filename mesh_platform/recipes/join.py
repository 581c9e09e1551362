"""The `join` recipe: inputs joined by keys, across domains too. No code, only configuration.

The first input is the base; each join adds one more input, matched on key
columns. The output has the base's columns, then each joined input's other
columns; a name already taken gets the input's alias as a prefix
(`profiles_country_code`). By default each joined input must be unique on its
keys, so a join never repeats rows of the base.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.recipes.base import ProductRecipe
from mesh_platform.storage.domain_database import quote

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


class JoinStep(dg.Model):
    input: str = Field(description="Alias of the input to join (its product name unless renamed with 'as').")
    # Not `on`: YAML 1.1 reads a bare `on` key as the boolean true.
    keys: list[str] = Field(
        description="Key columns: 'column' when both sides call it the same, else 'joined_so_far_column = input_column'."
    )
    how: Literal["left", "inner", "full"] = Field(default="left", description="left keeps every row of what is joined so far.")
    unique: bool = Field(default=True, description="Require the input to be unique on its keys (no repeated rows).")

    def pairs(self) -> list[tuple[str, str]]:
        result = []
        for item in self.keys:
            left, _, right = item.partition("=")
            result.append((left.strip(), (right or left).strip()))
        return result


@dataclass(frozen=True)
class JoinedColumn:
    name: str  # in the output
    alias: str  # input it comes from
    source: str  # column of that input


def plan_join(base: str, columns: Mapping[str, Sequence[str]], joins: Sequence[JoinStep]) -> list[JoinedColumn]:
    """The output columns of a join, from each input's columns (used at build time and by `mesh new`)."""
    output = [JoinedColumn(c, base, c) for c in columns[base]]
    for step in joins:
        taken = {c.name for c in output}
        for left, right in step.pairs():
            if left not in taken:
                raise MeshError(f"join of {step.input}: no column '{left}' to join on (available: {', '.join(sorted(taken))})")
            if right not in columns[step.input]:
                raise MeshError(f"join of {step.input}: it has no column '{right}' (its columns: {', '.join(columns[step.input])})")
        right_keys = {right for _, right in step.pairs()}
        for column in columns[step.input]:
            if column in right_keys:
                continue
            name = column if column not in taken else f"{step.input}_{column}"
            output.append(JoinedColumn(name, step.input, column))
    return output


class JoinProduct(ProductRecipe):
    """Joins its inputs on key columns: the first input, then each join in order."""

    kind = "sql"

    joins: list[JoinStep] = Field(description="One entry per input after the first, in the order they are joined.")

    def check_recipe(self, folder: Path) -> list[str]:
        from mesh_platform.core.inputs import parse_inputs

        aliases = [i.alias for i in parse_inputs(self.inputs)]
        if len(aliases) < 2:
            return ["a join reads two or more inputs"]
        joined = [j.input for j in self.joins]
        if sorted(joined) != sorted(aliases[1:]):
            return [f"joins must name each input after the first once: expected {', '.join(aliases[1:])}, got {', '.join(joined) or 'none'}"]
        return []

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        base = build.inputs[0].alias
        columns = {i.alias: build.input(i.alias).columns for i in build.inputs}
        try:
            planned = plan_join(base, columns, self.joins)
        except MeshError as error:
            raise MeshError(f"{build.contract.address}: {error}") from None
        origin: dict[str, tuple[str, str]] = {c: (base, c) for c in columns[base]}
        clauses = []
        for step in self.joins:
            if step.unique:
                self._require_unique(build, step)
            condition = " AND ".join(
                f"{quote(origin[left][0])}.{quote(origin[left][1])} = {quote(step.input)}.{quote(right)}" for left, right in step.pairs()
            )
            clauses.append(f"{step.how.upper()} JOIN {quote(step.input)} ON {condition}")
            origin.update({c.name: (c.alias, c.source) for c in planned if c.alias == step.input})
        select = ", ".join(f"{quote(c.alias)}.{quote(c.source)} AS {quote(c.name)}" for c in planned)
        return build.connection.sql(f"SELECT {select} FROM {quote(base)} {' '.join(clauses)}")

    @staticmethod
    def _require_unique(build: BuildContext, step: JoinStep) -> None:
        keys = ", ".join(quote(right) for _, right in step.pairs())
        repeated = build.connection.execute(
            f"SELECT count(*) FROM (SELECT {keys} FROM {quote(step.input)} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if repeated:
            raise MeshError(
                f"{build.contract.address}: {step.input} has {repeated} repeated key(s) on ({keys}); the join would repeat rows. "
                "Join on a unique key, or set unique: false on this join if repeating rows is intended."
            )
