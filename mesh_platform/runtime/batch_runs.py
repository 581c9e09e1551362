"""A batch's run, started and followed: forked by the domain's warm worker or in a process of its own
(`LocalBatchRun`), or submitted to the instance's queue in a deployment with code servers (`SubmittedBatchRun`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import hashing_key_holders
from mesh_platform.product.run_tags import BATCH_TAG, LAUNCHED_BY_TAG
from mesh_platform.runtime import worker
from mesh_platform.runtime.batches import Batch
from mesh_platform.runtime.progress import (
    ProductFinished,
    ProductOutcome,
    ProductStarted,
    ProgressCallback,
    RunRecovered,
    from_message,
)
from mesh_platform.runtime.recovery import recover_dead_runs
from mesh_platform.runtime.run_watch import RunProgress, RunWatcher
from mesh_platform.runtime.worker import WarmRun

if TYPE_CHECKING:
    import dagster as dg

KEPT_LOGS = 20  # the log files of the last runs of each domain that MESH_HOME/logs keeps

InstanceOpener = Callable[[], "dg.DagsterInstance"]  # the mesh's instance, opened the first time it is asked for


class BatchRun(Protocol):
    """A batch's run as `mesh materialize` follows it, wherever it runs."""

    def poll(self, instance: InstanceOpener) -> bool:
        """Follow the run's events (from the instance, when the run does not send them itself); whether it has ended."""

    def finish(self, instance: InstanceOpener) -> list[ProductOutcome]:
        """Each product's outcome, once it has ended."""

    def interrupt(self) -> None:
        """Ctrl-C: what the run gets of it."""

    def process_running(self) -> bool:
        """Whether the run's process is still there (after an interrupt)."""


class LocalBatchRun:
    """One batch's Dagster run in a process of its own or forked by the domain's warm worker. A warm run sends its
    events itself; a process of its own is followed through the instance's event log."""

    def __init__(self, settings: MeshSettings, catalog: Catalog, batch: Batch, notify: ProgressCallback, sources: str | None):
        """`sources`: the digest of the mesh's sources (`worker.sources_digest`) when the run is to be forked by
        the domain's warm worker; None for a process of its own."""
        self.batch, self.notify = batch, notify
        self.log_file = log_file_for(settings, batch.domain)
        self.batch_id = uuid.uuid4().hex
        command = [sys.executable, "-m", "mesh_platform.runtime.domain_run", catalog.domains[batch.domain].module, self.batch_id]
        if batch.partitions is not None:
            command += ["--partitions", *batch.partitions]
        command += batch.asset_keys
        # With the domain's own store key, if it has one; the hashing key only if the domain publishes personal columns.
        self._command, self._root = command, settings.root
        self._env = settings.environment(principal=batch.domain, hashing_key=batch.domain in hashing_key_holders(catalog))
        self.process: subprocess.Popen | WarmRun
        if sources is not None:
            self.process = warm_run(settings, catalog, batch, self.batch_id, self._env, self.log_file, sources)
        else:
            self.process = self._own_process()
        self.progress: RunProgress = RunProgress(batch, notify)
        self._by_step = {p.address.product: p.address for p in batch.products}

    def _own_process(self) -> subprocess.Popen:
        with self.log_file.open("w") as log:
            return subprocess.Popen(self._command, cwd=self._root, env=self._env, stdout=log, stderr=subprocess.STDOUT)

    def poll(self, instance: InstanceOpener) -> bool:
        """Follow the run's events; whether its process has ended."""
        if isinstance(self.process, WarmRun) and self.process.failure is not None:
            # No worker could take it (one that cannot load the definitions, say): a process of its own says why.
            self.process = self._own_process()
        ended = self.process.poll() is not None
        # After the exit check: an ended process's last events are read.
        if isinstance(self.process, WarmRun):
            for message in self.process.messages():
                self._take(message)
        else:
            if not isinstance(self.progress, RunWatcher):
                self.progress = RunWatcher(instance(), self.batch, self.batch_id, self.notify)
            self.progress.poll()
        return ended

    def _take(self, message: dict) -> None:
        """One message of a warm run's process: its run id, a recovered run, a product's progress."""
        if "run" in message:
            self.progress.run_id = str(message["run"])
            return
        match from_message(message):
            case RunRecovered() as recovered:
                self.notify(recovered)
            case ProductStarted(address):
                self.progress.take(ProductStarted(self._by_step.get(address.product, address)))
            case ProductFinished(outcome):
                address = self._by_step.get(outcome.address.product, outcome.address)
                self.progress.take(ProductFinished(dataclasses.replace(outcome, address=address)))

    def interrupt(self) -> None:
        """Ctrl-C: a process of its own had it from the terminal; a warm run is told."""
        if isinstance(self.process, WarmRun):
            self.process.interrupt()

    def process_running(self) -> bool:
        return self.process.poll() is None

    def finish(self, instance: InstanceOpener) -> list[ProductOutcome]:
        """Each product's outcome once the process has ended (reported as they are known)."""
        code = self.process.returncode
        assert code is not None, "poll() until the process ends first"
        if code < 0 and self.progress.run_id is not None:
            recover_dead_runs(instance())  # killed: its run is failed now, and its slot free for the next build
        outcomes = self.progress.outcomes(code)
        if self.progress.run_id is None:
            reason = tail(self.log_file) or f"dagster exited with code {code}"
            outcomes = [
                ProductOutcome(p.address, "failed", f"the {self.batch.domain} code location did not run: {reason}")
                for p in self.batch.products
            ]
        for outcome in outcomes:
            if outcome.address not in self.progress.reported:
                self.notify(ProductFinished(outcome))
        return outcomes


