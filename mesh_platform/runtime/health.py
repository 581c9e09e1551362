"""The mesh's health, from the Dagster instance in `MESH_HOME`: what `mesh status` reports.

For every product: its last successful materialization, its freshness against
the contract's SLA, the latest result of each of its checks, and its last failed
build with the reason, when that came after the last success. A product is
unhealthy when it is late or an error-severity check's latest result failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mesh_platform.catalog.catalog import Product
from mesh_platform.catalog.freshness import Freshness, freshness, partition_freshness
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.glossary import Glossary
from mesh_platform.product.checks import NOT_CHECKED, check_names
from mesh_platform.runtime.instance import open_instance
from mesh_platform.runtime.recovery import recover_dead_runs

if TYPE_CHECKING:
    import dagster as dg


@dataclass(frozen=True)
class CheckState:
    name: str
    passed: bool | None  # None: never evaluated, or being evaluated now
    severity: str  # error (blocking) or warning
    at: dt.datetime | None = None
    description: str = ""
    # passed, failed, running (its run is in flight), not evaluated (its run ended first), not checked (nothing to compare with)
    state: str = "never run"


@dataclass(frozen=True)
class Failure:
    run_id: str
    at: dt.datetime
    reason: str


@dataclass(frozen=True)
class LastMaterialization:
    at: dt.datetime
    run_id: str | None
    rows: int | None
    port_version: int | None


@dataclass
class ProductHealth:
    """A product's health; `--json` writes its freshness by its state, with the time it is due by beside it."""

    address: str
    freshness: Freshness = field(metadata={"json_value": lambda f: f.state})
    last_materialization: LastMaterialization | None = None
    checks: list[CheckState] = field(default_factory=list)
    last_failure: Failure | None = None
    json_properties: ClassVar[tuple[str, ...]] = ("healthy", "due_by", "latest_partition", "failing_checks")

    @property
    def failing(self) -> list[CheckState]:
        return [c for c in self.checks if c.passed is False]

    @property
    def failing_checks(self) -> list[str]:
        return [c.name for c in self.failing]

    @property
    def failing_errors(self) -> list[CheckState]:
        return [c for c in self.failing if c.severity == "error"]

    @property
    def healthy(self) -> bool:
        return self.freshness.state != "late" and not self.failing_errors

    @property
    def due_by(self) -> dt.datetime | None:
        return self.freshness.due_by

    @property
    def latest_partition(self) -> str | None:
        return self.freshness.latest_partition

    @property
    def builds(self) -> ProductBuilds:
        """What `mesh show` tells of the product's builds."""
        return ProductBuilds(self.last_materialization, self.checks, self.last_failure)


@dataclass(frozen=True)
class ProductBuilds:
    """A product's last materialization, the latest result of each of its checks, its last failure after it."""

    last_materialization: LastMaterialization | None
    checks: list[CheckState]
    last_failure: Failure | None


def mesh_health(
    settings: MeshSettings, glossary: Glossary, products: list[Product], now: dt.datetime | None = None
) -> list[ProductHealth]:
    """The health of `products`, read from the Dagster instance of the mesh `settings` describe (an embedded mesh
    that never ran has none: nothing built yet; a deployment's database is always read)."""
    if not settings.deployment.uses_postgres and not (settings.dagster_home / "dagster.yaml").exists():
        return [
            ProductHealth(str(p.address), freshness(p.contract, None, now), checks=_unevaluated(glossary, p)) for p in products
        ]
    with open_instance(settings) as instance:
        recover_dead_runs(instance)  # a run whose process died is failed, not "running" forever
        return [_product_health(instance, glossary, product, now) for product in products]


