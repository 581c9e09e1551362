"""The reference for a consumer read: DuckDB over a port's Parquet files, a filtered count.

python bench/reference/duckdb_read.py '<port folder>/*.parquet' "status = 'shipped'" [TIME_FILE]

TIME_FILE receives the read's own seconds, from after `import duckdb` to the count.
"""

import sys
import time
from pathlib import Path

import duckdb

started = time.perf_counter()
files, condition = sys.argv[1], sys.argv[2]
print(duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}') WHERE {condition}").fetchall()[0][0])
if len(sys.argv) > 3:
    Path(sys.argv[3]).write_text(f"{time.perf_counter() - started}\n")