class SubmittedBatchRun:
    """One batch's run submitted to the instance as the UI's Materialize button submits it — through the webserver's
    GraphQL API to the domain's code location, into the run coordinator's queue (its per-domain limits), launched by
    the configured launcher (on the domain's code server, or as a Kubernetes pod) — and followed by its run id."""

    def __init__(self, settings: MeshSettings, batch: Batch, notify: ProgressCallback):
        from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

        from mesh_platform.product.run_tags import DOMAIN_TAG, RANGE_END_TAG, RANGE_START_TAG
        from mesh_platform.runtime.ui import webserver_address

        self.batch, self.notify = batch, notify
        self.batch_id = uuid.uuid4().hex
        self.watcher: RunWatcher | None = None
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

    def poll(self, instance: InstanceOpener) -> bool:
        """Follow the run's events; whether it has ended (or was never taken)."""
        if self.run_id is None:
            return True
        self.watcher = self.watcher or RunWatcher(instance(), self.batch, self.batch_id, self.notify)
        run = self.watcher.instance.get_run_by_id(self.run_id)
        ended = run is None or run.is_finished
        self.watcher.poll()  # after the status: an ended run's last events are read
        return ended

    def finish(self, instance: InstanceOpener) -> list[ProductOutcome]:
        if self.watcher is None or self.problem is not None:
            outcomes = [ProductOutcome(p.address, "failed", f"not run: {self.problem}") for p in self.batch.products]
        else:
            outcomes = self.watcher.outcomes(0, self._run_failure())
        for outcome in outcomes:
            if self.watcher is None or outcome.address not in self.watcher.reported:
                self.notify(ProductFinished(outcome))
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


def wait_for_any(runs: Iterable[BatchRun], seconds: float) -> None:
    """Until one of `runs` may have news, at most `seconds`: at once when a warm run's process sends something
    (when every run is one whose worker has forked it), else after `seconds`."""
    connections = []
    for run in runs:
        process = run.process if isinstance(run, LocalBatchRun) else None
        if not isinstance(process, WarmRun) or process.connection is None or process.returncode is not None:
            time.sleep(seconds)
            return
        connections.append(process.connection)
    if connections:
        select.select(connections, [], [], seconds)


def warm_run(
    settings: MeshSettings, catalog: Catalog, batch: Batch, batch_id: str, env: dict[str, str], log: Path, sources: str
) -> WarmRun:
    """The batch's run forked by its domain's warm worker (started first when it has none, or a stale one)."""
    module = catalog.domains[batch.domain].module
    name = worker.socket_name(settings.dagster_home, batch.domain)
    fingerprint = worker.fingerprint(sources, {k: v for k, v in env.items() if k not in _VOLATILE})
    launch = [sys.executable, "-m", "mesh_platform.runtime.worker", module, name[1:], fingerprint, str(settings.warm_seconds)]
    request = {
        "storage": worker.storage_identity(settings.dagster_home),
        "batch": batch_id,
        "asset_keys": batch.asset_keys,
        "partitions": batch.partitions and list(batch.partitions),
        "log": str(log),
    }
    worker_log = settings.logs_dir / f"worker-{batch.domain}.log"
    return WarmRun(name, fingerprint, request, launch, env, settings.root, worker_log)


def warm_sources(settings: MeshSettings) -> str | None:
    """The digest of the mesh's sources its runs' workers are checked against (`worker.sources_digest`), or
    None when runs start in processes of their own (warm builds off, or a system without them)."""
    if settings.warm_seconds <= 0 or not worker.available():
        return None
    return worker.sources_digest(settings.root, skip=(settings.home, settings.landing_root))  # not what builds write


# What changes between two commands of one shell without changing what a run does: not part of a worker's fingerprint.
_VOLATILE = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "PYTEST_CURRENT_TEST", "COLUMNS", "LINES"})


def log_file_for(settings: MeshSettings, domain: str) -> Path:
    """A new log file for a domain's run process; the domain's oldest go, so that `KEPT_LOGS` stay."""
    folder = settings.logs_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    for old in sorted(folder.glob(f"materialize-*-{domain}.log"))[: -(KEPT_LOGS - 1)]:  # names sort by time
        old.unlink(missing_ok=True)
    return folder / f"materialize-{stamp}-{domain}.log"


def tail(file: Path, lines: int = 3) -> str:
    text = [line for line in file.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])
