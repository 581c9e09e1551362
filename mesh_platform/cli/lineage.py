"""`mesh lineage`: where a product's columns come from and where they go, across domains."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.lineage.mesh_lineage import ColumnRef
from mesh_platform.lineage.recipe_lineage import METHOD_DESCRIPTIONS


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
    about = {"address": str(address), "method": product.method, "problem": product.problem}
    if column is None:
        columns = {}
        for name, sources in product.derives.items():
            ref = ColumnRef(address, name)
            entry = {}
            if show_up:
                entry["upstream"] = [str(s) for s in sources]
            if show_down:
                entry["downstream"] = [str(d) for d in mesh.derived_from(ref)]
                entry["read_by"] = [str(a) for a, fed in mesh.readers(ref) if not fed]
            columns[name] = entry
        if as_json:
            print_json({**about, "columns": columns})
            return
        typer.echo(
            f"{address}: column lineage {METHOD_DESCRIPTIONS[product.method]}"
            + (f" ({product.problem})" if product.problem else "")
        )
        headers = ["column", *(["comes from"] if show_up else []), *(["goes to"] if show_down else [])]
        rows = []
        for name, entry in columns.items():
            row = [name]
            if show_up:
                row.append(", ".join(entry["upstream"]) or "-")
            if show_down:
                row.append(", ".join([*entry["downstream"], *(f"{a} (reads it)" for a in entry["read_by"])]) or "-")
            rows.append(row)
        print_table(headers, rows)
        return
    ref = ColumnRef(address, column)
    chains: dict[str, list[Any]] = {}
    if show_up:
        chains["upstream"] = [{"column": str(r), "depth": depth, "via": str(via)} for depth, r, via in mesh.upstream(ref)]
    if show_down:
        chains["downstream"] = [{"column": str(r), "depth": depth, "via": str(via)} for depth, r, via in mesh.downstream(ref)]
        chains["read_by"] = [str(a) for a, fed in mesh.readers(ref) if not fed]
    if as_json:
        print_json({**about, "column": column, **chains})
        return
    typer.echo(
        f"{ref}  (lineage of {address.product} {METHOD_DESCRIPTIONS[product.method]}"
        + (f": {product.problem}" if product.problem else "")
        + ")"
    )
    for direction, arrow in (("upstream", "←"), ("downstream", "→")):
        if direction not in chains:
            continue
        typer.echo(f"{direction}:")
        _print_tree(str(ref), chains[direction], arrow, "  ")
        if not chains[direction]:
            typer.echo("  none")
    for reader in chains.get("read_by", []):
        typer.echo(f"  → {reader} (reads it in a filter, join or key; no column of it is computed from it)")


def _print_tree(parent: str, entries: list[dict], arrow: str, indent: str) -> None:
    """The chain as a tree: each column under the one it was reached from."""
    for entry in entries:
        if entry["via"] == parent:
            typer.echo(f"{indent}{arrow} {entry['column']}")
            _print_tree(entry["column"], entries, arrow, indent + "  ")
