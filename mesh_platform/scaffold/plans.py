"""What `mesh new` asks of a recipe type: a plan of the new product's columns and settings.

Each recipe type plans its own product (`ProductRecipe.plan` in `mesh_platform.recipes`):
from the inputs' contracts, as the new product's domain will read them (masked
columns hashed, dropped ones gone), it chooses the output columns (names, types,
classification, terms carried over) and the recipe's settings, so that a new
product loads, passes its contract and materializes as generated. This module
holds what those plans share; `RecipeType` is what scaffolding needs of a type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.model import Column
from mesh_platform.core.errors import MeshError
from mesh_platform.core.inputs import ProductInput
from mesh_platform.governance.access import contract_as_seen_by


@dataclass(frozen=True)
class PlanRequest:
    catalog: Catalog
    domain: str
    name: str
    inputs: tuple[Product, ...]  # as `domain` will read them
    parameters: dict[str, str | None]  # `--set NAME=VALUE`, None where not given
    source_file: Path | None = None  # `--from FILE`: the data (a source) or the query (sql) the product starts from
    landing: Path | None = None  # the domain's landing folder


@dataclass
class Plan:
    columns: list[Column]
    inputs: list[ProductInput] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # what the template writes into the recipe
    notes: list[str] = field(default_factory=list)  # told to the user after creating the product
    purpose: str | None = None  # how the contract's purpose ends (default: where the rows come from)
    # A product fed by files: (the glob deliveries match, where the template's example delivery goes),
    # relative to the domain's landing folder, so the new product materializes before real files arrive.
    example_delivery: tuple[str, str] | None = None
    # A file to copy into the domain's landing folder (`--from` a file elsewhere): (the file, where it goes, relative).
    delivery: tuple[Path, str] | None = None
    column_notes: dict[str, str] = field(default_factory=dict)  # column → why its classification is a guess (a YAML comment)
    schema_note: list[str] = field(default_factory=list)  # comment lines above the columns: how they were inferred


class RecipeType(Protocol):
    """What `mesh new` and `mesh templates` need of a recipe type (the recipe classes provide it)."""

    template: str  # the folder under templates/ it renders
    parameters: dict[str, str]  # `mesh new --set NAME=…`: name → what it sets
    from_file: str | None  # what `mesh new --from FILE` takes (None: it takes none)

    @classmethod
    def type_name(cls) -> str: ...  # what a recipe file's `type:` says, e.g. mesh_platform.recipes.SqlProduct

    @classmethod
    def summary(cls) -> str: ...

    @classmethod
    def input_range(cls) -> tuple[int, int | None]: ...

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan: ...


def seen_by(product: Product, domain: str) -> Product:
    """An input product as `domain`'s builds will read it (access and masking applied)."""
    return replace(product, contract=contract_as_seen_by(product.contract, domain))


def inputs_as_given(request: PlanRequest) -> list[ProductInput]:
    """The request's inputs, each under its product's name."""
    return [ProductInput(p.address, p.address.product) for p in request.inputs]


def example_columns() -> list[Column]:
    """The columns of a product made from nothing: to be replaced by the real ones."""
    return [
        Column.new(
            "id",
            "integer",
            "BIGINT",
            "Identifier of the row.",
            required=True,
            unique=True,
            primary_key=True,
            primary_key_position=1,
            classification="internal",
        ),
        Column.new("name", "string", "VARCHAR", "Name of the thing.", required=True, classification="internal"),
        Column.new("updated_at", "timestamp", "TIMESTAMP", "When the row last changed.", classification="internal"),
    ]


def guess_column(names: list[str], candidates, what: str) -> str:
    """The first of `candidates` among `names`; an error asking for `--set <what>=…` when none is."""
    for candidate in candidates:
        if candidate in names:
            return candidate
    raise MeshError(f"cannot tell which column is the {what}; pass --set {what}=<column> (columns: {', '.join(names)})")
