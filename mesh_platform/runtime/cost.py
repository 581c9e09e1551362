"""What building the products cost, from the Dagster instance in `MESH_HOME`: what `mesh cost` reports.

A product's build is the step of a Dagster run that materializes it, whoever launched the run
(`mesh materialize`, the automation sensor, the UI). Each build that ended within the window
counts: its run time (the step's duration as Dagster recorded it, from its start to its success
or failure), and, when it succeeded, the rows and bytes it published (the `dagster/row_count`
and `mesh/bytes_written` metadata of its materialization). A failed build cost its run time and
published nothing. Builds are summed per product, per domain and in total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mesh_platform.core.address import Address
from mesh_platform.core.durations import parse_duration
from mesh_platform.core.settings import MeshSettings
from mesh_platform.product.run_tags import DOMAIN_TAG
from mesh_platform.runtime.instance import open_instance

if TYPE_CHECKING:
    import dagster as dg

DEFAULT_WINDOW = "30d"
ROWS, BYTES = "dagster/row_count", "mesh/bytes_written"


def window_start(text: str, now: dt.datetime) -> dt.datetime:
    """The start of a window given as a duration back from `now` (`30d`, `12h`, `90min`, `2w`) or as a time
    (ISO 8601, UTC unless it says); ValueError saying what to write otherwise."""
    try:
        duration = parse_duration(text)
        start = now - duration if duration is not None else None
    except (ValueError, OverflowError):  # longer than the calendar, or back before its first day
        shown = text if len(text) <= 24 else f"{text[:12]}…{text[-4:]}"
        raise ValueError(f"'{shown}' reaches back before year 1; give a shorter window, or a time such as 2026-01-01") from None
    if start is not None:
        return start
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        shown = text if len(text) <= 40 else f"{text[:24]}…"
        raise ValueError(
            f"'{shown}' is neither a duration nor a time; write e.g. 30d, 12h, 90min, 2w, or 2026-11-01T00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Build:
    """One step of a run that built a product."""

    address: Address
    run_id: str
    ended_at: dt.datetime
    seconds: float
    succeeded: bool
    rows: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Cost:
    """Builds summed: how many (failed among them), their run time, the rows and bytes they published."""

    builds: int = 0
    failed: int = 0
    seconds: float = field(default=0.0, metadata={"json_name": "run_seconds", "json_value": lambda s: round(s, 6)})
    rows: int = 0
    bytes: int = 0

    @classmethod
    def of(cls, builds: list[Build]) -> Cost:
        return cls(
            builds=len(builds),
            failed=sum(not b.succeeded for b in builds),
            seconds=sum(b.seconds for b in builds),
            rows=sum(b.rows for b in builds),
            bytes=sum(b.bytes for b in builds),
        )


@dataclass(frozen=True)
class ProductCost:
    address: Address
    domain: str
    cost: Cost = field(metadata={"json_inline": True})


@dataclass(frozen=True)
class DomainCost:
    domain: str
    cost: Cost = field(metadata={"json_inline": True})


@dataclass(frozen=True)
class CostReport:
    """The cost of the builds that ended in [since, until], of one domain or of all."""

    since: dt.datetime
    until: dt.datetime
    domain: str | None
    builds: tuple[Build, ...] = field(metadata={"json_name": None})
    json_properties: ClassVar[tuple[str, ...]] = ("products", "domains", "total")

    @property
    def products(self) -> list[ProductCost]:
        return [
            ProductCost(address, address.domain, Cost.of([b for b in self.builds if b.address == address]))
            for address in sorted({b.address for b in self.builds})
        ]

    @property
    def domains(self) -> list[DomainCost]:
        return [
            DomainCost(domain, Cost.of([b for b in self.builds if b.address.domain == domain]))
            for domain in sorted({b.address.domain for b in self.builds})
        ]

    @property
    def total(self) -> Cost:
        return Cost.of(list(self.builds))


def mesh_cost(
    settings: MeshSettings, since: dt.datetime, until: dt.datetime | None = None, domain: str | None = None
) -> CostReport:
    """The cost of the builds that ended between `since` and `until` (now), of `domain` or of every domain,
    read from the Dagster instance of the mesh `settings` describe."""
    import dagster as dg

    until = until or dt.datetime.now(dt.UTC)
    if not settings.deployment.uses_postgres and not (settings.dagster_home / "dagster.yaml").exists():
        return CostReport(since, until, domain, ())  # an embedded mesh that never ran
    with open_instance(settings) as instance:
        # A run last updated before the window ended before it: none of its builds can count.
        records = instance.get_run_records(filters=dg.RunsFilter(updated_after=since))
        builds = [b for record in records for b in _builds(instance, record.dagster_run)]
    kept = [b for b in builds if since <= b.ended_at <= until and (domain is None or b.address.domain == domain)]
    return CostReport(since, until, domain, tuple(sorted(kept, key=lambda b: b.ended_at)))


def _builds(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Build]:
    """The run's finished product steps, from Dagster's step statistics (its event log summed per step)."""
    builds = []
    for step in instance.get_run_step_stats(run.run_id):
        status = step.status.value if step.status else None
        if status not in ("SUCCESS", "FAILURE") or step.start_time is None or step.end_time is None:
            continue  # skipped, or still running
        materialization = _first_materialization(step) if status == "SUCCESS" else None
        address = _address(run, step.step_key, materialization)
        if address is None:
            continue  # a step that builds no product
        metadata = materialization.metadata if materialization else {}
        builds.append(
            Build(
                address=address,
                run_id=run.run_id,
                ended_at=dt.datetime.fromtimestamp(step.end_time, tz=dt.UTC),
                seconds=step.end_time - step.start_time,
                succeeded=status == "SUCCESS",
                # A build of a range of partitions records one materialization per partition, each with the build's numbers.
                rows=_int(metadata.get(ROWS)),
                bytes=_int(metadata.get(BYTES)),
            )
        )
    return builds


def _first_materialization(step: Any) -> dg.AssetMaterialization | None:
    for entry in step.materialization_events:
        if entry.asset_materialization is not None:
            return entry.asset_materialization
    return None


def _address(run: dg.DagsterRun, step_key: str, materialization: dg.AssetMaterialization | None) -> Address | None:
    """The product a step builds: its materialization's key, or (a failed step made none) the key the run selected
    for it (a product's step is named after the product), or the run's domain and the step's name."""
    key = materialization.asset_key if materialization else None
    if key is None:
        key = next((k for k in run.asset_selection or () if k.path[-1] == step_key), None)
    if key is None and (domain := run.tags.get(DOMAIN_TAG)):
        return Address(domain, step_key)
    return Address(key.path[0], key.path[1]) if key is not None and len(key.path) == 2 else None


def _int(entry: Any) -> int:
    value = getattr(entry, "value", entry)
    return int(value) if value is not None else 0
