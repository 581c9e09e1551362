"""Column lineage across the mesh: each product's columns traced to the columns of the products it reads.

A product's recipe says its lineage in terms of its input aliases (`RecipeLineage`);
here the aliases become addresses, so lineage crosses domains: `marketing/customer_360`'s
`lifetime_revenue_usd` comes from `mesh://sales/orders.amount_usd`, which comes from
`mesh://sales/raw_orders.amount_usd`. `MeshLineage` answers both directions, one step
or all the way (`mesh lineage`), and who reads a column (a contract change's impact).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError, FileProblemsError, MeshError
from mesh_platform.lineage.recipe_lineage import Method, RecipeLineage

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Catalog, Product

# How a product's recipe states its lineage: (product, its inputs' columns by alias) → RecipeLineage.
# The recipe types are Dagster components, a layer above: the package's `__init__` sets it (loading them lazily).
RecipeLineageOf = Callable[["Product", Mapping[str, list[str]]], RecipeLineage]

_COLUMN_ADDRESS = re.compile(r"^(?P<product>mesh://[^.\s]+)\.(?P<column>[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one product: `mesh://sales/orders.amount_usd`."""

    address: Address
    column: str
    json_text: ClassVar[bool] = True  # written as its text (mesh://sales/orders.amount) in JSON: core.json_values

    @classmethod
    def parse(cls, text: str) -> ColumnRef:
        match = _COLUMN_ADDRESS.match(text.strip())
        if not match:
            raise AddressError(f"'{text}' is not a column address; write mesh://<domain>/<product>.<column>")
        return cls(Address.parse(match["product"]).unversioned(), match["column"])

    def __str__(self) -> str:
        return f"{self.address}.{self.column}"


@dataclass(frozen=True)
class ProductLineage:
    """A product's columns, each with the input columns it derives from; and every input column it reads."""

    address: Address
    method: Method
    derives: dict[str, tuple[ColumnRef, ...]]  # every contract column; () when made from no input column
    reads: frozenset[ColumnRef]
    problem: str | None = None
    recipe_loads: bool = True  # False: nothing is known because the recipe itself is refused (mesh.recipe says why)

    @classmethod
    def resolve(cls, product: Product, lineage: RecipeLineage, recipe_loads: bool = True) -> ProductLineage:
        """The recipe's alias-level lineage in addresses, over the contract's columns."""
        by_alias = {i.alias: i.address.unversioned() for i in product.inputs}

        def ref(alias: str, column: str) -> ColumnRef:
            return ColumnRef(by_alias[alias], column)

        derives = {
            c.name: tuple(ref(*s) for s in lineage.derives.get(c.name, ()) if s[0] in by_alias) for c in product.contract.columns
        }
        reads = frozenset(ref(*s) for s in lineage.reads if s[0] in by_alias)
        return cls(product.address, lineage.method, derives, reads, lineage.problem, recipe_loads)

    @property
    def known(self) -> bool:
        """Whether each column's sources are known (else every input column counts as read)."""
        return self.problem is None and self.method != "undeclared"

    def readers_of(self, source: ColumnRef) -> list[str]:
        """This product's columns whose values come from `source`."""
        return list(self._columns_from.get(source, ()))

    @functools.cached_property
    def _columns_from(self) -> dict[ColumnRef, list[str]]:
        # A change's impact asks this for every column it changes: one pass over `derives`, not one per question.
        found: dict[ColumnRef, list[str]] = {}
        for column, sources in self.derives.items():
            for source in dict.fromkeys(sources):
                found.setdefault(source, []).append(column)
        return found


def input_columns(product: Product, catalog: Catalog, columns: Mapping[Address, list[str]] | None = None) -> dict[str, list[str]]:
    """Each input's alias → its contract's columns (an input the catalog does not know has none); `columns`
    gives some inputs other columns (a contract's previous columns, to see who reads what a change removes)."""
    found = {}
    for item in product.inputs:
        address = item.address.unversioned()
        if columns and address in columns:
            found[item.alias] = list(columns[address])
        else:
            known = catalog.products.get(address)
            found[item.alias] = [c.name for c in known.contract.columns] if known else []
    return found


