"""Materializing products across domains: real Dagster runs against the mesh's instance.

A Dagster run belongs to one code location, and each domain is one. So the
selection is split into batches — the products of one domain — run in
dependency order, each in a process of its own against the instance in
`MESH_HOME/dagster`: forked by the domain's warm worker (`runtime.worker`), else
started anew (`runtime.domain_run`). In a deployment with code servers, each is
submitted to the instance instead, as the UI submits a run (`_SubmittedBatch`:
the queue, the daemon, the domain's code server), and followed the same way. Domains that do not read each other run side by
side (at most one run per core): a run starts as soon as the runs it reads from
have ended. Each run carries a tag with its batch id; progress is read from that
run's event log while it goes. A failed product stops only what depends on it;
the other domains' products still run. A product reading a product that was
never published, and is not built by the same command, is refused before any
run starts.

A partitioned product builds the partitions asked for (`partitions`: a first and
last key), or else all of them up to the newest complete one (a full rebuild);
a run builds one partitions definition's range, so a domain whose products are
partitioned differently gets one run per kind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import graphlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.contract.partitioning import Partitioning
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import hashing_key_holders
from mesh_platform.product.run_tags import BATCH_TAG, LAUNCHED_BY_TAG
from mesh_platform.runtime import worker
from mesh_platform.runtime.instance import check_reachable, open_instance, storage_created
from mesh_platform.runtime.recovery import recover_dead_runs
from mesh_platform.runtime.worker import WarmRun

if TYPE_CHECKING:
    import dagster as dg

Status = Literal["materialized", "failed", "skipped"]
POLL_SECONDS = 0.1
KEPT_LOGS = 20  # the log files of the last runs of each domain that MESH_HOME/logs keeps


@dataclass(frozen=True)
class Batch:
    """Products of one domain that can run together in one Dagster run."""

    domain: str
    products: tuple[Product, ...]
    partitions: tuple[str, str] | None = None  # the first and last partition key its partitioned products build

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
            i.address.domain
            for i in product.inputs
            if i.address.unversioned() in selected and i.address.domain != product.address.domain
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
    with _Materialization(settings, catalog, on_progress or (lambda kind, payload: None), partitions) as materialization:
        return materialization.run(selection, max(1, jobs or os.cpu_count() or 1))


def select_related(catalog: Catalog, expression: str) -> list[Address]:
    """The products an address expression selects, as Dagster's selection syntax reads `+`:
    `ADDRESS` the product; `+ADDRESS` it and everything upstream; `ADDRESS+` it and everything
    downstream; `2+ADDRESS` / `ADDRESS+1` only that many layers."""
    match = _EXPRESSION.fullmatch(expression.strip())
    if match is None:
        raise AddressError(
            f"{expression}: not an address expression (write mesh://<domain>/<product>, +… for its inputs, …+ for its readers)"
        )
    product = catalog.product(match["address"])
    selected = [product.address]
    for sign, depth, step in (
        (match["up"], match["up_depth"], catalog.upstream),
        (match["down"], match["down_depth"], catalog.downstream),
    ):
        if not sign:
            continue
        layer, seen, remaining = [product], {product.address}, int(depth) if depth else -1
        while layer and remaining != 0:
            found = {q.address: q for item in layer for q in step(item) if q.address not in seen}
            layer = sorted(found.values(), key=lambda q: q.address)
            seen |= set(found)
            selected += [p.address for p in layer]
            remaining -= 1
    return list(dict.fromkeys(selected))


_EXPRESSION = re.compile(r"(?:(?P<up_depth>\d*)(?P<up>\+))?(?P<address>[^+\s]+)(?:(?P<down>\+)(?P<down_depth>\d*))?")


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

    def __enter__(self) -> _Materialization:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _open_instance(self) -> dg.DagsterInstance:
        """The mesh's Dagster instance, its dead runs recovered: opened while the first runs' processes start
        (importing Dagster and opening its storage take as long as starting a run), or before them when it
        is new (processes creating the same storage at once break it: SQLite's schema version table,
        PostgreSQL's `CREATE TABLE`s)."""
        instance = self._exit.enter_context(open_instance(self.settings))
        for dead in recover_dead_runs(instance):
            self.notify("recovered", dead)
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
        after = _batch_dependencies(batches)
        pending, running, done = list(range(len(batches))), {}, set()
        check_reachable(self.settings)  # before any run: a run cannot tell why its instance does not answer
        if not storage_created(self.settings):
            self._open_instance()  # a new instance: its storage is created once, here, before runs open it side by side
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
            instance = self.instance or self._open_instance()
            for index, started in list(running.items()):
                if started.poll(instance):
                    for outcome in started.finish():
                        self.report.outcomes.append(outcome)
                        if outcome.status != "materialized":
                            self.failed.add(outcome.address)
                    del running[index]
                    done.add(index)
            if running:
                time.sleep(POLL_SECONDS)

    def _outcome(self, outcome: ProductOutcome) -> None:
        self.report.outcomes.append(outcome)
        self.failed.add(outcome.address)
        self.notify("outcome", outcome)

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

    def _start(self, batch: Batch) -> _RunningBatch | None:
        """Start the batch's run (without the products an input of which failed); None when nothing is left to run."""
        for product in batch.products:  # in dependency order: what reads a skipped product is skipped too
            if product.address not in self.failed and (upstream := _failed_upstream(product, self.failed)):
                self._outcome(
                    ProductOutcome(
                        product.address, "skipped", f"not run: an input failed ({', '.join(str(a) for a in sorted(upstream))})"
                    )
                )
        runnable = tuple(p for p in batch.products if p.address not in self.failed)
        if not runnable:
            return None
        batch = Batch(batch.domain, runnable, batch.partitions)
        self.notify("batch", batch)
        # A broken product folder is a broken product of its code location: the domain's others run.
        if (
            self.settings.deployment.code_servers is not None
        ):  # the domains run in code servers: their runs go through the instance
            return _SubmittedBatch(self.settings, batch, self.notify)
        return _RunningBatch(self.settings, self.catalog, batch, self.notify)


def _batch_dependencies(batches: list[Batch]) -> list[set[int]]:
    """For each batch, the earlier batches it must wait for: those it reads from, and its own domain's."""
    producer = {p.address: index for index, batch in enumerate(batches) for p in batch.products}
    after: list[set[int]] = []
    for index, batch in enumerate(batches):
        reads = {
            producer[i.address.unversioned()] for p in batch.products for i in p.inputs if i.address.unversioned() in producer
        }
        same_domain = {other for other in range(index) if batches[other].domain == batch.domain}  # one writer per domain file
        after.append((reads | same_domain) - {index})
    return after


def _failed_upstream(product: Product, failed: set[Address]) -> set[Address]:
    return {i.address.unversioned() for i in product.inputs} & failed


class _RunningBatch:
    """One batch's Dagster run in its own process, followed through the instance's event log."""

    def __init__(self, settings: MeshSettings, catalog: Catalog, batch: Batch, notify: ProgressCallback):
        self.batch, self.notify = batch, notify
        self.log_file = _log_file(settings, batch.domain)
        self.batch_id = uuid.uuid4().hex
        command = [sys.executable, "-m", "mesh_platform.runtime.domain_run", catalog.domains[batch.domain].module, self.batch_id]
        if batch.partitions is not None:
            command += ["--partitions", *batch.partitions]
        command += batch.asset_keys
        # With the domain's own store key, if it has one; the hashing key only if the domain publishes personal columns.
        env = settings.environment(principal=batch.domain, hashing_key=batch.domain in hashing_key_holders(catalog))
        self.process: subprocess.Popen | WarmRun
        if settings.warm_seconds > 0 and worker.available():
            self.process = _warm_run(settings, catalog, batch, self.batch_id, env, self.log_file)
        else:
            self.process = self._own_process(command, settings, env)
        self._cold = (command, settings, env)
        self.watcher: _RunWatcher | None = None

    def _own_process(self, command: list[str], settings: MeshSettings, env: dict[str, str]) -> subprocess.Popen:
        with self.log_file.open("w") as log:
            return subprocess.Popen(command, cwd=settings.root, env=env, stdout=log, stderr=subprocess.STDOUT)

    def poll(self, instance: dg.DagsterInstance) -> bool:
        """Follow the run's events; whether its process has ended."""
        self.watcher = self.watcher or _RunWatcher(instance, self.batch, self.batch_id, self.notify)
        if isinstance(self.process, WarmRun) and self.process.failure is not None:
            # No worker could take it (one that cannot load the definitions, say): a process of its own says why.
            self.process = self._own_process(*self._cold)
        ended = self.process.poll() is not None
        self.watcher.poll()  # after the exit check: an ended process's last events are read
        return ended

    def interrupt(self) -> None:
        """Ctrl-C: a process of its own had it from the terminal; a warm run is told."""
        if isinstance(self.process, WarmRun):
            self.process.interrupt()

    def process_running(self) -> bool:
        return self.process.poll() is None

    def finish(self) -> list[ProductOutcome]:
        """Each product's outcome once the process has ended (reported as they are known)."""
        assert self.watcher is not None, "poll() until the process ends first"
        code = self.process.returncode
        if code < 0 and self.watcher.run_id is not None:
            recover_dead_runs(self.watcher.instance)  # killed: its run is failed now, and its slot free for the next build
        outcomes = self.watcher.outcomes(code)
        if self.watcher.run_id is None:
            reason = _tail(self.log_file) or f"dagster exited with code {code}"
            outcomes = [
                ProductOutcome(p.address, "failed", f"the {self.batch.domain} code location did not run: {reason}")
                for p in self.batch.products
            ]
        for outcome in outcomes:
            if outcome.address not in self.watcher.reported:
                self.notify("outcome", outcome)
        return outcomes


class _SubmittedBatch:
    """One batch's run submitted to the instance as the UI's Materialize button submits it — through the webserver's
    GraphQL API to the domain's code location, into the run coordinator's queue (its per-domain limits), launched by
    the configured launcher (on the domain's code server, or as a Kubernetes pod) — and followed by its run id."""

    def __init__(self, settings: MeshSettings, batch: Batch, notify: ProgressCallback):
        from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

        from mesh_platform.product.run_tags import DOMAIN_TAG, RANGE_END_TAG, RANGE_START_TAG
        from mesh_platform.runtime.ui import webserver_address

        self.batch, self.notify = batch, notify
        self.batch_id = uuid.uuid4().hex
        self.watcher: _RunWatcher | None = None
        self.problem: str | None = None
        tags = {BATCH_TAG: self.batch_id, LAUNCHED_BY_TAG: "mesh materialize", DOMAIN_TAG: batch.domain}
        if batch.partitions is not None:
            tags |= {RANGE_START_TAG: batch.partitions[0], RANGE_END_TAG: batch.partitions[1]}
        host, port = webserver_address(settings)
        try:
            client = DagsterGraphQLClient(host, port_number=port, timeout=60)
            self.run_id: str | None = client.submit_job_execution(
                "__ASSET_JOB",
                repository_location_name=batch.domain,
                repository_name="__repository__",
                tags=tags,
                asset_selection=[p.address.asset_key_path for p in batch.products],
            )
        except (DagsterGraphQLClientError, OSError) as error:  # the client wraps transport errors; a refused connection too
            self.run_id = None
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            self.problem = (
                f"the webserver at http://{host}:{port} did not take the run ({first}): in this deployment runs go "
                f"through it and the daemon's queue — start them (mesh --env {settings.deployment.name} ui, mesh daemon), "
                "or set MESH_UI_PORT to where it listens"
            )

    def poll(self, instance: dg.DagsterInstance) -> bool:
        """Follow the run's events; whether it has ended (or was never taken)."""
        if self.run_id is None:
            return True
        self.watcher = self.watcher or _RunWatcher(instance, self.batch, self.batch_id, self.notify)
        run = instance.get_run_by_id(self.run_id)
        ended = run is None or run.is_finished
        self.watcher.poll()  # after the status: an ended run's last events are read
        return ended

    def finish(self) -> list[ProductOutcome]:
        if self.watcher is None or self.problem is not None:
            outcomes = [ProductOutcome(p.address, "failed", f"not run: {self.problem}") for p in self.batch.products]
        else:
            outcomes = self.watcher.outcomes(0, self._run_failure())
        for outcome in outcomes:
            if self.watcher is None or outcome.address not in self.watcher.reported:
                self.notify("outcome", outcome)
        return outcomes

    def interrupt(self) -> None:
        """Ctrl-C: a submitted run belongs to the instance, which goes on with it (the UI can terminate it)."""

    def process_running(self) -> bool:
        return False

    def _run_failure(self) -> str | None:
        """Why the run failed before its steps did (its code server unreachable, a launch refused), if it did."""
        import dagster as dg

        assert self.watcher is not None and self.run_id is not None
        records = self.watcher.instance.get_records_for_run(self.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        return records[-1].event_log_entry.message if records else None


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
                        version=_metadata_int(metadata, "mesh/port_version"),
                        rows=_metadata_int(metadata, "dagster/row_count"),
                        seconds=round(seconds, 2),
                        run_id=self.run_id,
                        partitions=str(metadata["mesh/partitions"].value) if "mesh/partitions" in metadata else None,
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


def _warm_run(settings: MeshSettings, catalog: Catalog, batch: Batch, batch_id: str, env: dict[str, str], log: Path) -> WarmRun:
    """The batch's run forked by its domain's warm worker (started first when it has none, or a stale one)."""
    module = catalog.domains[batch.domain].module
    name = worker.socket_name(settings.dagster_home, batch.domain)
    state = (settings.home, settings.landing_root)  # what builds write, not what they are made of
    fingerprint = worker.fingerprint(settings.root, {k: v for k, v in env.items() if k not in _VOLATILE}, skip=state)
    launch = [sys.executable, "-m", "mesh_platform.runtime.worker", module, name[1:], fingerprint, str(settings.warm_seconds)]
    request = {
        "batch": batch_id,
        "asset_keys": batch.asset_keys,
        "partitions": batch.partitions and list(batch.partitions),
        "log": str(log),
    }
    worker_log = settings.logs_dir / f"worker-{batch.domain}.log"
    return WarmRun(name, fingerprint, request, launch, env, settings.root, worker_log)


# What changes between two commands of one shell without changing what a run does: not part of a worker's fingerprint.
_VOLATILE = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "PYTEST_CURRENT_TEST", "COLUMNS", "LINES"})


def _log_file(settings: MeshSettings, domain: str) -> Path:
    """A new log file for a domain's run process; the domain's oldest go, so that `KEPT_LOGS` stay."""
    folder = settings.logs_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    for old in sorted(folder.glob(f"materialize-*-{domain}.log"))[: -(KEPT_LOGS - 1)]:  # names sort by time
        old.unlink(missing_ok=True)
    return folder / f"materialize-{stamp}-{domain}.log"


def _tail(file: Path, lines: int = 3) -> str:
    text = [line for line in file.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])
