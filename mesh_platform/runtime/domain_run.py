"""One Dagster run of products of one domain: what `mesh materialize` starts, one process per batch.

    python -m mesh_platform.runtime.domain_run <definitions module> <batch id> [--partitions FIRST LAST] <asset key>…

The run goes into the instance `DAGSTER_HOME` names, tagged with the batch id so
that `mesh materialize` finds it and follows its events, and with its domain. It runs in this process
(the domain's executor is in-process: its products share one DuckDB file). Its
partitioned products build the partition range FIRST…LAST, as a backfill run does.

A process per run costs its start: most of a small build's time is Dagster and the
definitions loading (bench/ measures it). Python's cyclic garbage collector is paused
while they load and their objects are frozen after, so that no collection walks them
again: they live as long as the process, and none of them is garbage.
"""

from __future__ import annotations

import gc
import importlib
import socket
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.address import Address
from mesh_platform.product.run_tags import BATCH_TAG, DOMAIN_TAG, LAUNCHED_BY_TAG, RANGE_END_TAG, RANGE_START_TAG
from mesh_platform.runtime.progress import RunRecovered, StreamedEvent
from mesh_platform.runtime.recovery import HOST_TAG, recover_dead_runs
from mesh_platform.runtime.run_watch import StepEvents
from mesh_platform.runtime.sqlite_wal import OpenDatabases, databases_held_open, run_database

if TYPE_CHECKING:
    import dagster as dg


def load_definitions(module: str) -> dg.Definitions:
    """The code location `module`'s definitions, loaded with the garbage collector paused (see above)."""
    gc.disable()
    try:
        return importlib.import_module(module).defs
    finally:
        gc.freeze()
        gc.enable()


def run_batch(
    job: dg.JobDefinition,
    batch_id: str,
    asset_keys: list[str],
    partitions: tuple[str, str] | None = None,
    on_event: Callable[[StreamedEvent | str], None] | None = None,
    instance: dg.DagsterInstance | None = None,
) -> bool:
    """Materialize `asset_keys` with the code location's asset `job` (`resolve_implicit_global_asset_job_def`;
    their `partitions` range, when partitioned); whether every step succeeded.

    `on_event`, for a run whose command follows it through this process (a warm run): first the runs whose
    process died, recovered here (`runtime.recovery`: the command opens no instance), then the run's id once
    Dagster has stored its first event, then its products' progress as Dagster stores their events.
    `instance`: the one `DAGSTER_HOME` names, when the caller has it open already (a warm worker's)."""
    import dagster as dg

    selection = [dg.AssetKey.from_user_string(key) for key in asset_keys]
    domain = selection[0].path[0]  # a run builds one domain's products: keys are [domain, product]
    tags = {BATCH_TAG: batch_id, LAUNCHED_BY_TAG: "mesh materialize", HOST_TAG: socket.gethostname(), DOMAIN_TAG: domain}
    if partitions is not None:
        tags |= {RANGE_START_TAG: partitions[0], RANGE_END_TAG: partitions[1]}
    run_id = str(uuid.uuid4())  # what Dagster's own run ids are
    with instance or dg.DagsterInstance.get() as opened, databases_held_open(Path(opened.root_directory)) as held:
        if on_event is not None:
            for dead in recover_dead_runs(opened):
                on_event(RunRecovered(dead))
        opened.add_event_listener(run_id, _follower(run_id, selection, on_event, held, Path(opened.root_directory)))
        result = job.execute_in_process(
            instance=opened,
            asset_selection=selection,
            tags=tags,
            run_id=run_id,
            raise_on_error=False,
        )
    return result.success


def _follower(
    run_id: str,
    selection: list[dg.AssetKey],
    on_event: Callable[[StreamedEvent | str], None] | None,
    held: OpenDatabases,
    home: Path,
) -> Callable:
    """What hears each event Dagster stores for the run: once the first is stored, the run's own database is held
    open (`runtime.sqlite_wal`) and its id told; then its products' progress."""
    by_step: Mapping[str, Address] = {key.path[1]: Address(key.path[0], key.path[1]) for key in selection}
    steps = StepEvents(by_step, run_id)
    first = True

    def heard(entry: dg.EventLogEntry) -> None:
        nonlocal first
        if first:
            first = False
            held.hold(run_database(home, run_id))
            if on_event is not None:
                on_event(run_id)
        if on_event is not None and (event := steps.read(entry)) is not None:
            on_event(event)

    return heard


def main(argv: list[str]) -> int:
    module_name, batch, *rest = argv
    keys_range = None
    if rest[:1] == ["--partitions"]:
        keys_range, rest = (rest[1], rest[2]), rest[3:]
    job = load_definitions(module_name).resolve_implicit_global_asset_job_def()
    succeeded = run_batch(job, batch, rest, keys_range)
    # The process ends here: nothing it made is garbage to find. Without this, Python's collector walks
    # every object the run made while the interpreter shuts down (~0.6 s a run).
    gc.freeze()
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
