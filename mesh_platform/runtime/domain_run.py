"""One Dagster run of products of one domain: what `mesh materialize` starts, one process per batch.

    python -m mesh_platform.runtime.domain_run <definitions module> <batch id> <asset key>…

The run goes into the instance `DAGSTER_HOME` names, tagged with the batch id so
that `mesh materialize` finds it and follows its events. It runs in this process
(the domain's executor is in-process: its products share one DuckDB file).
"""

from __future__ import annotations

import importlib
import socket
import sys

import dagster as dg

from mesh_platform.runtime.materialize import BATCH_TAG, LAUNCHED_BY_TAG
from mesh_platform.runtime.recovery import HOST_TAG


def run_batch(module: str, batch_id: str, asset_keys: list[str]) -> bool:
    """Materialize `asset_keys` of the code location `module`; whether every step succeeded."""
    defs: dg.Definitions = importlib.import_module(module).defs
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey.from_user_string(key) for key in asset_keys],
            tags={BATCH_TAG: batch_id, LAUNCHED_BY_TAG: "mesh materialize", HOST_TAG: socket.gethostname()},
            raise_on_error=False,
        )
    return result.success


if __name__ == "__main__":
    module_name, batch, *keys = sys.argv[1:]
    sys.exit(0 if run_batch(module_name, batch, keys) else 1)
