"""What `mesh materialize` reports while it goes: typed progress events, each product's outcome, the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mesh_platform.core.address import Address
from mesh_platform.runtime.batches import Batch
from mesh_platform.runtime.recovery import DeadRun

Status = Literal["materialized", "failed", "skipped"]


@dataclass(frozen=True)
class ProductOutcome:
    address: Address
    status: Status
    reason: str = ""
    version: int | None = None
    rows: int | None = None
    seconds: float | None = None
    run_id: str | None = None
    partitions: str | None = None  # the partitions built, for a partitioned product


@dataclass
class MaterializationReport:
    outcomes: list[ProductOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status == "materialized" for o in self.outcomes)

    @property
    def failures(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status != "materialized"]


@dataclass(frozen=True)
class RunRecovered:
    """A run whose process had died was marked failed and its slots freed."""

    dead: DeadRun


@dataclass(frozen=True)
class BatchStarted:
    """A batch's run was started (or submitted)."""

    batch: Batch


@dataclass(frozen=True)
class ProductStarted:
    """A product's step began."""

    address: Address


@dataclass(frozen=True)
class ProductFinished:
    """A product's outcome is known: materialized, failed or skipped."""

    outcome: ProductOutcome


ProgressEvent = RunRecovered | BatchStarted | ProductStarted | ProductFinished
ProgressCallback = Callable[[ProgressEvent], None]
