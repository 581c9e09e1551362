"""Writing and checking SQL text: quoted identifiers and literals for DuckDB, and what user SQL may be.

SQL that users write (a recipe's query, a filter's conditions, a quality rule's query,
`mesh query`) must be exactly one `SELECT` statement or one expression, checked with
DuckDB's own parser; it then runs in a sandboxed connection (`storage.sandbox`).
"""

from __future__ import annotations


def quote(identifier: str) -> str:
    """A DuckDB identifier, quoted: `order id` → `"order id"`."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal: `it's` → `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"


def keyed_token(expression: str, key: str) -> str:
    """SQL for the keyed token of a value: SHA-256 of the key and the value as text (NULL stays NULL).
    Equal values give equal tokens, so tokens join; without the key they reveal nothing."""
    return f"sha256({literal(f'{key}:')} || CAST({expression} AS VARCHAR))"


def select_problem(sql: str) -> str | None:
    """Why `sql` is not exactly one SELECT statement (WITH … SELECT, FROM … included), or None."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        return f"it is not valid SQL: {str(error).splitlines()[0]}"
    if len(statements) != 1:
        return f"it holds {len(statements)} statements; give exactly one SELECT"
    if statements[0].type != duckdb.StatementType.SELECT:
        return f"it is not a SELECT but {statements[0].type.name}; only a SELECT may run here"
    return None


def expression_problem(text: str) -> str | None:
    """Why `text` is not exactly one SQL expression (as a filter condition must be), or None."""
    import duckdb

    try:
        duckdb.SQLExpression(text)
    except duckdb.Error as error:
        return f"'{text}' is not one SQL expression: {str(error).splitlines()[0]}"
    return None
