"""The mesh's health, from the Dagster instance in `MESH_HOME`: what `mesh status` reports.

For every product: its last successful materialization, its freshness against
the contract's SLA, the latest result of each of its checks, and its last failed
build with the reason, when that came after the last success. A product is
unhealthy when it is late or an error-severity check's latest result failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "state": self.state,
            "severity": self.severity,
            "at": _iso(self.at),
            "description": self.description,
        }


@dataclass(frozen=True)
class Failure:
    run_id: str
    at: dt.datetime
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "at": _iso(self.at), "reason": self.reason}


@dataclass
class ProductHealth:
    address: str
    freshness: Freshness
    last_run_id: str | None = None
    rows: int | None = None
    port_version: int | None = None
    checks: list[CheckState] = field(default_factory=list)
    last_failure: Failure | None = None

    @property
    def failing_checks(self) -> list[CheckState]:
        return [c for c in self.checks if c.passed is False]

    @property
    def failing_error_checks(self) -> list[CheckState]:
        return [c for c in self.failing_checks if c.severity == "error"]

    @property
    def healthy(self) -> bool:
        return self.freshness.state != "late" and not self.failing_error_checks

    def last_materialization_json(self) -> dict[str, Any] | None:
        if self.freshness.last_update is None:
            return None
        return {
            "at": _iso(self.freshness.last_update),
            "run_id": self.last_run_id,
            "rows": self.rows,
            "port_version": self.port_version,
        }

    def build_json(self) -> dict[str, Any]:
        """What `mesh show` tells of the product's builds: last materialization, checks, last failure."""
        return {
            "last_materialization": self.last_materialization_json(),
            "checks": [c.to_json() for c in self.checks],
            "last_failure": self.last_failure.to_json() if self.last_failure else None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "healthy": self.healthy,
            "freshness": self.freshness.state,
            "due_by": _iso(self.freshness.due_by),
            "latest_partition": self.freshness.latest_partition,
            "last_materialization": self.last_materialization_json(),
            "checks": [c.to_json() for c in self.checks],
            "failing_checks": [c.name for c in self.failing_checks],
            "last_failure": self.last_failure.to_json() if self.last_failure else None,
        }


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
    if event is not None:
        metadata = event.asset_materialization.metadata if event.asset_materialization else {}
        health.last_run_id = event.run_id
        health.rows = _value(metadata.get("dagster/row_count"))
        health.port_version = _value(metadata.get("mesh/port_version"))
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


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
