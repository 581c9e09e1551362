"""Writing SQL text safely: quoted identifiers and string literals for DuckDB."""

from __future__ import annotations


def quote(identifier: str) -> str:
    """A DuckDB identifier, quoted: `order id` → `"order id"`."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal: `it's` → `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"
