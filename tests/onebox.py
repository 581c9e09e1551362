"""The one-machine production shape, driven as an operator drives it: `mesh serve` per domain (or one for all),
`mesh daemon` and `mesh ui` (the webserver) loading the domains over gRPC, runs and backfills launched through the
webserver's GraphQL API as the UI launches them (so they go through Dagster's run queue).

Every process a test starts is stopped when it ends, whatever happened: each `mesh` command with SIGTERM (it
stops what it started), then anything of its tree still there with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from .conftest import free_port, graphql

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
BACKFILL = (
    "query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill "
    "{ status } } }"
)
RUN = "query Run($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status tags { key value } } } }"
RELOAD = "mutation Reload($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename } }"
LOCATION = """
query Locations { workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus displayMetadata { key value }
  locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


class Onebox:
    """The one-machine production shape of the mesh at `root`, deployment `env`: each domain's `mesh serve`
    process, and `mesh ui` (webserver and daemon) loading the domains from them, all on 127.0.0.1."""

    def __init__(self, root: Path, env: str):
        self.root, self.env = root, env
        self.servers: dict[str, subprocess.Popen] = {}
        self.port = free_port()
        self.ui: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None

    def _start(self, *args: str, **env: str) -> subprocess.Popen:
        """`mesh --env ENV ARGS…` in a process of its own; its output goes to a log file (a pipe nobody reads
        would fill up and stop it), which a failing wait shows."""
        log = self.root / f"onebox-{'-'.join(args)}.log"
        with log.open("a") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "mesh_platform.cli.main", "--env", self.env, *args],
                cwd=self.root,
                env={**os.environ, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        process.log = log  # type: ignore[attr-defined]
        return process

    def _wait(self, probe, message: str, timeout: float = 180):
        try:
            return wait_for(probe, self.ui, message, timeout=timeout)
        except AssertionError as failure:
            logs = "\n".join(f"--- {p.log.name}\n" + "\n".join(p.log.read_text().splitlines()[-40:]) for p in self._processes())
            raise AssertionError(f"{failure}\n{logs}") from None

    def _processes(self) -> list[subprocess.Popen]:
        return [*self.servers.values(), *(p for p in (self.daemon, self.ui) if p)]

    def serve(self, domain: str) -> None:
        self.servers[domain] = self._start("serve", domain)

    def serve_all(self) -> subprocess.Popen:
        """One `mesh serve` for every domain (it starts again a server that dies)."""
        self.servers["*"] = self._start("serve")
        return self.servers["*"]

    def stop(self, domain: str) -> None:
        _stop(self.servers.pop(domain))

    def start_ui(self) -> None:
        """The daemon, then the webserver: each its own service, as Dagster runs them in production."""
        self.daemon = self._start("daemon")
        self.ui = self._start("ui", MESH_UI_PORT=str(self.port))

    def locations(self) -> dict[str, dict]:
        try:
            return {e["name"]: e for e in graphql(self.port, LOCATION)["workspaceOrError"]["locationEntries"]}
        except OSError:
            return {}

    def wait_loaded(self, *domains: str) -> dict[str, dict]:
        def loaded():
            entries = self.locations()
            ok = all(
                (entries.get(d, {}).get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation" for d in domains
            )
            return entries if ok else None

        return self._wait(loaded, f"the webserver did not load {domains} from their code servers")

    def launch(self, domain: str, *products: str) -> str:
        """A run of the domain's products, launched as the UI's Materialize button launches it."""
        params = {
            "mode": "default",
            "selector": {
                "repositoryLocationName": domain,
                "repositoryName": "__repository__",
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": [domain, p]} for p in products],
            },
        }
        launched = graphql(self.port, LAUNCH_RUN, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def status(self, run_id: str) -> str:
        return graphql(self.port, RUN, {"id": run_id})["runOrError"]["status"]

    def wait_finished(self, *run_ids: str, timeout: float = 300) -> dict[str, str]:
        if not run_ids:
            return {}

        def finished():
            states = {run_id: self.status(run_id) for run_id in run_ids}
            return states if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in states.values()) else None

        return self._wait(finished, f"runs {run_ids} did not finish", timeout=timeout)

    def backfill(self, domain: str, product: str) -> str:
        """A backfill of every partition of a partitioned product, launched as the UI's Materialize all does."""
        params = {"assetSelection": [{"path": [domain, product]}], "allPartitions": True}
        launched = graphql(self.port, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        return graphql(self.port, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]["status"]

    def wait_backfills(self, *backfill_ids: str, timeout: float = 600) -> dict[str, str]:
        if not backfill_ids:
            return {}

        def finished():
            states = {b: self.backfill_status(b) for b in backfill_ids}
            return states if all(s not in ("REQUESTED",) for s in states.values()) else None

        return self._wait(finished, f"backfills {backfill_ids} did not finish", timeout=timeout)

    def reload(self, domain: str) -> None:
        """The UI's Reload button for one code location."""
        graphql(self.port, RELOAD, {"name": domain})

    def close(self) -> None:
        for process in self._processes():
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to a `mesh` command (it stops what it started); whatever of its tree is left then, SIGKILL."""
    tree = process_tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, left = psutil.wait_procs(tree, timeout=30)
    for straggler in left:
        with contextlib.suppress(psutil.Error):
            straggler.kill()
    process.wait()


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and every descendant it has now (the ones in groups and sessions of their own too)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def wait_for(probe, process: subprocess.Popen, message: str, timeout: float = 180):
    """`probe()` until it gives something, while `process` (a server the probe asks) keeps running."""
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert process.poll() is None, process.stdout.read() if process.stdout else f"the process ended ({process.returncode})"
        assert time.monotonic() < deadline, message
        time.sleep(1)
    return result
