"""Column lineage of a DuckDB query over a product's inputs, by parsing it with sqlglot (DuckDB dialect).

sqlglot qualifies every column with the input it comes from (expanding `*` from the
inputs' contract columns) and follows each output column through CTEs and subqueries
down to the input columns (`sqlglot.lineage`). Every column any scope of the query
mentions is a column the query reads, even when it feeds no output value (a join key,
a filter, a window's ordering). An output column that is a bare column at every step down
to an input is a copy of it; one that passes the null-supplying side of an outer join may be empty.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from mesh_platform.lineage.recipe_lineage import InputColumn, RecipeLineage


def sql_lineage(query: str, inputs: Mapping[str, list[str]]) -> RecipeLineage:
    """The lineage of `query` over `inputs` (alias → its columns); a query sqlglot cannot follow is `unknown`.

    Parsed once per process for the same query and inputs: a domain's definitions load asks for it
    twice (the asset's metadata, mesh.personal-data), a long-lived code server on every reload."""
    return _parsed_lineage(query, tuple((alias, tuple(columns)) for alias, columns in inputs.items()))


@functools.lru_cache(maxsize=1024)
def _parsed_lineage(query: str, input_columns: tuple[tuple[str, tuple[str, ...]], ...]) -> RecipeLineage:
    inputs = {alias: list(columns) for alias, columns in input_columns}
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    schema = {alias: {column: "UNKNOWN" for column in columns} for alias, columns in inputs.items()}
    try:
        tree = sqlglot.parse_one(query, dialect="duckdb")
        qualified = qualify(tree, schema=schema, dialect="duckdb", validate_qualify_columns=False, identify=False)
        nodes = lineage(None, qualified, schema=schema, dialect="duckdb", copy=False)
        reads: set[InputColumn] = set()
        for scope in traverse_scope(qualified):
            for column in scope.columns:
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table) and source.name in inputs and column.name in inputs[source.name]:
                    reads.add((source.name, column.name))
    except (SqlglotError, KeyError, ValueError) as error:  # sqlglot raises a few plain errors on shapes it cannot follow
        return RecipeLineage.unknown(inputs, f"sqlglot could not follow the query column by column: {str(error).splitlines()[0]}", method="sql")
    derives: dict[str, set[InputColumn]] = {}
    copies: dict[str, InputColumn] = {}
    nullable: set[str] = set()
    for output, node in nodes.items():
        if (copied := _copied(node, inputs)) is not None:
            copies[output] = copied[0]
            if copied[1]:
                nullable.add(output)
        sources = derives.setdefault(output, set())
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.expression, exp.Table):
                continue  # an inner step, or a value made from no column (count(*), a literal)
            table, column = leaf.expression.name, leaf.name.rsplit(".", 1)[-1]
            if table in inputs and column in inputs[table]:
                sources.add((table, column))
    return RecipeLineage.of("sql", derives, reads, copies, nullable)


def _copied(node, inputs: Mapping[str, list[str]]) -> tuple[InputColumn, bool] | None:
    """The input column a lineage node passes through unchanged, and whether an outer join may leave it empty."""
    from sqlglot import exp

    may_be_empty = False
    while node.downstream:
        expression = node.expression.this if isinstance(node.expression, exp.Alias) else node.expression
        if len(node.downstream) != 1 or not isinstance(expression, exp.Column):
            return None
        may_be_empty = may_be_empty or expression.table in _outer_joined(node.source)
        node = node.downstream[0]
    if not isinstance(node.expression, exp.Table):
        return None
    table, column = node.expression.name, node.name.rsplit(".", 1)[-1]
    return ((table, column), may_be_empty) if table in inputs and column in inputs[table] else None


def _outer_joined(select) -> set[str]:
    """The tables of a SELECT that an outer join may leave without a row (their columns then empty)."""
    from sqlglot import exp

    if not isinstance(select, exp.Select):
        return set()
    start = select.args.get("from_")
    seen = [start.this.alias_or_name] if start is not None else []
    empty: set[str] = set()
    for join in select.args.get("joins") or []:
        alias, side = join.this.alias_or_name, (join.side or "").upper()
        if side in ("LEFT", "FULL"):
            empty.add(alias)
        if side in ("RIGHT", "FULL"):
            empty.update(seen)
        seen.append(alias)
    return empty


def expression_columns(expression: str, columns: list[str]) -> set[str]:
    """The columns among `columns` that a SQL expression (a filter condition) mentions."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = sqlglot.parse_one(expression, dialect="duckdb")
    except SqlglotError:
        return set(columns)  # DuckDB accepted it (checked when the recipe loads): assume it reads everything
    return {c.name for c in parsed.find_all(exp.Column) if c.name in columns}
