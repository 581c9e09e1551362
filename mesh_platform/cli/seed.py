"""`mesh seed`: write the demo domains' source files."""

from __future__ import annotations

from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import rows_option
from mesh_platform.core.errors import MeshError
from mesh_platform.demo import DEFAULT_ROWS


def seed(
    ctx: typer.Context,
    rows: Annotated[int, rows_option("Number of sales orders; the other domains scale with it.")] = DEFAULT_ROWS,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and rows give the same files.")] = 7,
) -> None:
    """Generate the demo mesh's source data (deterministic, deliberately messy) in its landing zone."""
    from mesh_platform.catalog.workspace import read_workspace
    from mesh_platform.demo.seed import DEMO_SOURCE_DOMAINS, seed_demo  # pandas and Faker: only when seeding

    settings = mesh_context(ctx).settings
    if settings.deployment.landing is not None and settings.deployment.landing.on_object_store:
        raise MeshError(
            f"mesh seed writes the demo's source files to {settings.landing_root}, and the deployment "
            f"'{settings.deployment.name}' reads them from {settings.landing_uri}: seed without --env, "
            "then copy the folder there (e.g. aws s3 sync)"
        )
    if missing := [d for d in DEMO_SOURCE_DOMAINS if d not in {domain.name for domain in read_workspace(settings.root)}]:
        raise MeshError(
            f"mesh seed writes the demo mesh's source files, and this mesh has no domain {', '.join(missing)}; "
            "deliver your own files to the landing zone, or try the demo: mesh init --demo DIR"
        )
    summary = seed_demo(settings, rows=rows, seed=random_seed)
    for file, count in summary.files.items():
        typer.echo(f"  {count:>9,} rows  {settings.landing_root / file}")
    typer.echo(f"seeded {summary.total_rows():,} rows in {len(summary.files)} files")
