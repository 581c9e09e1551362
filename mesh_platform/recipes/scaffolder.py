"""`dg scaffold defs mesh_platform.recipes.<Type> <domain>/defs/<name>`: the same product `mesh new` creates.

Teams that use Dagster's `dg` tooling get the template of the recipe type, with
its contract pre-filled from the inputs given as `--json-params`, e.g.
'{"inputs": ["mesh://sales/orders"], "parameters": {"where": "amount_usd > 100"}}'.
"""

from __future__ import annotations

import dagster as dg
from pydantic import BaseModel, Field


class ProductScaffoldParams(BaseModel):
    inputs: list[str] = Field(default_factory=list, description="Input products, by address.")
    owner: str | None = Field(default=None, description="team:<name> or e-mail (default: the domain's owner).")
    parameters: dict[str, str] = Field(default_factory=dict, description="Template parameters (mesh templates lists them).")


class ProductScaffolder(dg.Scaffolder[ProductScaffoldParams]):
    @classmethod
    def get_scaffold_params(cls) -> type[ProductScaffoldParams]:
        return ProductScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[ProductScaffoldParams]) -> None:
        from mesh_platform.catalog.catalog import domain_of
        from mesh_platform.recipes import TEMPLATE_BY_RECIPE
        from mesh_platform.scaffold.product import new_product
        from mesh_platform.core.settings import MeshSettings

        folder = request.target_path
        recipe = request.type_name.rsplit(".", 1)[-1]
        settings = MeshSettings.from_env(start=folder)
        params = request.params
        new_product(
            settings,
            f"{domain_of(folder / 'defs.yaml')}/{folder.name}",
            TEMPLATE_BY_RECIPE[recipe],
            params.inputs,
            params.owner,
            params.parameters,
        )
