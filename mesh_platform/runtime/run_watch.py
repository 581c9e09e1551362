"""Following one Dagster run through the instance's event log: its products' starts, outcomes and failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mesh_platform.core.address import Address
from mesh_platform.product.run_tags import BATCH_TAG
from mesh_platform.runtime.batches import Batch
from mesh_platform.runtime.progress import ProductFinished, ProductOutcome, ProductStarted, ProgressCallback

if TYPE_CHECKING:
    import dagster as dg


class RunWatcher:
    """Follows one run's event log: step starts, materializations, failures."""

    def __init__(self, instance: dg.DagsterInstance, batch: Batch, batch_id: str, notify: ProgressCallback):
        self.instance = instance
        self.batch = batch
        self.batch_id = batch_id
        self.notify = notify
        self.run_id: str | None = None
        self.cursor: str | None = None
        self.results: dict[Address, ProductOutcome] = {}
        self.step_started: dict[Address, float] = {}
        self.reported: set[Address] = set()
        self.by_step = {p.address.product: p.address for p in batch.products}

    def poll(self) -> None:
        import dagster as dg

        if self.run_id is None:
            self.run_id = self._find_run()
            if self.run_id is None:
                return
        connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = connection.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key not in self.by_step:
                continue
            address = self.by_step[event.step_key]
            if event.event_type == dg.DagsterEventType.STEP_START:
                self.step_started[address] = record.event_log_entry.timestamp
                self.notify(ProductStarted(address))
            elif (
                event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and address not in self.results
            ):  # a range: one per partition
                materialization = record.event_log_entry.asset_materialization
                metadata = materialization.metadata if materialization else {}
                seconds = record.event_log_entry.timestamp - self.step_started.get(address, record.event_log_entry.timestamp)
                self._report(
                    ProductOutcome(
                        address,
                        "materialized",
                        version=metadata_int(metadata, "mesh/port_version"),
                        rows=metadata_int(metadata, "dagster/row_count"),
                        seconds=round(seconds, 2),
                        run_id=self.run_id,
                        partitions=str(metadata["mesh/partitions"].value) if "mesh/partitions" in metadata else None,
                    )
                )
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
                self._report(ProductOutcome(address, "failed", failure_reason(event), run_id=self.run_id))

    def _report(self, outcome: ProductOutcome) -> None:
        self.results[outcome.address] = outcome
        self.reported.add(outcome.address)
        self.notify(ProductFinished(outcome))

    def _find_run(self) -> str | None:
        import dagster as dg

        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: self.batch_id}), limit=1)
        return runs[0].run_id if runs else None

    def outcomes(self, exit_code: int, run_failure: str | None = None) -> list[ProductOutcome]:
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
