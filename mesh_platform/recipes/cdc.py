"""The `cdc` recipe: a current-state table from a stream of change events. No code, only configuration.

Each event carries a key, a sequence number and an operation (insert, update or
delete). The state of a key is its event with the highest sequence: events that
arrive late or out of order take their place by sequence, a repeated event counts
once, and a delete removes the key (a late, older insert does not bring it back).
The input must keep every event (a `source` product reading all delivered files does).

Builds are incremental: the port keeps a record of the events its rows include
(per key, a hash of the key, its highest applied sequence and whether that was a
delete; `Port.applied_location`). A build applies only the events the record has not
seen — newer than the key's applied sequence, whatever order they arrive in — and
the port receives only the changed keys, in one Delta MERGE. The state reached is
the one a replay of the whole history gives. The first build, a build under a new
contract version, or `incremental: false` replays the whole history and rewrites
the port (and the record).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from mesh_platform.core.errors import MeshError
from mesh_platform.core.sql import literal, quote
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.product.build import Increment
from mesh_platform.recipes.base import InputAddress, ProductRecipe, inputs_field
from mesh_platform.scaffold.plans import Plan, PlanRequest, guess_column, inputs_as_given
from mesh_platform.storage.ports import DELETED

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
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="Event columns carried into the state under another name, e.g. {event_time: updated_at}.",
    )
    incremental: bool = Field(
        default=True,
        description=(
            "Apply only the events not applied yet, by a MERGE of the changed keys (false: replay every event on every build)."
        ),
    )

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        events = request.inputs[0].contract
        names = [c.name for c in events.columns]
        operation = request.parameters["operation"] or guess_column(
            names, ("op", "operation", "change_type", "action"), "operation"
        )
        sequence = request.parameters["sequence"] or guess_column(
            names, ("sequence", "seq", "lsn", "offset", "version"), "sequence"
        )
        key_text = request.parameters["key"] or guess_column(
            names, [n for n in names if n.endswith("_id") and n != "event_id"][:1], "key"
        )
        key = [k.strip() for k in key_text.split(",") if k.strip()]
        for column in (operation, sequence, *key):
            if column not in names:
                raise MeshError(f"{events.address} has no column '{column}' (its columns: {', '.join(names)})")
        columns = []
        for event_column in events.columns:
            if event_column.name == operation:
                continue
            if event_column.name in key:
                event_column = event_column.changed(
                    required=True, primary_key=True, primary_key_position=key.index(event_column.name) + 1, unique=len(key) == 1
                )
            columns.append(event_column)
        return Plan(columns, inputs_as_given(request), {"key": key, "sequence": sequence, "operation": operation})

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        alias, columns = next(iter(inputs.items()))
        carried = {self.rename.get(c, c): [(alias, c)] for c in columns if c not in {self.operation, *self.exclude}}
        ordering = [(alias, c) for c in (*self.key, self.sequence, self.operation)]  # which event is a key's state
        return RecipeLineage.of("configured", carried, ordering, copies={name: sources[0] for name, sources in carried.items()})

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        events = build.inputs[0]
        connection = build.connection
        columns = build.input(events.alias).columns
        needed = [*self.key, self.sequence, self.operation, *self.exclude, *self.rename]
        if missing := [c for c in needed if c not in columns]:
            raise MeshError(
                f"{build.contract.address}: {events.address} has no column {', '.join(missing)} (its columns: "
                f"{', '.join(columns)})"
            )
        if dropped_keys := [k for k in self.key if k in {self.operation, *self.exclude}]:
            raise MeshError(
                f"{build.contract.address}: key column {', '.join(dropped_keys)} is also excluded from the state; "
                "remove it from exclude"
            )
        unsequenced = connection.execute(
            f"SELECT count(*) FROM {quote(events.alias)} WHERE {quote(self.sequence)} IS NULL"
        ).fetchall()[0][0]
        if unsequenced:
            raise MeshError(
                f"{build.contract.address}: {unsequenced} events in {events.address} have no {self.sequence}; every "
                "change event needs one"
            )
        previous = build.published_rows() if self.incremental else None
        applied = build.applied_events() if previous is not None else None
        deletes = ", ".join(literal(v) for v in self.delete_values)
        key = ", ".join(quote(k) for k in self.key)
        hashed = "sha256(concat_ws(chr(31), " + ", ".join(f"CAST({quote(k)} AS VARCHAR)" for k in self.key) + "))"
        flagged = (
            f"SELECT *, coalesce({quote(self.operation)} IN ({deletes}), false) AS mesh_is_delete, {hashed} AS "
            f"mesh_key FROM {quote(events.alias)}"
        )
        if applied is not None:
            # Events the record has not seen: past the key's applied sequence, or a delete at the same sequence.
            connection.register("mesh_applied", applied)
            flagged = (
                f"SELECT e.* FROM ({flagged}) AS e LEFT JOIN mesh_applied AS a ON a.mesh_key = e.mesh_key "
                f"WHERE a.mesh_key IS NULL OR e.{quote(self.sequence)} > a.sequence "
                f"OR (e.{quote(self.sequence)} = a.sequence AND e.mesh_is_delete AND NOT a.deleted)"
            )
        # Each key's latest event; at equal sequence (a repeated event) a delete wins, so arrival order never matters.
        # Computed once (a temporary table): the new state, the changed keys and the record all read it.
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE mesh_latest AS SELECT * EXCLUDE (mesh_rank) FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {key} ORDER BY {quote(self.sequence)} DESC, mesh_is_delete DESC) AS mesh_rank FROM "
            f"({flagged})) WHERE mesh_rank = 1"
        )
        renamed = {c: self.rename.get(c, c) for c in columns if c not in {self.operation, *self.exclude}}
        state_key = tuple(renamed[k] for k in self.key)
        state = ", ".join(f"{quote(c)} AS {quote(name)}" for c, name in renamed.items())
        upserts = f"SELECT {state} FROM mesh_latest WHERE NOT mesh_is_delete"
        record = connection.sql(
            f"SELECT mesh_key, {quote(self.sequence)} AS sequence, mesh_is_delete AS deleted FROM mesh_latest"
        )
        if applied is None:
            build.increment = Increment(state_key, record) if self.incremental else None
            return connection.sql(upserts)
        changed = connection.sql(
            f"SELECT {', '.join(f'{quote(k)} AS {quote(renamed[k])}' for k in self.key)}, mesh_is_delete AS {DELETED} "
            "FROM mesh_latest"
        )
        build.increment = Increment(state_key, record, changed)
        connection.register("mesh_previous", previous)
        unchanged = " AND ".join(f"c.{quote(k)} = p.{quote(renamed[k])}" for k in self.key)
        build.log.info(
            f"applying the changes of {connection.sql('SELECT count(*) FROM mesh_latest').fetchall()[0][0]} keys to "
            "the published rows"
        )
        return connection.sql(
            f"SELECT * FROM mesh_previous AS p WHERE NOT EXISTS (SELECT 1 FROM mesh_latest AS c WHERE {unchanged}) "
            f"UNION ALL BY NAME {upserts}"
        )
