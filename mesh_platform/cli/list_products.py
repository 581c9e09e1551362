"""`mesh list`: every product of the mesh."""

from __future__ import annotations

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import print_json, print_table


def list_products(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every product: address, owner, access, status (draft, active…), version, inputs."""
    catalog = mesh_context(ctx).catalog
    rows = [
        {
            "address": str(p.address),
            "owner": p.contract.owners[0],
            "access": p.contract.settings.access,
            "status": p.contract.status,
            "version": p.contract.version,
            "recipe": p.recipe_type.rsplit(".", 1)[-1],
            "inputs": [str(i.address) for i in p.inputs],
            "description": p.contract.purpose,
        }
        for p in sorted(catalog.products.values(), key=lambda p: p.address)
    ]
    broken = [{"file": str(file), "error": str(error)} for file, error in catalog.broken.items()]
    if as_json:
        print_json({"products": rows, "broken": broken})
    else:
        print_table(
            ["address", "owner", "access", "status", "version", "inputs"],
            [[r["address"], r["owner"], r["access"], r["status"], r["version"], ", ".join(r["inputs"]) or "-"] for r in rows],
        )
        for item in broken:
            typer.echo(f"broken: {item['error']}", err=True)
    if broken:
        raise typer.Exit(code=1)