def _product_health(instance: dg.DagsterInstance, glossary: Glossary, product: Product, now: dt.datetime | None) -> ProductHealth:
    import dagster as dg

    key = dg.AssetKey(product.address.asset_key_path)
    event = instance.get_latest_materialization_event(key)
    last = _time(event.timestamp) if event else None
    health = ProductHealth(str(product.address), _freshness(instance, key, product, last, now))
    if event is not None and last is not None:
        metadata = event.asset_materialization.metadata if event.asset_materialization else {}
        rows, port_version = _value(metadata.get("dagster/row_count")), _value(metadata.get("mesh/port_version"))
        health.last_materialization = LastMaterialization(last, event.run_id, rows, port_version)
    for name, severity in check_names(product.contract, glossary):
        health.checks.append(_check_state(instance, dg.AssetCheckKey(key, name), severity))
    health.last_failure = _last_failure(instance, key, product, last)
    return health


def _freshness(
    instance: dg.DagsterInstance, key: dg.AssetKey, product: Product, last: dt.datetime | None, now: dt.datetime | None
) -> Freshness:
    """Freshness on the last build, or for a partitioned product on its newest materialized partition."""
    if product.contract.partitioning is None:
        return freshness(product.contract, last, now)
    materialized = instance.get_materialized_partitions(key)
    latest = max(materialized, default=None)  # keys of one grain sort as their times
    return partition_freshness(product.contract, latest, last, now)


def _check_state(instance: dg.DagsterInstance, check: dg.AssetCheckKey, severity: str) -> CheckState:
    """The latest evaluation of a check; one a run has planned but not made yet is running, or was never made."""
    record = instance.get_latest_asset_check_evaluation_record(check)
    if record is None or record.event is None or record.event.dagster_event is None:
        return CheckState(check.name, None, severity)
    at = _time(record.event.timestamp)
    if record.status.value == "PLANNED":
        run = instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            return CheckState(check.name, None, severity, at, f"being evaluated by run {record.run_id}", state="running")
        return CheckState(
            check.name, None, severity, at, f"run {record.run_id} ended before evaluating it", state="not evaluated"
        )
    evaluation = record.event.dagster_event.event_specific_data
    passed = bool(getattr(evaluation, "passed", record.status.value == "SUCCEEDED"))
    state = "failed" if not passed else NOT_CHECKED if NOT_CHECKED in (getattr(evaluation, "metadata", None) or {}) else "passed"
    return CheckState(check.name, passed, severity, at, getattr(evaluation, "description", None) or "", state=state)


def _last_failure(instance: dg.DagsterInstance, key: dg.AssetKey, product: Product, since: dt.datetime | None) -> Failure | None:
    """The latest failed run that was to build the product, when it came after its last success."""
    import dagster as dg

    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=50):
        if run.asset_selection and key not in run.asset_selection:  # in-process runs list no selection
            continue
        record = instance.get_run_record_by_id(run.run_id)
        ended = _time(record.end_time) if record and record.end_time else None
        if ended is None or (since is not None and ended <= since):
            return None  # runs come newest first: nothing failed after the last success
        reason = _failure_reason(instance, run.run_id, product)
        if reason is not None:
            return Failure(run.run_id, ended, reason)
    return None


def _failure_reason(instance: dg.DagsterInstance, run_id: str, product: Product) -> str | None:
    """The error of the failed step that built the product (the run's failure message otherwise)."""
    import dagster as dg

    steps = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    mine = [e for e in steps if e.step_key and e.step_key.endswith(product.contract.name)]
    if steps and not mine:
        return None  # other products of the run failed, not this one
    for entry in mine:
        data = entry.dagster_event.step_failure_data if entry.dagster_event else None
        if data and data.error:
            return _first_line(_innermost(data.error).message)
    runs = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return _first_line(runs[0].message) if runs else "the run failed (see the run in the Dagster UI)"


def _innermost(error: Any) -> Any:
    """Dagster wraps the product's own error ("Error occurred while executing op …"): its cause says why."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def _unevaluated(glossary: Glossary, product: Product) -> list[CheckState]:
    return [CheckState(name, None, severity) for name, severity in check_names(product.contract, glossary)]


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].removeprefix("mesh_platform.errors.") if lines else text


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def _time(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
