"""Following one Dagster run: its products' starts, outcomes and failures, read from its events.

The events come from the instance's event log (`RunWatcher`, for a run in a process of its own or submitted
to the instance) or, for a run forked by a warm worker, straight from the run's process, which reads them as
Dagster stores them (`StepEvents`) and sends them over the worker's connection: the command then needs no
instance of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mesh_platform.core.address import Address
from mesh_platform.product.run_tags import BATCH_TAG
from mesh_platform.runtime.batches import Batch
from mesh_platform.runtime.progress import ProductFinished, ProductOutcome, ProductStarted, ProgressCallback

if TYPE_CHECKING:
    import dagster as dg


class StepEvents:
    """A run's event log entries as progress: a product's step started, its first materialization (a range has one
    per partition) or its failure. `by_step`: the product of each step key."""

    def __init__(self, by_step: Mapping[str, Address], run_id: str):
        self.by_step = by_step
        self.run_id = run_id
        self.step_started: dict[Address, float] = {}
        self.finished: set[Address] = set()

    def read(self, entry: dg.EventLogEntry) -> ProductStarted | ProductFinished | None:
        import dagster as dg

        event = entry.dagster_event
        if event is None or event.step_key is None or event.step_key not in self.by_step:
            return None
        address = self.by_step[event.step_key]
        if address in self.finished:
            return None
        if event.event_type == dg.DagsterEventType.STEP_START:
            self.step_started[address] = entry.timestamp
            return ProductStarted(address)
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            metadata = entry.asset_materialization.metadata if entry.asset_materialization else {}
            seconds = entry.timestamp - self.step_started.get(address, entry.timestamp)
            outcome = ProductOutcome(
                address,
                "materialized",
                version=metadata_int(metadata, "mesh/port_version"),
                rows=metadata_int(metadata, "dagster/row_count"),
                seconds=round(seconds, 2),
                run_id=self.run_id,
                partitions=str(metadata["mesh/partitions"].value) if "mesh/partitions" in metadata else None,
            )
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            outcome = ProductOutcome(address, "failed", failure_reason(event), run_id=self.run_id)
        else:
            return None
        self.finished.add(address)
        return ProductFinished(outcome)


class RunProgress:
    """What is known of one batch's run as its events arrive: its run id, each product's outcome so far."""

    def __init__(self, batch: Batch, notify: ProgressCallback):
        self.batch = batch
        self.notify = notify
        self.run_id: str | None = None
        self.results: dict[Address, ProductOutcome] = {}

    @property
    def reported(self) -> set[Address]:
        return set(self.results)

    def take(self, event: ProductStarted | ProductFinished) -> None:
        if isinstance(event, ProductFinished):
            self.results[event.outcome.address] = event.outcome
        self.notify(event)

    def outcomes(self, exit_code: int, run_failure: str | None = None) -> list[ProductOutcome]:
        """Every product's outcome once the run has ended; one it never reached says why."""
        result = []
        failed_here = [o.address for o in self.results.values() if o.status == "failed"]
        for product in self.batch.products:
            if product.address in self.results:
                result.append(self.results[product.address])
            else:
                reason = (
                    f"not run: an input failed ({', '.join(map(str, failed_here))})"
                    if failed_here
                    else f"not run: the run's process ended before it (killed by signal {-exit_code})"
                    if exit_code < 0
                    else f"not run: the run failed: {run_failure}"
                    if run_failure
                    else "not run: the run ended early"
                )
                result.append(ProductOutcome(product.address, "skipped", reason, run_id=self.run_id))
        return result


class RunWatcher(RunProgress):
    """Follows one run through the instance's event log, found by its batch tag."""

    def __init__(self, instance: dg.DagsterInstance, batch: Batch, batch_id: str, notify: ProgressCallback):
        super().__init__(batch, notify)
        self.instance = instance
        self.batch_id = batch_id
        self.cursor: str | None = None
        self.steps: StepEvents | None = None

    def poll(self) -> None:
        if self.steps is None:
            self.run_id = self._find_run()
            if self.run_id is None:
                return
            self.steps = StepEvents({p.address.product: p.address for p in self.batch.products}, self.run_id)
        assert self.run_id is not None
        connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = connection.cursor
        for record in connection.records:
            if (event := self.steps.read(record.event_log_entry)) is not None:
                self.take(event)

    def _find_run(self) -> str | None:
        import dagster as dg

        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: self.batch_id}), limit=1)
        return runs[0].run_id if runs else None


def metadata_int(metadata: Mapping[str, Any], key: str) -> int | None:
    value = metadata.get(key)
    return int(value.value) if value is not None else None


def failure_reason(event: dg.DagsterEvent) -> str:
    """The user's error, not Dagster's wrapper: the innermost cause's message."""
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return "the step failed"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    prefix, separator, rest = message.partition(": ")
    return rest if separator and prefix.split(".")[-1] == error.cls_name else message
