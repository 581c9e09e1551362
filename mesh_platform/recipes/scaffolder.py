"""`dg scaffold defs mesh_platform.recipes.<Type> <domain>/defs/<name>`: the same product `mesh new` creates.

Teams that use Dagster's `dg` tooling get the template of the recipe type, with
its contract pre-filled from the inputs given as `--json-params`, e.g.
'{"inputs": ["mesh://sales/orders"], "parameters": {"where": "amount_usd > 100"}}'.
"""

from __future__ import annotations

import importlib

import dagster as dg
from pydantic import BaseModel, Field

from mesh_platform.catalog.workspace import RECIPE_FILE, domain_of
from mesh_platform.core.settings import MeshSettings
from mesh_platform.scaffold.product import new_product


class ProductScaffoldParams(BaseModel):
    inputs: list[str] = Field(default_factory=list, description="Input products, by address.")
    owner: str | None = Field(default=None, description="team:<name> or e-mail (default: the domain's owner).")
    parameters: dict[str, str] = Field(default_factory=dict, description="Template parameters (mesh templates lists them).")


class ProductScaffolder(dg.Scaffolder[ProductScaffoldParams]):
    @classmethod
    def get_scaffold_params(cls) -> type[ProductScaffoldParams]:
        return ProductScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[ProductScaffoldParams]) -> None:
        module, _, name = request.type_name.rpartition(".")
        recipe = getattr(importlib.import_module(module), name)  # the recipe type dg is scaffolding
        folder = request.target_path
        params = request.params
        new_product(
            MeshSettings.from_env(start=folder),
            f"{domain_of(folder / RECIPE_FILE)}/{folder.name}",
            recipe.template,
            {recipe.template: recipe},
            params.inputs,
            params.owner,
            params.parameters,
        )
