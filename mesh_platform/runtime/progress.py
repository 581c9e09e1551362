"""What `mesh materialize` reports while it goes: typed progress events, each product's outcome, the report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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


# A warm run's process sends its events to the command as JSON lines (`runtime.worker`).
StreamedEvent = RunRecovered | ProductStarted | ProductFinished


def to_message(event: StreamedEvent) -> dict[str, Any]:
    """The event as a JSON object."""
    match event:
        case RunRecovered(dead):
            return {"recovered": dataclasses.asdict(dead)}
        case ProductStarted(address):
            return {"started": str(address)}
        case ProductFinished(outcome):
            return {"finished": {**dataclasses.asdict(outcome), "address": str(outcome.address)}}


def from_message(message: dict[str, Any]) -> StreamedEvent | None:
    """The event a JSON object (`to_message`) holds, or None when it holds none."""
    if "recovered" in message:
        return RunRecovered(DeadRun(**message["recovered"]))
    if "started" in message:
        return ProductStarted(Address.parse(message["started"]))
    if "finished" in message:
        fields = message["finished"]
        return ProductFinished(ProductOutcome(**{**fields, "address": Address.parse(fields["address"])}))
    return None
