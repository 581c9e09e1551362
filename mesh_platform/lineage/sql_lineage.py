"""Column lineage of a DuckDB query over a product's inputs, by parsing it with sqlglot (DuckDB dialect).

sqlglot qualifies every column with the input it comes from (expanding `*` from the
inputs' contract columns) and follows each output column through CTEs and subqueries
down to the input columns (`sqlglot.lineage`). Every column any scope of the query
mentions is a column the query reads, even when it feeds no output value (a join key,
a filter, a window's ordering). An output column that is a bare column at every step down
to an input is a copy of it; one that passes the null-supplying side of an outer join may be empty.

Macros (`core.sql_macros`) are inlined first, so lineage follows through them: a scalar macro's
value comes from the arguments passed to it, a table macro's columns from what its body reads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mesh_platform.core.sql_macros import Macro
from mesh_platform.lineage.recipe_lineage import InputColumn, RecipeLineage

if TYPE_CHECKING:
    from sqlglot import exp

MAX_MACRO_DEPTH = 16  # macros calling macros: deeper than this is a macro calling itself


def sql_lineage(query: str, inputs: Mapping[str, list[str]], macros: Iterable[Macro] = ()) -> RecipeLineage:
    """The lineage of `query` over `inputs` (alias → its columns), through the `macros` it calls;
    a query sqlglot cannot follow is `unknown`.

    Parsed once per process for the same query, inputs and macros: a domain's definitions load asks for it
    twice (the asset's metadata, mesh.personal-data), a long-lived code server on every reload."""
    called = tuple(m for m in macros if re.search(rf"\b{re.escape(m.name)}\b", query, re.IGNORECASE))
    columns = tuple((alias, tuple(names)) for alias, names in inputs.items())
    return _parsed_lineage(query, columns, tuple(macros) if called else ())


@functools.lru_cache(maxsize=1024)
def _parsed_lineage(
    query: str, input_columns: tuple[tuple[str, tuple[str, ...]], ...], macros: tuple[Macro, ...] = ()
) -> RecipeLineage:
    inputs = {alias: list(columns) for alias, columns in input_columns}
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    schema: dict[str, object] = {alias: {column: "UNKNOWN" for column in columns} for alias, columns in inputs.items()}
    known = {alias: set(columns) for alias, columns in inputs.items()}  # looked up once per column the query names
    try:
        tree = sqlglot.parse_one(query, dialect="duckdb")
        if macros:
            tree = inline_macros(tree, macros)
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
        return RecipeLineage.unknown(
            inputs, f"sqlglot could not follow the query column by column: {str(error).splitlines()[0]}", method="sql"
        )
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
            table, name = leaf.expression.name, leaf.name.rsplit(".", 1)[-1]
            if name in known.get(table, ()):
                sources.add((table, name))
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


@dataclass(frozen=True)
class _Overload:
    """One form of a macro, as sqlglot reads it: its parameters and its body (a query for a table macro)."""

    parameters: tuple[str, ...]
    body: exp.Expression

    @property
    def table(self) -> bool:
        from sqlglot import exp

        return isinstance(self.body, exp.Query)


def inline_macros(tree: exp.Expr, macros: Iterable[Macro]) -> exp.Expr:
    """`tree` with every call of a macro replaced by its body, its parameters by the arguments passed
    (a table macro's call by its body as a subquery); raises ValueError for a called macro sqlglot cannot read."""
    from sqlglot import exp

    definitions = _macro_forms(tuple(macros))
    for _ in range(MAX_MACRO_DEPTH):
        calls = [node for node in tree.find_all(exp.Anonymous) if str(node.name).lower() in definitions]
        if not calls:
            return tree
        for call in calls:
            forms = definitions[str(call.name).lower()]
            if isinstance(forms, str):
                raise ValueError(forms)
            arguments = list(call.expressions)
            form = next((f for f in forms if len(f.parameters) == len(arguments)), None)
            if form is None:
                takes = ", ".join(str(len(f.parameters)) for f in forms)
                raise ValueError(f"the macro {call.name} is called with {len(arguments)} arguments; its forms take {takes}")
            body = _substituted(form, arguments)
            if form.table and isinstance(call.parent, exp.Table):
                table = call.parent
                alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(str(call.name)))
                table.replace(exp.Subquery(this=body, alias=alias))
            else:
                call.replace(exp.Paren(this=body))
    raise ValueError(f"macros call each other more than {MAX_MACRO_DEPTH} deep (a macro calling itself?)")


def _substituted(form: _Overload, arguments: list[exp.Expression]) -> exp.Expression:
    """A macro's body with its parameters replaced by the arguments (`query_table(p)` by the table `p` names)."""
    from sqlglot import exp

    values = dict(zip(form.parameters, arguments, strict=True))

    def substitute(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return values[node.name].copy()
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) and str(node.this.name).lower() == "query_table":
            named = node.this.expressions[0] if node.this.expressions else None
            value = values.get(named.name) if isinstance(named, exp.Column) else None
            if isinstance(value, (exp.Column, exp.Literal)):
                return exp.Table(this=exp.to_identifier(value.name), alias=node.args.get("alias"))
        return node

    return form.body.transform(substitute)


@functools.lru_cache(maxsize=64)
def _macro_forms(macros: tuple[Macro, ...]) -> dict[str, list[_Overload] | str]:
    """Each macro's forms by name (a later definition replaces an earlier one), or why sqlglot cannot read it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    forms: dict[str, list[_Overload] | str] = {}
    for macro in macros:
        try:
            create = sqlglot.parse_one(macro.statement, dialect="duckdb")
        except SqlglotError as error:
            forms[macro.name] = f"sqlglot cannot read the macro {macro.name} ({macro.where}): {str(error).splitlines()[0]}"
            continue
        body = create.expression
        if isinstance(body, exp.MacroOverloads):
            forms[macro.name] = [_Overload(tuple(p.name for p in o.expressions), o.this) for o in body.expressions]
        else:
            forms[macro.name] = [_Overload(tuple(p.name for p in create.this.expressions), body)]
    return forms


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
