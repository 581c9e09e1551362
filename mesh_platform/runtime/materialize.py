"""Materializing products across domains: real Dagster runs against the mesh's instance.

A Dagster run belongs to one code location, and each domain is one. So the
selection is split into batches — the products of one domain — run in
dependency order, each in a process of its own against the instance in
`MESH_HOME/dagster`: forked by the domain's warm worker (`runtime.worker`), else
started anew (`runtime.domain_run`). In a deployment with code servers, each is
submitted to the instance instead, as the UI submits a run (`_SubmittedBatch`:
the queue, the daemon, the domain's code server), and followed the same way. Domains
that do not read each other run side by side (at most one run per core): a run starts
as soon as the runs it reads from have ended. A warm run sends its progress itself
(`runtime.worker`); any other run carries a tag with its batch id, and progress is read
from that run's event log while it goes. A failed product stops only what depends on
it; the other domains' products still run. A product reading a product that was
never published, and is not built by the same command, is refused before any
run starts.

A partitioned product builds the partitions asked for (`partitions`: a first and
last key), or else all of them up to the newest complete one (a full rebuild);
a run builds one partitions definition's range, so a domain whose products are
partitioned differently gets one run per kind.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.partitioning import Partitioning
from mesh_platform.core.address import Address
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.batch_runs import BatchRun, LocalBatchRun, SubmittedBatchRun, wait_for_any, warm_sources
from mesh_platform.runtime.batches import Batch, batch_dependencies, failed_upstream, plan_batches
from mesh_platform.runtime.instance import open_instance, prepare_instance
from mesh_platform.runtime.progress import (
    BatchStarted,
    MaterializationReport,
    ProductFinished,
    ProductOutcome,
    ProgressCallback,
    RunRecovered,
)
from mesh_platform.runtime.recovery import recover_dead_runs

if TYPE_CHECKING:
    import dagster as dg

POLL_SECONDS = 0.1


def materialize(
    selection: Iterable[Address],
    settings: MeshSettings | None = None,
    on_progress: ProgressCallback | None = None,
    jobs: int | None = None,
    partitions: tuple[str, str] | None = None,
    catalog: Catalog | None = None,
) -> MaterializationReport:
    """Materialize the selected products (addresses) through Dagster; never raises for a failed product.
    `catalog`: the mesh's, as the command read it (default: read now).

    Up to `jobs` runs (default: one per core) go side by side: a domain's run starts as soon
    as the runs it reads from have ended. Runs left unfinished by a process that died are
    failed and their slots freed, so that no domain waits for a build that will never end: while
    the first runs' processes start (a run waits for its domain's slot), not before them.
    Partitioned products build the `partitions` range (first, last key), by default every one."""
    settings = settings or MeshSettings.from_env()
    catalog = catalog or Catalog.load(settings.root)
    with _Materialization(settings, catalog, on_progress or (lambda event: None), partitions) as materialization:
        return materialization.run(selection, max(1, jobs or os.cpu_count() or 1))


class _Materialization:
    """One `mesh materialize`: its batches, started as their inputs are ready, at most `jobs` at a time."""

    def __init__(
        self, settings: MeshSettings, catalog: Catalog, notify: ProgressCallback, partitions: tuple[str, str] | None = None
    ):
        self.settings, self.catalog, self.notify, self.partitions = settings, catalog, notify, partitions
        self.report = MaterializationReport()
        self.failed: set[Address] = set()
        self.instance: dg.DagsterInstance | None = None
        self._exit = contextlib.ExitStack()
        # Local runs go to warm workers checked against the mesh's sources, read once for the whole command.
        self.sources = warm_sources(settings) if settings.deployment.code_servers is None else None

    def __enter__(self) -> _Materialization:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _instance(self) -> dg.DagsterInstance:
        """The mesh's Dagster instance, opened the first time a run is followed through it (a warm run sends its
        events itself, and recovers dead runs itself, so a command of warm runs never imports Dagster)."""
        return self.instance or self._open_instance()

    def _open_instance(self) -> dg.DagsterInstance:
        """The mesh's Dagster instance, its dead runs recovered: opened while the first runs' processes start
        (importing Dagster and opening its storage take as long as starting a run); its storage, when new, was
        created before them (`prepare_instance`: processes creating the same storage at once break it)."""
        instance = self._exit.enter_context(open_instance(self.settings))
        for dead in recover_dead_runs(instance):
            self.notify(RunRecovered(dead))
        self.instance = instance
        return instance

    def run(self, selection: Iterable[Address], jobs: int) -> MaterializationReport:
        wanted = [self.catalog.product(address).address for address in selection]
        loops = self.catalog.loops()
        for address in sorted(set(wanted) & set(loops)):
            # No build order exists for a product whose inputs lead back to it; the rest of the selection builds.
            loop = " → ".join(map(str, loops[address]))
            self._outcome(
                ProductOutcome(
                    address, "failed", f"no build order: its inputs lead back to it ({loop}); mesh check names the input to drop"
                )
            )
        batches = [part for batch in plan_batches(self.catalog, wanted) for part in self._by_partitions(batch)]
        self._refuse_unpublished_inputs(batches, set(wanted))
        after = batch_dependencies(batches)
        pending = list(range(len(batches)))
        running: dict[int, BatchRun] = {}
        done: set[int] = set()
        # Before any run: a run cannot tell why its instance does not answer, and a new instance's storage is created
        # once, here, before runs open it side by side.
        prepare_instance(self.settings)
        try:
            self._follow(batches, after, pending, running, done, jobs)
        except KeyboardInterrupt:  # a warm run is not in this command's process group: it is told (SIGINT) and waited for
            for started in running.values():
                started.interrupt()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(started.process_running() for started in running.values()):
                time.sleep(POLL_SECONDS)
            raise
        return self.report

    def _follow(
        self, batches: list[Batch], after: list[set[int]], pending: list[int], running: dict, done: set[int], jobs: int
    ) -> None:
        """Start each batch once the batches it waits for are done, at most `jobs` at a time; follow them to their end."""
        while pending or running:
            for index in [i for i in pending if after[i] <= done][: max(0, jobs - len(running))]:
                pending.remove(index)
                started = self._start(batches[index])
                if started is None:
                    done.add(index)
                else:
                    running[index] = started
            for index, started in list(running.items()):
                if started.poll(self._instance):
                    for outcome in started.finish(self._instance):
                        self.report.outcomes.append(outcome)
                        if outcome.status != "materialized":
                            self.failed.add(outcome.address)
                    del running[index]
                    done.add(index)
            if running:
                wait_for_any(running.values(), POLL_SECONDS)

    def _outcome(self, outcome: ProductOutcome) -> None:
        self.report.outcomes.append(outcome)
        self.failed.add(outcome.address)
        self.notify(ProductFinished(outcome))

    def _by_partitions(self, batch: Batch) -> list[Batch]:
        """The batch as runs of one partitions definition each (in its order), each with the range it builds;
        a product whose partitions cannot be built (a key it does not have) fails here, before any run."""
        runs: list[tuple[object, list[Product], tuple[str, str] | None]] = []
        for product in batch.products:
            partitioning = product.contract.partitioning
            if partitioning is None:
                if runs:
                    runs[-1][1].append(product)
                else:
                    runs.append((None, [product], None))
                continue
            try:
                keys = self._range_of(partitioning)
            except ValueError as error:
                self._outcome(ProductOutcome(product.address, "failed", f"not run: {error}"))
                continue
            kind = (partitioning.grain, partitioning.start)
            if runs and runs[-1][0] in (None, kind):
                runs[-1] = (kind, [*runs[-1][1], product], keys)
            else:
                runs.append((kind, [product], keys))
        return [Batch(batch.domain, tuple(products), keys) for _, products, keys in runs]

    def _range_of(self, partitioning: Partitioning) -> tuple[str, str]:
        """The partition keys to build: those asked for, or every one up to the newest complete partition."""
        newest = partitioning.last_key()
        if self.partitions is not None:
            first, last = self.partitions
            partitioning.window(first, last)  # raises naming a key the product does not have
            if last > newest:  # keys of one grain sort as their times
                raise ValueError(f"partition '{last}' has not ended yet: the newest complete partition is {newest}")
            return first, last
        last = newest
        if last < partitioning.start_key:
            raise ValueError(f"no partition is complete yet: the first, {partitioning.start_key}, ends after today")
        return partitioning.start_key, last

    def _refuse_unpublished_inputs(self, batches: list[Batch], selected: set[Address]) -> None:
        """Fail, before any run starts, each product reading a product that was never published and is not selected
        (a selected input is built first, or fails and skips its readers)."""
        from mesh_platform.storage.ports import PortStore

        ports = PortStore.of(self.settings)
        published: dict[Address, bool] = {}
        for product in (p for batch in batches for p in batch.products):
            missing = []
            for item in product.inputs:
                upstream = item.address.unversioned()
                if upstream in selected or upstream not in self.catalog.products:
                    continue  # selected too; an unknown product fails at load with its own message
                port = self.catalog.port_address(item.address)
                if port not in published:
                    published[port] = bool(ports.port(port).versions())
                if not published[port]:
                    missing.append(port)
            if missing:
                names = ", ".join(map(str, missing))
                self._outcome(
                    ProductOutcome(
                        product.address,
                        "failed",
                        f"not run: its input {names} was never published; "
                        f"build it first, or run mesh materialize +{product.address} to build everything it reads",
                    )
                )

    def _start(self, batch: Batch) -> BatchRun | None:
        """Start the batch's run (without the products an input of which failed); None when nothing is left to run."""
        for product in batch.products:  # in dependency order: what reads a skipped product is skipped too
            if product.address not in self.failed and (upstream := failed_upstream(product, self.failed)):
                self._outcome(
                    ProductOutcome(
                        product.address, "skipped", f"not run: an input failed ({', '.join(str(a) for a in sorted(upstream))})"
                    )
                )
        runnable = tuple(p for p in batch.products if p.address not in self.failed)
        if not runnable:
            return None
        batch = Batch(batch.domain, runnable, batch.partitions)
        self.notify(BatchStarted(batch))
        # A broken product folder is a broken product of its code location: the domain's others run.
        if self.settings.deployment.code_servers is not None:  # the domains run in code servers: through the instance
            return SubmittedBatchRun(self.settings, batch, self.notify)
        return LocalBatchRun(self.settings, self.catalog, batch, self.notify, self.sources)
