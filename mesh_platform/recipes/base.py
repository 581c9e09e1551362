"""The base of every recipe type: a Dagster component that turns a contract into a product.

A recipe type only says how to compute the product's rows as a DuckDB relation
(`relation`). Everything else — contract loading, the asset and its metadata,
staging, conformance and publishing — is the platform's and the same for all.
Adding a recipe type is one small module: subclass `ProductRecipe`, add typed
fields, implement `relation`, and export it from `mesh_platform.recipes`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import dagster as dg
from pydantic import Field

from mesh_platform.catalog.catalog import DEFAULT_CONTRACT_FILE, RECIPE_FILE, assemble_product
from mesh_platform.core.errors import RecipeError
from mesh_platform.product.asset import product_asset
from mesh_platform.recipes.scaffolder import ProductScaffolder
from mesh_platform.core.yaml_document import load_yaml_document

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext


@dg.scaffold_with(ProductScaffolder)
class ProductRecipe(dg.Component, dg.Model, dg.Resolvable):
    """A data product: its contract plus how to build it."""

    contract: str = Field(
        default=DEFAULT_CONTRACT_FILE,
        description="The product's ODCS v3.1 contract file, relative to this folder.",
    )
    inputs: list[str] = Field(
        default_factory=list,
        description="Products this one reads, by address (mesh://<domain>/<product>), "
        "optionally renamed: 'mesh://sales/orders as sales_orders'.",
    )

    # The Dagster kind shown on the asset (besides duckdb and delta).
    kind: ClassVar[str] = ""
    # Whether an output column of another kind of type than the contract's is drift (see conformance).
    checks_output_types: ClassVar[bool] = True

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        """The product's rows, computed from `build.inputs` in `build.connection`."""
        raise NotImplementedError

    def code_files(self, folder: Path) -> list[Path]:
        """Files besides the recipe and contract whose content defines the product."""
        return []

    def check_recipe(self, folder: Path) -> list[str]:
        """Problems with the recipe's own settings, found at load (e.g. a missing SQL file)."""
        return []

    def recipe_kind(self) -> str:
        return self.kind

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        recipe_file = context.path / RECIPE_FILE
        product = assemble_product(recipe_file, type(self).__name__, self.contract, self.inputs)
        if problems := self.check_recipe(context.path):
            document = load_yaml_document(recipe_file, RecipeError)
            raise RecipeError([document.problem(("attributes",), p) for p in problems])
        return dg.Definitions(
            assets=[product_asset(product, self, self.recipe_kind(), self.code_files(context.path))]
        )
