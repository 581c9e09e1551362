"""A build's memory does not grow with its output: the output streams from DuckDB to the port.

Measured, not timed: the peak resident memory of the build's processes (the largest one, as the
kernel counts it for waited-for children) for two outputs three times apart in size, with DuckDB's
own memory capped (MESH_DUCKDB_MEMORY_LIMIT). A build that held its output in Python memory —
as one Arrow table, or through a writer that collects the stream — grows by about the output's
size or more; a streaming build grows by a small part of it. Both ways a build stages: as Parquet files
DuckDB writes beside the port, and (a product with a personal column) in a temporary table streamed out.
"""

import json
import os
import subprocess
import sys

import duckdb
import pytest

from .conftest import column, contract_yaml

pytestmark = pytest.mark.slow

SMALL, LARGE = 3_000_000, 9_000_000
ROW_BYTES = 8 + 4 + 96 + 4 + 8  # an id, the payload's offset and its 96 characters, the region's, as Arrow holds them
PAYLOAD = "md5(i::VARCHAR) || md5((i * 7)::VARCHAR) || md5((i * 13)::VARCHAR)"

MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "out": done.stdout + done.stderr,
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _peak_build_mb(lab, rows: int) -> float:
    landing = lab.settings.landing_dir("shop")
    landing.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"COPY (SELECT i AS id, {PAYLOAD} AS payload, 'region ' || (i % 10) AS region FROM range({rows}) t(i)) "
        f"TO '{landing / 'wide.parquet'}' (FORMAT parquet)"
    )
    # A run of its own (no warm worker): a worker's runs are its children, which the command's rusage leaves out.
    env = {**os.environ, "MESH_DUCKDB_MEMORY_LIMIT": "128MB", "MESH_WARM_SECONDS": "0"}
    command = [sys.executable, "-m", "mesh_platform.cli.main", "materialize", "mesh://shop/wide"]
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, cwd=lab.root, capture_output=True, text=True, check=True, timeout=600
    )
    result = json.loads(measured.stdout)
    assert result["code"] == 0, result["out"]
    assert f"{rows:,} rows" in result["out"], result["out"]
    return result["peak_kb"] / 1024


@pytest.mark.parametrize("region", ["internal", "personal"], ids=["staged as files", "staged in a table"])
def test_peak_memory_does_not_grow_with_the_output(lab, region):
    lab.add_domain("shop")
    # A personal column is tokenized on the way to the port, from a staged table (ten values: the vault stays small).
    columns = [column("id", "integer", "BIGINT"), column("payload"), column("region", classification=region)]
    lab.add_product(
        "shop",
        "wide",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: wide.parquet\n",
        contract_yaml("shop", "wide", columns),
    )
    small, large = _peak_build_mb(lab, SMALL), _peak_build_mb(lab, LARGE)
    output_growth = (LARGE - SMALL) * ROW_BYTES / 2**20  # ~690 MB more output
    assert large - small < output_growth / 4, (
        f"peak {small:.0f} MB for {SMALL:,} rows, {large:.0f} MB for {LARGE:,} rows (+{output_growth:.0f} MB of output)"
    )
