"""Printing for the CLI: people get aligned text, programs get `--json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], upper: bool = True) -> None:
    cells = [[str(h).upper() if upper else str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr; raise the returned Exit to end with code 1."""
    typer.echo(f"error: {message}", err=True)
    sys.stderr.flush()
    return typer.Exit(code=1)
