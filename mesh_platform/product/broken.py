"""A product folder that cannot load, as an asset: it says why on its page and refuses to build.

Its key is `[domain, <folder name>]` (characters Dagster refuses in a name made `_`; a name
another product of the domain holds gets a suffix), tagged `mesh/broken`; its description lists
every problem with file and line; materializing it fails with the same message.
The domain's other products load and run as usual.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import dagster as dg

from mesh_platform.core.errors import MeshError

BROKEN_TAG = "mesh/broken"


def broken_name(recipe_file: Path, taken: Collection[str] = ()) -> str:
    """The name of a broken folder's asset: its folder's, as a Dagster name, unlike every name in `taken`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", recipe_file.parent.name) or "product"
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_broken" if number == 2 else f"{name}_broken_{number}"
    return candidate


def broken_product(domain: str, recipe_file: Path, problems: list[str], name: str | None = None) -> dg.Definitions:
    name = name or broken_name(recipe_file)
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
