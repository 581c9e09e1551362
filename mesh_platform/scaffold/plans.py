"""What each product template needs to know to render: its output columns and settings.

A plan turns the inputs' contracts into the new product's columns (names,
types, classification, terms carried over) and the template's settings, so that
a new product loads, passes its contract and materializes as generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.model import Column
from mesh_platform.core.errors import MeshError
from mesh_platform.governance.access import contract_as_seen_by, may_read
from mesh_platform.core.inputs import ProductInput
from mesh_platform.recipes.join import JoinStep
from mesh_platform.recipes.join import plan_join as plan_join_columns


@dataclass(frozen=True)
class PlanRequest:
    catalog: Catalog
    domain: str
    name: str
    inputs: tuple[Product, ...]
    parameters: dict[str, str | None]


@dataclass
class Plan:
    columns: list[Column]
    inputs: list[ProductInput] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def seen_by(product: Product, domain: str) -> Product:
    """An input product as `domain`'s builds will read it (access and masking applied)."""
    return replace(product, contract=contract_as_seen_by(product.contract, domain))


def _inputs(request: PlanRequest) -> list[ProductInput]:
    return [ProductInput(p.address, p.address.product) for p in request.inputs]


def _example_columns() -> list[Column]:
    return [
        Column("id", "integer", "BIGINT", "Identifier of the row.", required=True, unique=True, primary_key=True, primary_key_position=1, classification="internal"),
        Column("name", "string", "VARCHAR", "Name of the thing.", required=True, classification="internal"),
        Column("updated_at", "timestamp", "TIMESTAMP", "When the row last changed.", classification="internal"),
    ]


def plan_source(request: PlanRequest) -> Plan:
    path = request.parameters["path"] or f"{request.name}/*.csv"
    return Plan(_example_columns(), settings={"path": path})


def plan_sql(request: PlanRequest) -> Plan:
    columns = list(request.inputs[0].contract.columns) if request.inputs else _example_columns()
    return Plan(columns, _inputs(request))


def plan_python(request: PlanRequest) -> Plan:
    return plan_sql(request)


def plan_filter(request: PlanRequest) -> Plan:
    columns = list(request.inputs[0].contract.columns)
    anchor = next((c for c in columns if c.required), columns[0])
    where = request.parameters["where"] or f"{anchor.name} IS NOT NULL"
    return Plan(columns, _inputs(request), {"where": where})


def plan_projection(request: PlanRequest) -> Plan:
    return Plan(list(request.inputs[0].contract.columns), _inputs(request))


def plan_union(request: PlanRequest) -> Plan:
    first = request.inputs[0]
    names = {c.name for c in first.contract.columns}
    for other in request.inputs[1:]:
        other_names = {c.name for c in other.contract.columns}
        if other_names != names:
            differences = [f"{c} missing" for c in sorted(names - other_names)] + [f"{c} extra" for c in sorted(other_names - names)]
            raise MeshError(f"{other.address} cannot be unioned with {first.address}: {', '.join(differences)}")
    columns = list(first.contract.columns)
    source_column = request.parameters["source_column"]
    if source_column:
        columns.append(Column(source_column, "string", "VARCHAR", "Address of the product the row came from.", required=True, classification="public"))
    return Plan(columns, _inputs(request), {"source_column": source_column})


def plan_join(request: PlanRequest) -> Plan:
    """Join each input in turn on its key; where two inputs share no key, go through a crosswalk product."""
    base, *rest = request.inputs
    products = [base]
    steps: list[JoinStep] = []
    available = {c.name for c in base.contract.columns}
    for product in rest:
        keys = _join_keys(available, product)
        if keys is None:
            bridge, bridge_keys = _find_bridge(request, available, product, exclude={p.address for p in products})
            products.append(bridge)
            steps.append(JoinStep(input=bridge.address.product, keys=bridge_keys))
            available |= {c.name for c in bridge.contract.columns}
            keys = _join_keys(available, product)
            assert keys is not None
        products.append(product)
        steps.append(JoinStep(input=product.address.product, keys=keys))
        available |= {c.name for c in product.contract.columns}
    columns_by_alias = {p.address.product: [c.name for c in p.contract.columns] for p in products}
    contracts = {p.address.product: p.contract for p in products}
    planned = plan_join_columns(base.address.product, columns_by_alias, steps)
    columns = []
    for joined in planned:
        column = contracts[joined.alias].column(joined.source)
        if joined.alias != base.address.product:
            # A left join leaves these empty where nothing matches; they are not the product's key.
            column = replace(column, required=False, unique=False, primary_key=False, primary_key_position=-1)
        columns.append(replace(column, name=joined.name))
    notes = [f"joins through {p.address} to link keys" for p in products if p not in request.inputs]
    inputs = [ProductInput(p.address, p.address.product) for p in products]
    return Plan(columns, inputs, {"joins": steps}, notes)


def _join_keys(available: set[str], product: Product) -> list[str] | None:
    """Keys to join `product` on: its primary key (or a unique column) when already available."""
    columns = product.contract.columns
    primary = [c.name for c in sorted((c for c in columns if c.primary_key), key=lambda c: c.primary_key_position)]
    if primary and set(primary) <= available:
        return primary
    unique = [c.name for c in columns if c.unique and c.name in available]
    return unique[:1] or None


def _find_bridge(request: PlanRequest, available: set[str], product: Product, exclude: set) -> tuple[Product, list[str]]:
    """A product of the mesh holding a column we have and the target's key: an identifier crosswalk."""
    for candidate in sorted(request.catalog.products.values(), key=lambda p: p.address):
        if candidate.address in exclude or candidate.address == product.address or not may_read(candidate.contract, request.domain):
            continue
        candidate = seen_by(candidate, request.domain)
        keys = _join_keys(available, candidate)
        names = {c.name for c in candidate.contract.columns}
        if keys and _join_keys(available | names, product):
            return candidate, keys
    raise MeshError(
        f"{product.address} shares no key with the inputs before it and no product of the mesh links them; "
        "add an input that does, or create the product with the sql template"
    )


def plan_cdc(request: PlanRequest) -> Plan:
    events = request.inputs[0].contract
    names = [c.name for c in events.columns]
    operation = request.parameters["operation"] or _guess(names, ("op", "operation", "change_type", "action"), "operation")
    sequence = request.parameters["sequence"] or _guess(names, ("sequence", "seq", "lsn", "offset", "version"), "sequence")
    key_text = request.parameters["key"] or _guess(names, [n for n in names if n.endswith("_id") and n != "event_id"][:1], "key")
    key = [k.strip() for k in key_text.split(",") if k.strip()]
    for column in (operation, sequence, *key):
        if column not in names:
            raise MeshError(f"{events.address} has no column '{column}' (its columns: {', '.join(names)})")
    columns = []
    for column in events.columns:
        if column.name == operation:
            continue
        if column.name in key:
            column = replace(column, required=True, primary_key=True, primary_key_position=key.index(column.name) + 1, unique=len(key) == 1)
        columns.append(column)
    return Plan(columns, _inputs(request), {"key": key, "sequence": sequence, "operation": operation})


def _guess(names: list[str], candidates, what: str) -> str:
    for candidate in candidates:
        if candidate in names:
            return candidate
    raise MeshError(f"cannot tell which column is the {what}; pass --set {what}=<column> (columns: {', '.join(names)})")


PLANS: dict[str, Callable[[PlanRequest], Plan]] = {
    "source": plan_source,
    "sql": plan_sql,
    "python": plan_python,
    "filter": plan_filter,
    "projection": plan_projection,
    "union": plan_union,
    "join": plan_join,
    "cdc": plan_cdc,
}
