"""The reference for a consumer read: DuckDB over a port's Parquet files, a filtered count.

python bench/reference/duckdb_read.py '<port folder>/*.parquet' "status = 'shipped'"
"""

import sys

import duckdb

files, condition = sys.argv[1], sys.argv[2]
print(duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}') WHERE {condition}").fetchall()[0][0])
