"""A product folder that cannot load, as an asset: it says why on its page and refuses to build.

Its key is `[domain, <folder name>]`, tagged `mesh/broken`; its description lists
every problem with file and line; materializing it fails with the same message.
The domain's other products load and run as usual.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from mesh_platform.core.errors import MeshError

BROKEN_TAG = "mesh/broken"


def broken_product(domain: str, recipe_file: Path, problems: list[str]) -> dg.Definitions:
    name = recipe_file.parent.name
    listed = "\n".join(f"- {problem}" for problem in problems)
    spec = dg.AssetSpec(
        key=dg.AssetKey([domain, name]),
        description=f"**Broken: this product cannot load, and will not build until these are fixed.**\n{listed}",
        group_name=domain,
        tags={BROKEN_TAG: "true"},
        metadata={"mesh/recipe_file": dg.MetadataValue.path(str(recipe_file))},
    )

    @dg.multi_asset(name=name, specs=[spec])
    def _broken():
        raise MeshError(f"{domain}/{name} cannot load, so it is not built:\n{listed}")

    return dg.Definitions(assets=[_broken])
