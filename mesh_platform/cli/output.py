"""Printing for the CLI: people get `rich` tables, programs get `--json`."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from mesh_platform.core.json_values import as_json

if TYPE_CHECKING:
    from mesh_platform.core.settings import MeshSettings

WIDE = 100_000  # a table is never wrapped or cut: long cells stay whole, for people and for grep
SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def print_json(data: Any) -> None:
    """A result as `--json` prints it: data classes and pydantic models by their fields (`core.json_values`)."""
    typer.echo(json.dumps(as_json(data), indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], upper: bool = True) -> None:
    """Aligned columns, headers in capitals (bold on a terminal), no trailing blanks."""
    from rich.console import Console
    from rich.table import Table

    terminal = sys.stdout.isatty()
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold" if terminal else "")
    for header in headers:
        table.add_column(str(header).upper() if upper else str(header), no_wrap=True)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    buffer = io.StringIO()
    Console(file=buffer, width=WIDE, force_terminal=terminal, markup=False, highlight=False, emoji=False).print(table)
    for line in buffer.getvalue().splitlines():
        typer.echo(line.rstrip())


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr; raise the returned Exit to end with code 1."""
    typer.echo(f"error: {message}", err=True)
    sys.stderr.flush()
    return typer.Exit(code=1)


def format_size(count: int) -> str:
    """Bytes in binary units: `512 B`, `3.2 KiB`, `1.5 GiB`."""
    size, unit = float(count), 0
    while size >= 1024 and unit < len(SIZE_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{count} B" if unit == 0 else f"{size:.1f} {SIZE_UNITS[unit]}"


def say(message: str) -> None:
    """A line of a long-running command's log (mesh serve, ui, daemon), with its time."""
    import datetime as dt

    typer.echo(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {message}")


def warn_reach(settings: MeshSettings) -> None:
    """Say on stderr what the deployment lets reach beyond this machine (its allow_remote settings)."""
    from mesh_platform.runtime.code_servers import reach_warnings

    for line in reach_warnings(settings):
        typer.echo(f"warning: {line}", err=True)
