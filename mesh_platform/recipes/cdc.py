"""The `cdc` recipe: a current-state table from a stream of change events. No code, only configuration.

Each event carries a key, a sequence number and an operation (insert, update or
delete). The state of a key is its event with the highest sequence: events that
arrive late or out of order take their place by sequence, a repeated event counts
once, and a delete removes the key (a late, older insert does not bring it back).
Every run replays the input's whole history, so the input must keep every event
(a `source` product reading all delivered files does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.core.sql import literal, quote
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, guess_column, inputs_as_given

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.product.build import BuildContext

DEFAULT_DELETE_VALUES = ["delete", "DELETE", "d", "D"]


class CdcProduct(ProductRecipe):
    """A current-state table from insert/update/delete change events, by key and sequence; no code."""

    template = "cdc"
    parameters = {
        "key": "Column(s) identifying a row, comma-separated (default the first *_id column).",
        "sequence": "Column ordering the events (default sequence, seq, lsn, offset or version).",
        "operation": "Column holding insert, update or delete (default op, operation, change_type or action).",
    }
    kind = "sql"

    inputs: list[InputAddress] = inputs_field(min_inputs=1, max_inputs=1)
    key: list[str] = Field(min_length=1, description="Column(s) identifying a row of the state (the primary key).")
    sequence: str = Field(description="Column ordering the events: a later change has a higher value.")
    operation: str = Field(description="Column holding the operation (insert, update or delete).")
    delete_values: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DELETE_VALUES),
        description="Operation values that delete the key; any other value inserts or updates it.",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Event columns not carried into the state, besides the operation."
    )

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        events = request.inputs[0].contract
        names = [c.name for c in events.columns]
        operation = request.parameters["operation"] or guess_column(names, ("op", "operation", "change_type", "action"), "operation")
        sequence = request.parameters["sequence"] or guess_column(names, ("sequence", "seq", "lsn", "offset", "version"), "sequence")
        key_text = request.parameters["key"] or guess_column(names, [n for n in names if n.endswith("_id") and n != "event_id"][:1], "key")
        key = [k.strip() for k in key_text.split(",") if k.strip()]
        for column in (operation, sequence, *key):
            if column not in names:
                raise MeshError(f"{events.address} has no column '{column}' (its columns: {', '.join(names)})")
        columns = []
        for column in events.columns:
            if column.name == operation:
                continue
            if column.name in key:
                column = column.changed(required=True, primary_key=True, primary_key_position=key.index(column.name) + 1, unique=len(key) == 1)
            columns.append(column)
        return Plan(columns, inputs_as_given(request), {"key": key, "sequence": sequence, "operation": operation})

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        events = build.inputs[0]
        columns = build.input(events.alias).columns
        needed = [*self.key, self.sequence, self.operation, *self.exclude]
        if missing := [c for c in needed if c not in columns]:
            raise MeshError(f"{build.contract.address}: {events.address} has no column {', '.join(missing)} (its columns: {', '.join(columns)})")
        key = ", ".join(quote(k) for k in self.key)
        unsequenced = build.connection.execute(
            f"SELECT count(*) FROM {quote(events.alias)} WHERE {quote(self.sequence)} IS NULL"
        ).fetchall()[0][0]
        if unsequenced:
            raise MeshError(f"{build.contract.address}: {unsequenced} events in {events.address} have no {self.sequence}; every change event needs one")
        deletes = ", ".join(literal(v) for v in self.delete_values)
        is_delete = f"coalesce({quote(self.operation)} IN ({deletes}), false)"
        dropped = ", ".join(quote(c) for c in dict.fromkeys([self.operation, *self.exclude]))
        # At equal sequence (a repeated event) a delete wins, so the outcome never depends on arrival order.
        return build.connection.sql(
            f"""
            SELECT * EXCLUDE (mesh_is_delete, mesh_rank, {dropped})
            FROM (
                SELECT *, {is_delete} AS mesh_is_delete,
                       row_number() OVER (PARTITION BY {key} ORDER BY {quote(self.sequence)} DESC, {is_delete} DESC) AS mesh_rank
                FROM {quote(events.alias)}
            )
            WHERE mesh_rank = 1 AND NOT mesh_is_delete
            """
        )