def product_lineage(
    product: Product, catalog: Catalog, lineage_of: RecipeLineageOf, columns: Mapping[Address, list[str]] | None = None
) -> ProductLineage:
    """The lineage of `product` as its recipe states it (`lineage_of`: how to ask a recipe, `recipes.validation.recipe_lineage`,
    a layer above), over the inputs the catalog knows. A recipe that does not load has no known lineage (its problems are
    `mesh check`'s)."""
    inputs = input_columns(product, catalog, columns)
    try:
        return ProductLineage.resolve(product, lineage_of(product, inputs))
    except FileProblemsError as error:
        return ProductLineage.resolve(
            product, RecipeLineage.unknown(inputs, f"its recipe does not load: {error}"), recipe_loads=False
        )


class MeshLineage:
    """Column lineage of every product of a catalog, computed when first asked for."""

    def __init__(self, catalog: Catalog, lineage_of: RecipeLineageOf, columns: Mapping[Address, list[str]] | None = None):
        """`lineage_of`: how to ask a product's recipe for its lineage; `columns`: other columns for some products than
        their contracts' (see `input_columns`)."""
        self.catalog = catalog
        self.lineage_of = lineage_of
        self.columns = dict(columns or {})
        self._products: dict[Address, ProductLineage] = {}
        self._consumers: dict[Address, list[ProductLineage]] = {}

    def product(self, address: Address) -> ProductLineage:
        address = address.unversioned()
        if address not in self._products:
            self._products[address] = product_lineage(self.catalog.product(address), self.catalog, self.lineage_of, self.columns)
        return self._products[address]

    def parse_target(self, text: str) -> tuple[Address, str | None]:
        """An address or column address as the user wrote it, checked against the catalog."""
        if _COLUMN_ADDRESS.match(text.strip()):
            ref = ColumnRef.parse(text)
            names = [c.name for c in self.catalog.product(ref.address).contract.columns]
            if ref.column not in names:
                raise MeshError(f"{ref.address} has no column '{ref.column}' (its columns: {', '.join(names)})")
            return ref.address, ref.column
        return self.catalog.product(text).address, None

    def sources(self, ref: ColumnRef) -> tuple[ColumnRef, ...]:
        """The columns `ref`'s values are computed from, one step up."""
        return self.product(ref.address).derives.get(ref.column, ())

    def consumers(self, address: Address) -> list[ProductLineage]:
        """The lineage of every product reading `address`."""
        address = address.unversioned()
        if address not in self._consumers:
            self._consumers[address] = [self.product(p.address) for p in self.catalog.downstream(self.catalog.product(address))]
        return self._consumers[address]

    def derived_from(self, ref: ColumnRef) -> list[ColumnRef]:
        """The columns of other products computed from `ref`, one step down."""
        return [ColumnRef(c.address, column) for c in self.consumers(ref.address) for column in c.readers_of(ref)]

    def readers(self, ref: ColumnRef) -> list[tuple[Address, list[str]]]:
        """Each product reading `ref` (in a value, filter, join or key), with its columns computed from it."""
        return [(c.address, c.readers_of(ref)) for c in self.consumers(ref.address) if ref in c.reads]

    def upstream(self, ref: ColumnRef) -> Iterator[tuple[int, ColumnRef, ColumnRef]]:
        """Every column `ref` comes from, all the way up: (distance, column, the column it feeds on the way)."""
        yield from _walk(ref, self.sources)

    def downstream(self, ref: ColumnRef) -> Iterator[tuple[int, ColumnRef, ColumnRef]]:
        """Every column computed from `ref`, all the way down: (distance, column, the column it is computed from)."""
        yield from _walk(ref, self.derived_from)


def _walk(start: ColumnRef, step) -> Iterator[tuple[int, ColumnRef, ColumnRef]]:
    """Breadth first from `start` along `step`, each column once: (distance, column, the column it was reached from)."""
    seen, frontier, depth = {start}, [start], 0
    while frontier:
        depth += 1
        following = []
        for ref in frontier:
            for nxt in step(ref):
                if nxt not in seen:
                    seen.add(nxt)
                    following.append(nxt)
                    yield depth, nxt, ref
        frontier = sorted(following)
