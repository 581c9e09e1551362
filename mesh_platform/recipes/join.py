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
from pydantic import Field, model_validator

from mesh_platform.catalog.catalog import Product
from mesh_platform.core.errors import MeshError
from mesh_platform.core.inputs import ProductInput, parse_inputs
from mesh_platform.core.sql import quote
from mesh_platform.governance.access import may_read
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, seen_by

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
                raise MeshError(
                    f"join of {step.input}: it has no column '{right}' (its columns: {', '.join(columns[step.input])})"
                )
        right_keys = {right for _, right in step.pairs()}
        for column in columns[step.input]:
            if column in right_keys:
                continue
            name = column if column not in taken else f"{step.input}_{column}"
            output.append(JoinedColumn(name, step.input, column))
    return output


class JoinProduct(ProductRecipe):
    """Inputs joined on their keys, across domains too (through a crosswalk product when their keys differ); no code."""

    template = "join"
    kind = "sql"

    inputs: list[InputAddress] = inputs_field(min_inputs=2)
    joins: list[JoinStep] = Field(min_length=1, description="One entry per input after the first, in the order they are joined.")

    @model_validator(mode="after")
    def _every_input_joined_once(self) -> JoinProduct:
        aliases = [i.alias for i in parse_inputs(self.inputs)]
        joined = [j.input for j in self.joins]
        if sorted(joined) != sorted(aliases[1:]):
            raise ValueError(
                f"joins must name each input after the first once: expected {', '.join(aliases[1:])}, got "
                f"{', '.join(joined) or 'none'}"
            )
        return self

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        """Join each input in turn on its key; where two inputs share no key, go through a crosswalk product."""
        base, *rest = request.inputs
        products = [base]
        steps: list[JoinStep] = []
        available = {c.name for c in base.contract.columns}
        for product in rest:
            keys = _join_keys(available, product)
            if keys is None:
                bridge, bridge_keys = _find_bridge(request, available, product, exclude={p.address for p in products})
                products.append(bridge)
                steps.append(JoinStep(input=bridge.address.product, keys=bridge_keys))
                available |= {c.name for c in bridge.contract.columns}
                keys = _join_keys(available, product)
                assert keys is not None
            products.append(product)
            steps.append(JoinStep(input=product.address.product, keys=keys))
            available |= {c.name for c in product.contract.columns}
        columns_by_alias = {p.address.product: [c.name for c in p.contract.columns] for p in products}
        contracts = {p.address.product: p.contract for p in products}
        planned = plan_join(base.address.product, columns_by_alias, steps)
        columns = []
        for joined in planned:
            column = contracts[joined.alias].column(joined.source)
            if joined.alias != base.address.product:
                # A left join leaves these empty where nothing matches; they are not the product's key.
                column = column.changed(required=False, unique=False, primary_key=False, primary_key_position=None)
            columns.append(column.changed(name=joined.name))
        notes = [f"joins through {p.address} to link keys" for p in products if p not in request.inputs]
        inputs = [ProductInput(p.address, p.address.product) for p in products]
        return Plan(columns, inputs, {"joins": steps}, notes)

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        base = next(iter(inputs))
        try:
            planned = plan_join(base, inputs, self.joins)
        except MeshError as error:
            return RecipeLineage.unknown(inputs, str(error), method="configured")
        origin = {c.name: (c.alias, c.source) for c in planned}
        keys = [
            k
            for step in self.joins
            for left, right in step.pairs()
            for k in (origin.get(left, (base, left)), (step.input, right))
        ]
        # An outer join leaves the columns of the side without a match empty.
        how = {step.input: step.how for step in self.joins}
        empty = {c.name for c in planned if "full" in how.values() or how.get(c.alias) == "left"}
        copies = {c.name: (c.alias, c.source) for c in planned}
        return RecipeLineage.of("configured", {c.name: [(c.alias, c.source)] for c in planned}, keys, copies, empty)

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
                f"{quote(origin[left][0])}.{quote(origin[left][1])} = {quote(step.input)}.{quote(right)}"
                for left, right in step.pairs()
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


def _join_keys(available: set[str], product: Product) -> list[str] | None:
    """Keys to join `product` on: its primary key (or a unique column) when already available."""
    columns = product.contract.columns
    primary = [c.name for c in sorted((c for c in columns if c.primary_key), key=lambda c: c.primary_key_position)]
    if primary and set(primary) <= available:
        return primary
    unique = [c.name for c in columns if c.unique and c.name in available]
    return unique[:1] or None


def _find_bridge(request: PlanRequest, available: set[str], product: Product, exclude: set) -> tuple[Product, list[str]]:
    """A product of the mesh holding a column we have and the target's key: an identifier crosswalk."""
    for candidate in sorted(request.catalog.products.values(), key=lambda p: p.address):
        if (
            candidate.address in exclude
            or candidate.address == product.address
            or not may_read(candidate.contract, request.domain)
        ):
            continue
        candidate = seen_by(candidate, request.domain)
        keys = _join_keys(available, candidate)
        names = {c.name for c in candidate.contract.columns}
        if keys and _join_keys(available | names, product):
            return candidate, keys
    raise MeshError(
        f"{product.address} shares no key with the inputs before it and no product of the mesh links them; "
        "add an input that does, or create the product with the sql template"
    )
