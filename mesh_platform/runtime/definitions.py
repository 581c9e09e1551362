"""A domain's Dagster code location: its products (the defs folder) plus what the platform adds.

A domain's `definitions.py` is two lines:

    from mesh_platform import domain_definitions
    defs = domain_definitions(__file__)

The platform adds its resources (configured from the environment, see
`product.resources`), the sensor that runs the products' automation conditions,
and the in-process executor: a domain's products share one DuckDB file and run
one at a time anyway, so one process per run is all a run needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from mesh_platform.core.settings import MeshSettings, repository_of
from mesh_platform.product.resources import platform_resources


def domain_definitions(definitions_file: str | Path, resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The domain's definitions; `resources` replace the platform's defaults by key (e.g. in tests)."""
    folder = Path(definitions_file).resolve().parent
    domain = folder.name
    products = dg.load_from_defs_folder(path_within_project=folder)
    automation = dg.AutomationConditionSensorDefinition(
        name=f"{domain}_products_on_schedule",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Rebuilds the {domain} domain's products on their contracts' update frequency.",
    )
    settings = MeshSettings.from_env(root=repository_of(folder))
    platform = dg.Definitions(
        sensors=[automation],
        resources={**platform_resources(settings, domain), **(resources or {})},
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(products, platform)
