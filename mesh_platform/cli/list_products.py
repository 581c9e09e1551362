"""`mesh list`: every product of the mesh."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import print_json, print_table
from mesh_platform.core.address import Address


@dataclass(frozen=True)
class ListedProduct:
    address: Address
    owner: str
    access: str
    status: str
    version: str
    recipe: str  # the recipe type's class name
    inputs: list[Address]
    description: str | None


@dataclass(frozen=True)
class BrokenProduct:
    file: Path
    error: str


@dataclass(frozen=True)
class ProductList:
    """What `mesh list` shows: every product, and the folders that do not load as one."""

    products: list[ListedProduct]
    broken: list[BrokenProduct]


def list_products(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every product: address, owner, access, status (draft, active…), version, inputs."""
    catalog = mesh_context(ctx).catalog
    listed = ProductList(
        [
            ListedProduct(
                p.address,
                p.contract.owners[0],
                p.contract.settings.access,
                p.contract.status,
                p.contract.version,
                p.recipe_type.rsplit(".", 1)[-1],
                [i.address for i in p.inputs],
                p.contract.purpose,
            )
            for p in sorted(catalog.products.values(), key=lambda p: p.address)
        ],
        [BrokenProduct(file, str(error)) for file, error in catalog.broken.items()],
    )
    if as_json:
        print_json(listed)
    else:
        print_table(
            ["address", "owner", "access", "status", "version", "inputs"],
            [[r.address, r.owner, r.access, r.status, r.version, ", ".join(map(str, r.inputs)) or "-"] for r in listed.products],
        )
        for item in listed.broken:
            typer.echo(f"broken: {item.error}", err=True)
    if listed.broken:
        raise typer.Exit(code=1)
