"""Runs whose process died: found, marked failed, and their concurrency slots freed.

A build killed with SIGKILL, by the out-of-memory killer or with its machine
never reports its end: Dagster keeps the run STARTED and the step's slot in the
domain's pool claimed, so every later build of the domain would wait for it
forever. `recover_dead_runs` looks at every unfinished run of the instance: the
process executing it is named by the run's own engine events (its pid); when
that process is gone (or is a zombie, or its pid now belongs to a process that
started after the run), the run is reported failed and its slots are freed.
`mesh materialize` and `mesh status` call it first; the daemon frees the slots
of finished runs itself (`run_monitoring` in the instance the platform writes).

On one machine (the embedded mesh) every run's process is local. A run that
names another host (`mesh/host`) is left to that host.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

HOST_TAG = "mesh/host"  # the machine whose process runs the run, set by `mesh materialize`
UNFINISHED = ("STARTING", "STARTED", "CANCELING")


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    pid: int
    job_name: str

    @property
    def message(self) -> str:
        return (
            f"the process running it (pid {self.pid}) is gone: killed, out of memory or its machine stopped; "
            "marked failed by mesh"
        )


def recover_dead_runs(instance: dg.DagsterInstance) -> list[DeadRun]:
    """Mark every run whose process died as failed and free its concurrency slots; return them. One process at a
    time (a lock on the instance's folder itself, so that no file is left behind): the warm runs of several domains
    each recover before they start."""
    folder = os.open(instance.root_directory, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # released when the descriptor closes
        return _recover(instance)
    finally:
        os.close(folder)


def _recover(instance: dg.DagsterInstance) -> list[DeadRun]:
    import dagster as dg

    dead = []
    statuses = [dg.DagsterRunStatus[name] for name in UNFINISHED]
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses)):
        run = record.dagster_run
        if run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
            continue
        pid = _run_pid(instance, run.run_id)
        if pid is None or _alive(pid, started=record.start_time):
            continue
        found = DeadRun(run.run_id, pid, run.job_name)
        instance.report_run_failed(run, message=found.message)
        dead.append(found)
    _free_slots_of_finished_runs(instance)
    return dead


def _run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process executing a run: the pid its engine events name (the run worker, or the in-process executor)."""
    import dagster as dg

    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        raw = pid.value if isinstance(pid, dg.MetadataValue) else pid
        if isinstance(raw, int | str):
            return int(raw)
    return None


def _alive(pid: int, started: float | None) -> bool:
    """Whether `pid` is a live process, and (once the run has a start time) was running when the run started."""
    import psutil

    try:
        process = psutil.Process(pid)
        reused = started is not None and process.create_time() > started + 1  # the pid went to a newer process
        return process.status() != psutil.STATUS_ZOMBIE and not reused
    except psutil.Error:  # no such process, or it ended while we looked
        return False


def _free_slots_of_finished_runs(instance: dg.DagsterInstance) -> None:
    """Slots a finished run still holds (its process died before releasing them) go back to their pool."""
    import dagster as dg

    # Dagster's event log storage is where slots live; the daemon frees them the same way.
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    holders = storage.get_concurrency_run_ids()
    if not holders:
        return
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=list(holders), statuses=finished)):
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
