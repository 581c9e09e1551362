"""`mesh seed`: write the demo domains' source files."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.core.errors import MeshError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.demo import DEFAULT_ROWS


def seed(
    rows: Annotated[int, typer.Option("--rows", min=10, help="Number of sales orders; the other domains scale with it.")] = DEFAULT_ROWS,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and rows give the same files.")] = 7,
) -> None:
    """Generate the demo source data (deterministic, deliberately messy) under MESH_HOME/landing."""
    from mesh_platform.demo.seed import seed_demo  # pandas and Faker: only when seeding

    settings = MeshSettings.from_env()
    if settings.deployment.landing is not None and settings.deployment.landing.on_object_store:
        raise MeshError(
            f"mesh seed writes the demo's source files to {settings.landing_root}, and the deployment '{settings.deployment.name}' "
            f"reads them from {settings.landing_uri}: seed without --env, then copy the folder there (e.g. aws s3 sync)"
        )
    summary = seed_demo(settings, rows=rows, seed=random_seed)
    for file, count in summary.files.items():
        typer.echo(f"  {count:>9,} rows  {settings.home / file}")
    typer.echo(f"seeded {summary.total_rows():,} rows in {len(summary.files)} files")
