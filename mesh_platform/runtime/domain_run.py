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
from typing import TYPE_CHECKING

from mesh_platform.product.run_tags import BATCH_TAG, DOMAIN_TAG, LAUNCHED_BY_TAG, RANGE_END_TAG, RANGE_START_TAG
from mesh_platform.runtime.recovery import HOST_TAG

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


def run_batch(job: dg.JobDefinition, batch_id: str, asset_keys: list[str], partitions: tuple[str, str] | None = None) -> bool:
    """Materialize `asset_keys` with the code location's asset `job` (`resolve_implicit_global_asset_job_def`;
    their `partitions` range, when partitioned); whether every step succeeded."""
    import dagster as dg

    selection = [dg.AssetKey.from_user_string(key) for key in asset_keys]
    domain = selection[0].path[0]  # a run builds one domain's products: keys are [domain, product]
    tags = {BATCH_TAG: batch_id, LAUNCHED_BY_TAG: "mesh materialize", HOST_TAG: socket.gethostname(), DOMAIN_TAG: domain}
    if partitions is not None:
        tags |= {RANGE_START_TAG: partitions[0], RANGE_END_TAG: partitions[1]}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=selection,
            tags=tags,
            raise_on_error=False,
        )
    return result.success


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
