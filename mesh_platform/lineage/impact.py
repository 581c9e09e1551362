"""A contract change's real impact: which consumers read what it changes.

A change about one column reaches the products whose recipes read that column
(column lineage: in a value, a filter, a join key) and those whose relationships
(foreign keys) reference it; a change about the whole product (access, SLA, a
table rule) reaches every product reading or referencing it. Readers
outside the mesh's recipes — `mesh query` and the Python API — are known from
the access log by domain only, so they count for every change of the product.

A change the rules call breaking breaks consumers only when someone reads what it
changes: one that nobody reads is reported as such and does not need a major version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from mesh_platform.contract.diff import Change, ContractDiff
from mesh_platform.core.address import Address
from mesh_platform.lineage.mesh_lineage import ColumnRef, MeshLineage, RecipeLineageOf

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Catalog
    from mesh_platform.contract.model import Contract


@dataclass(frozen=True)
class Reader:
    """A product reading what a change is about, with its columns computed from it (none: it only filters or joins on it)."""

    address: Address = field(metadata={"json_name": "product"})
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.columns:
            return str(self.address)
        return ", ".join(f"{self.address}.{c}" for c in self.columns)


@dataclass(frozen=True)
class Impact:
    """A change with who reads what it is about, and the verdict for consumers (`--json`: beside the change)."""

    change: Change = field(metadata={"json_name": None})
    readers: tuple[Reader, ...] = field(default=(), metadata={"json_name": "read_by"})
    # consumer domains reading the product outside builds lately (columns unknown)
    ad_hoc: tuple[str, ...] = field(default=(), metadata={"json_name": "read_ad_hoc_by"})
    # False: the product is not in the mesh's catalog, so every breaking change counts
    known: bool = field(default=True, metadata={"json_name": None})
    json_properties: ClassVar[tuple[str, ...]] = ("breaks_consumers",)

    @property
    def read(self) -> bool:
        return bool(self.readers or self.ad_hoc) or not self.known

    @property
    def breaks_consumers(self) -> bool:
        """The consumer verdict, with the readers known: breaking by the rules, and read by someone."""
        return self.change.breaking and self.read

    def describe(self) -> str:
        """Who is affected, in words."""
        if not self.known:
            return "its consumers are not known (the product is not in this mesh)"
        said = []
        if self.readers:
            said.append("read by " + ", ".join(str(r) for r in self.readers))
        if self.ad_hoc:
            said.append("read ad hoc by " + ", ".join(self.ad_hoc) + " (access log, last 30 days)")
        if said:
            return "; ".join(said)
        return "no consumer reads it" + (": not breaking for anyone" if self.change.breaking else "")


@dataclass(frozen=True)
class DiffImpact:
    diff: ContractDiff
    impacts: tuple[Impact, ...] = field(default_factory=tuple)

    @property
    def problem(self) -> str | None:
        """Why the new version may not ship: the diff's own judgement, counting only the breaking changes someone reads."""
        judged = tuple(replace(i.change, breaking=i.breaks_consumers) for i in self.impacts)
        return replace(self.diff, changes=judged).problem

    @property
    def unread_breaking(self) -> list[Impact]:
        return [i for i in self.impacts if i.change.breaking and not i.read]


def diff_impact(
    old: Contract,
    new: Contract,
    diff: ContractDiff,
    catalog: Catalog | None,
    lineage_of: RecipeLineageOf | None = None,
    ad_hoc: Sequence[str] = (),
) -> DiffImpact:
    """Each change of `diff` (from `old` to `new`) with who reads it, as the consumers' recipes in `catalog` are now;
    `lineage_of` asks a recipe for its lineage; no catalog or no `lineage_of`, or a product the catalog does not hold:
    its consumers are not known."""
    address = new.address.unversioned()
    if catalog is None or lineage_of is None or address not in catalog.products:
        return DiffImpact(diff, tuple(Impact(c, known=False) for c in diff.changes))
    # The consumers' recipes are read against both versions' columns: a query naming a dropped column still reads it.
    both = list(dict.fromkeys([*(c.name for c in old.columns), *(c.name for c in new.columns)]))
    lineage = MeshLineage(catalog, lineage_of, {address: both})
    consumers = lineage.consumers(address)
    # Products checking a foreign key against this one read it too, though not as an input.
    referencing = [
        (p.address, r)
        for p in catalog.products.values()
        if p.address != address
        for r in p.contract.relationships
        if r.product is not None and r.product.unversioned() == address
    ]
    impacts = []
    for change in diff.changes:
        if change.column is not None:
            readers = [Reader(reader, tuple(fed)) for reader, fed in lineage.readers(ColumnRef(address, change.column))]
            checking = [a for a, r in referencing if change.column in r.references]
        elif change.field == "status":  # a status decides what other domains may read: the owner's own products keep reading it
            readers = [Reader(c.address) for c in consumers if c.address.domain != address.domain]
            checking = [a for a, _ in referencing if a.domain != address.domain]
        else:
            readers, checking = [Reader(c.address) for c in consumers], [a for a, _ in referencing]
        readers += [Reader(a) for a in dict.fromkeys(checking) if a not in {r.address for r in readers}]
        impacts.append(Impact(change, tuple(readers), tuple(ad_hoc)))
    return DiffImpact(diff, tuple(impacts))
