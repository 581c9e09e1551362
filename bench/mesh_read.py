"""A consumer's read through the mesh: `read_product_relation`, a filtered count (as reference/duckdb_read.py does without it).

python bench/mesh_read.py mesh://bench/events "status = 'shipped'" [TIME_FILE]

TIME_FILE receives the read's own seconds, from after the imports of DuckDB (as in the reference) and of the
consumer's API to the count: what a notebook that has imported them pays for its first read (the platform's lazy
imports on the read path, its catalog and access log included).
"""

import sys
import time
from pathlib import Path

import duckdb  # noqa: F401  (imported before the timer starts, as reference/duckdb_read.py does)

from mesh_platform import read_product_relation

started = time.perf_counter()
address, condition = sys.argv[1], sys.argv[2]
print(read_product_relation(address).filter(condition).aggregate("count(*)").fetchall()[0][0])
if len(sys.argv) > 3:
    Path(sys.argv[3]).write_text(f"{time.perf_counter() - started}\n")
