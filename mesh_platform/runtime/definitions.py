"""A domain's Dagster definitions: its products (the defs folder) plus what the platform adds.

A domain's `definitions.py` is two lines:

    from mesh_platform import domain_definitions
    defs = domain_definitions(__file__)
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def domain_definitions(definitions_file: str | Path) -> dg.Definitions:
    """Load the domain's defs folder and add the sensor that runs its automation conditions."""
    folder = Path(definitions_file).resolve().parent
    products = dg.load_from_defs_folder(path_within_project=folder)
    automation = dg.AutomationConditionSensorDefinition(
        name=f"{folder.name}_products_on_schedule",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Rebuilds the {folder.name} domain's products on their contracts' update frequency.",
    )
    return dg.Definitions.merge(products, dg.Definitions(sensors=[automation]))
