"""One Dagster run of products of one domain: what `mesh materialize` starts, one process per batch.

    python -m mesh_platform.runtime.domain_run <definitions module> <batch id> [--partitions FIRST LAST] <asset key>…

The run goes into the instance `DAGSTER_HOME` names, tagged with the batch id so
that `mesh materialize` finds it and follows its events, and with its domain. It runs in this process
(the domain's executor is in-process: its products share one DuckDB file). Its
partitioned products build the partition range FIRST…LAST, as a backfill run does.
"""

from __future__ import annotations

import importlib
import socket
import sys

import dagster as dg

from mesh_platform.product.run_tags import DOMAIN_TAG
from mesh_platform.runtime.materialize import BATCH_TAG, LAUNCHED_BY_TAG
from mesh_platform.runtime.recovery import HOST_TAG

# Dagster's tags of a run building a range of partitions, as a single-run backfill sets them
# (Dagster exports no public constant for them).
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_batch(module: str, batch_id: str, asset_keys: list[str], partitions: tuple[str, str] | None = None) -> bool:
    """Materialize `asset_keys` of the code location `module` (their `partitions` range, when partitioned);
    whether every step succeeded."""
    defs: dg.Definitions = importlib.import_module(module).defs
    job = defs.resolve_implicit_global_asset_job_def()
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


if __name__ == "__main__":
    module_name, batch, *rest = sys.argv[1:]
    keys_range = None
    if rest[:1] == ["--partitions"]:
        keys_range, rest = (rest[1], rest[2]), rest[3:]
    sys.exit(0 if run_batch(module_name, batch, rest, keys_range) else 1)
