"""`mesh init`: start a mesh of your own (or a copy of the demo) in a folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mesh_platform.scaffold.mesh import init_mesh


def init_command(
    folder: Annotated[
        Path, typer.Argument(help="Where the mesh goes (created when missing; default: the working folder).")
    ] = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="The mesh's name (default: the folder's).")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="A copy of the platform's demo mesh: five domains, their glossary and deployments.")
    ] = False,
) -> None:
    """Create a new mesh: mesh.yaml, workspace.yaml, the governance folder, .gitignore and a README."""
    created = init_mesh(folder, name, demo)
    for file in created.files:
        typer.echo(f"  created {file.relative_to(created.root)}")
    kind = "a copy of the demo mesh" if demo else f"the mesh '{created.name}'"
    typer.echo(f"{kind} created in {created.root}")
    here = Path.cwd().resolve()
    cd = [] if created.root == here else [f"cd {os.path.relpath(created.root, here)}"]
    steps = (
        ["mesh demo                                  # seed, build every product, serve the UI"]
        if demo
        else [
            "mesh new domain NAME --owner team:NAME     # a domain and its code location",
            "mesh new product NAME/PRODUCT --template source --from FILE",
            "mesh check && mesh materialize --all",
        ]
    )
    typer.echo("next:\n" + "\n".join(f"  {step}" for step in [*cd, *steps]))
