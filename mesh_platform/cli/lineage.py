"""`mesh lineage`: where a product's columns come from and where they go, across domains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.core.address import Address
from mesh_platform.lineage.mesh_lineage import ColumnRef
from mesh_platform.lineage.recipe_lineage import METHOD_DESCRIPTIONS

ONE_WAY = {"json_omit_none": True}  # a direction not asked for (--upstream, --downstream) is not written


@dataclass(frozen=True)
class ColumnNeighbours:
    """One column of a product, one step each way: the input columns it comes from, the columns computed from it,
    and the products that read it without computing a column from it."""

    upstream: list[ColumnRef] | None = field(default=None, metadata=ONE_WAY)
    downstream: list[ColumnRef] | None = field(default=None, metadata=ONE_WAY)
    read_by: list[Address] | None = field(default=None, metadata=ONE_WAY)


@dataclass(frozen=True)
class ChainStep:
    column: ColumnRef
    depth: int  # steps from the column asked about
    via: ColumnRef  # the column it was reached from


@dataclass(frozen=True)
class ProductColumns:
    """`mesh lineage PRODUCT --json`: how its lineage is known, and each column's neighbours."""

    address: Address
    method: str
    problem: str | None
    columns: dict[str, ColumnNeighbours]


@dataclass(frozen=True)
class ColumnChains:
    """`mesh lineage PRODUCT.COLUMN --json`: the whole chain each way."""

    address: Address
    method: str
    problem: str | None
    column: str
    upstream: list[ChainStep] | None = field(default=None, metadata=ONE_WAY)
    downstream: list[ChainStep] | None = field(default=None, metadata=ONE_WAY)
    read_by: list[Address] | None = field(default=None, metadata=ONE_WAY)


def lineage_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(help="A product (mesh://<domain>/<product>) or one of its columns (mesh://<domain>/<product>.<column>)."),
    ],
    upstream: Annotated[bool, typer.Option("--upstream", help="Only where the columns come from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only where the columns go.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Column lineage: for a product, each column's input columns and readers (one step); for a column, the whole chain
    both ways."""
    if upstream and downstream:
        raise fail("give --upstream or --downstream, not both (neither shows both directions)")
    show_up, show_down = not downstream, not upstream
    mesh = mesh_context(ctx).lineage
    address, column = mesh.parse_target(target)
    product = mesh.product(address)
    if column is None:
        columns = {}
        for name, sources in product.derives.items():
            ref = ColumnRef(address, name)
            columns[name] = ColumnNeighbours(
                list(sources) if show_up else None,
                mesh.derived_from(ref) if show_down else None,
                [a for a, fed in mesh.readers(ref) if not fed] if show_down else None,
            )
        if as_json:
            print_json(ProductColumns(address, product.method, product.problem, columns))
            return
        typer.echo(
            f"{address}: column lineage {METHOD_DESCRIPTIONS[product.method]}"
            + (f" ({product.problem})" if product.problem else "")
        )
        headers = ["column", *(["comes from"] if show_up else []), *(["goes to"] if show_down else [])]
        rows = []
        for name, entry in columns.items():
            row = [name]
            if entry.upstream is not None:
                row.append(", ".join(map(str, entry.upstream)) or "-")
            if entry.downstream is not None:
                goes = [*map(str, entry.downstream), *(f"{a} (reads it)" for a in entry.read_by or [])]
                row.append(", ".join(goes) or "-")
            rows.append(row)
        print_table(headers, rows)
        return
    ref = ColumnRef(address, column)
    chains = ColumnChains(
        address,
        product.method,
        product.problem,
        column,
        [ChainStep(r, depth, via) for depth, r, via in mesh.upstream(ref)] if show_up else None,
        [ChainStep(r, depth, via) for depth, r, via in mesh.downstream(ref)] if show_down else None,
        [a for a, fed in mesh.readers(ref) if not fed] if show_down else None,
    )
    if as_json:
        print_json(chains)
        return
    typer.echo(
        f"{ref}  (lineage of {address.product} {METHOD_DESCRIPTIONS[product.method]}"
        + (f": {product.problem}" if product.problem else "")
        + ")"
    )
    for direction, arrow, steps in (("upstream", "←", chains.upstream), ("downstream", "→", chains.downstream)):
        if steps is None:
            continue
        typer.echo(f"{direction}:")
        _print_tree(ref, steps, arrow, "  ")
        if not steps:
            typer.echo("  none")
    for reader in chains.read_by or []:
        typer.echo(f"  → {reader} (reads it in a filter, join or key; no column of it is computed from it)")


def _print_tree(parent: ColumnRef, steps: list[ChainStep], arrow: str, indent: str) -> None:
    """The chain as a tree: each column under the one it was reached from."""
    for step in steps:
        if step.via == parent:
            typer.echo(f"{indent}{arrow} {step.column}")
            _print_tree(step.column, steps, arrow, indent + "  ")
