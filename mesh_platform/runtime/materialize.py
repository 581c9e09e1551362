"""Materializing products across domains: real Dagster runs against the mesh's instance.

A Dagster run belongs to one code location, and each domain is one. So the
selection is split into batches — the products of one domain — run in
dependency order, each in its own process (`runtime.domain_run`) against the
instance in `MESH_HOME/dagster`. Each run carries a tag with its batch id;
progress is read from that run's event log while it goes. A failed product stops only what
depends on it; the other domains' products still run.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.core.address import Address
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.recovery import recover_dead_runs

if TYPE_CHECKING:
    import dagster as dg

Status = Literal["materialized", "failed", "skipped"]
BATCH_TAG = "mesh/batch"  # the id `mesh materialize` gives each run, to find it in the instance
LAUNCHED_BY_TAG = "mesh/launched_by"
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Batch:
    """Products of one domain that can run together in one Dagster run."""

    domain: str
    products: tuple[Product, ...]

    @property
    def asset_keys(self) -> list[str]:
        return ["/".join(p.address.asset_key_path) for p in self.products]


@dataclass(frozen=True)
class ProductOutcome:
    address: Address
    status: Status
    reason: str = ""
    version: int | None = None
    rows: int | None = None
    seconds: float | None = None
    run_id: str | None = None


@dataclass
class MaterializationReport:
    outcomes: list[ProductOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status == "materialized" for o in self.outcomes)

    @property
    def failures(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status != "materialized"]


ProgressCallback = Callable[[str, object], None]


def plan_batches(catalog: Catalog, selection: Iterable[Address]) -> list[Batch]:
    """Split the selection into per-domain runs, each after the runs it depends on: one run per
    domain, in the order domains read each other (where domains read each other in a circle, a
    domain's products are split over several runs)."""
    ordered = catalog.ordered(selection)
    selected = {p.address for p in ordered}
    reads: dict[str, set[str]] = {p.address.domain: set() for p in ordered}
    for product in ordered:
        reads[product.address.domain] |= {
            i.address.domain for i in product.inputs if i.address.unversioned() in selected and i.address.domain != product.address.domain
        }
    try:
        domains = list(graphlib.TopologicalSorter(reads).static_order())
    except graphlib.CycleError:
        return _batches_in_rounds(ordered)
    return [Batch(domain, tuple(p for p in ordered if p.address.domain == domain)) for domain in domains]


def _batches_in_rounds(remaining: list[Product]) -> list[Batch]:
    """Batches when domains depend on each other in a circle: each run takes what is ready."""
    selected = {p.address for p in remaining}
    done: set[Address] = set()
    batches = []
    while remaining:
        domain = remaining[0].address.domain  # the first in dependency order is always ready
        taken: list[Product] = []
        for product in remaining:
            if product.address.domain != domain:
                continue
            upstream = {i.address.unversioned() for i in product.inputs}
            pending = upstream & selected - done - {p.address for p in taken}
            if not pending:
                taken.append(product)
        batches.append(Batch(domain, tuple(taken)))
        done |= {p.address for p in taken}
        remaining = [p for p in remaining if p.address not in done]
    return batches


def materialize(
    selection: Iterable[Address],
    settings: MeshSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> MaterializationReport:
    """Materialize the selected products (addresses) through Dagster; never raises for a failed product.

    Runs left unfinished by a process that died are failed and their slots freed first, so that
    no domain waits for a build that will never end."""
    import dagster as dg

    settings = settings or MeshSettings.from_env()
    catalog = Catalog.load(settings.root)
    notify = on_progress or (lambda kind, payload: None)
    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        for dead in recover_dead_runs(instance):
            notify("recovered", dead)
        return _materialize(instance, settings, catalog, selection, notify)


def _materialize(instance: dg.DagsterInstance, settings: MeshSettings, catalog: Catalog, selection: Iterable[Address], notify: ProgressCallback) -> MaterializationReport:
    report = MaterializationReport()
    failed: set[Address] = set()
    wanted = [catalog.product(address).address for address in selection]
    loops = catalog.loops()
    for address in sorted(set(wanted) & set(loops)):
        # No build order exists for a product whose inputs lead back to it; the rest of the selection builds.
        loop = " → ".join(map(str, loops[address]))
        outcome = ProductOutcome(address, "failed", f"no build order: its inputs lead back to it ({loop}); mesh check names the input to drop")
        report.outcomes.append(outcome)
        failed.add(address)
        notify("outcome", outcome)
    for batch in plan_batches(catalog, wanted):
        blocked = [p for p in batch.products if _failed_upstream(catalog, p, failed)]
        runnable = [p for p in batch.products if p not in blocked]
        for product in blocked:
            reason = f"not run: an input failed ({', '.join(str(a) for a in sorted(_failed_upstream(catalog, product, failed)))})"
            outcome = ProductOutcome(product.address, "skipped", reason)
            report.outcomes.append(outcome)
            failed.add(product.address)
            notify("outcome", outcome)
        if not runnable:
            continue
        batch = Batch(batch.domain, tuple(runnable))
        notify("batch", batch)
        # A broken product folder is a broken product of its code location: the domain's others run.
        outcomes = _run_batch(instance, settings, catalog, batch, notify)
        for outcome in outcomes:
            report.outcomes.append(outcome)
            if outcome.status != "materialized":
                failed.add(outcome.address)
    return report


def _failed_upstream(catalog: Catalog, product: Product, failed: set[Address]) -> set[Address]:
    return {i.address.unversioned() for i in product.inputs} & failed


def _run_batch(instance: dg.DagsterInstance, settings: MeshSettings, catalog: Catalog, batch: Batch, notify: ProgressCallback) -> list[ProductOutcome]:
    env = settings.environment()
    log_file = _log_file(settings, batch.domain)
    module = catalog.domains[batch.domain].module
    batch_id = uuid.uuid4().hex
    command = [sys.executable, "-m", "mesh_platform.runtime.domain_run", module, batch_id, *batch.asset_keys]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, cwd=settings.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        watcher = _RunWatcher(instance, batch, batch_id, notify)
        while process.poll() is None:
            watcher.poll()
            time.sleep(POLL_SECONDS)
        watcher.poll()
    if process.returncode < 0 and watcher.run_id is not None:
        recover_dead_runs(instance)  # killed: its run is failed now, and its slot free for the next build
    outcomes = watcher.outcomes(process.returncode)
    if watcher.run_id is None:
        reason = _tail(log_file) or f"dagster exited with code {process.returncode}"
        outcomes = [ProductOutcome(p.address, "failed", f"the {batch.domain} code location did not run: {reason}") for p in batch.products]
    for outcome in outcomes:
        if outcome.address not in watcher.reported:
            notify("outcome", outcome)
    return outcomes


class _RunWatcher:
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
                self.notify("start", address)
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = record.event_log_entry.asset_materialization
                metadata = materialization.metadata if materialization else {}
                seconds = record.event_log_entry.timestamp - self.step_started.get(address, record.event_log_entry.timestamp)
                self._report(
                    ProductOutcome(
                        address,
                        "materialized",
                        version=_metadata_int(metadata, "mesh/port_version"),
                        rows=_metadata_int(metadata, "dagster/row_count"),
                        seconds=round(seconds, 2),
                        run_id=self.run_id,
                    )
                )
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
                self._report(ProductOutcome(address, "failed", _failure_reason(event), run_id=self.run_id))

    def _report(self, outcome: ProductOutcome) -> None:
        self.results[outcome.address] = outcome
        self.reported.add(outcome.address)
        self.notify("outcome", outcome)

    def _find_run(self) -> str | None:
        import dagster as dg

        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: self.batch_id}), limit=1)
        return runs[0].run_id if runs else None

    def outcomes(self, exit_code: int) -> list[ProductOutcome]:
        result = []
        failed_here = [o.address for o in self.results.values() if o.status == "failed"]
        for product in self.batch.products:
            if product.address in self.results:
                result.append(self.results[product.address])
            else:
                reason = (
                    f"not run: an input failed ({', '.join(map(str, failed_here))})" if failed_here
                    else f"not run: the run's process ended before it (killed by signal {-exit_code})" if exit_code < 0
                    else "not run: the run ended early"
                )
                result.append(ProductOutcome(product.address, "skipped", reason, run_id=self.run_id))
        return result


def _metadata_int(metadata: dict, key: str) -> int | None:
    value = metadata.get(key)
    return int(value.value) if value is not None else None


def _failure_reason(event: dg.DagsterEvent) -> str:
    """The user's error, not Dagster's wrapper: the innermost cause's message."""
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return "the step failed"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    prefix, separator, rest = message.partition(": ")
    return rest if separator and prefix.split(".")[-1] == error.cls_name else message


def _log_file(settings: MeshSettings, domain: str) -> Path:
    folder = settings.logs_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"materialize-{stamp}-{domain}.log"


def _tail(file: Path, lines: int = 3) -> str:
    text = [line for line in file.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])
