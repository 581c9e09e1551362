"""Column lineage of a DuckDB query over a product's inputs, by parsing it with sqlglot (DuckDB dialect).

sqlglot qualifies every column with the input it comes from (expanding `*` from the
inputs' contract columns) and follows each output column through CTEs and subqueries
down to the input columns (`sqlglot.lineage`). Every column any scope of the query
mentions is a column the query reads, even when it feeds no output value (a join key,
a filter, a window's ordering).
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
    known = {alias: set(columns) for alias, columns in inputs.items()}  # looked up once per column the query names
    try:
        tree = sqlglot.parse_one(query, dialect="duckdb")
        qualified = qualify(tree, schema=schema, dialect="duckdb", validate_qualify_columns=False, identify=False)
        scopes = traverse_scope(qualified)  # qualified and scoped once: lineage() would do both again
        if not scopes:
            raise SqlglotError("Cannot build lineage, sql must be SELECT")  # what lineage() itself says
        # trim_selects=False: trimming copies the whole SELECT for each output column (quadratic in its width).
        nodes = lineage(None, qualified, schema=schema, dialect="duckdb", scope=scopes[-1], trim_selects=False, copy=False)
        reads: set[InputColumn] = set()
        for scope in scopes:
            for column in scope.columns:
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table) and column.name in known.get(source.name, ()):
                    reads.add((source.name, column.name))
    except (SqlglotError, KeyError, ValueError) as error:  # sqlglot raises a few plain errors on shapes it cannot follow
        return RecipeLineage.unknown(inputs, f"sqlglot could not follow the query column by column: {str(error).splitlines()[0]}", method="sql")
    derives: dict[str, set[InputColumn]] = {}
    for output, node in nodes.items():
        sources = derives.setdefault(output, set())
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.expression, exp.Table):
                continue  # an inner step, or a value made from no column (count(*), a literal)
            table, column = leaf.expression.name, leaf.name.rsplit(".", 1)[-1]
            if column in known.get(table, ()):
                sources.add((table, column))
    return RecipeLineage.of("sql", derives, reads)


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
