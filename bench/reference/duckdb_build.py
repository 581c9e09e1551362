"""The reference for a product build: the same SQL and the same checks in plain DuckDB, to Parquet.

    python bench/reference/duckdb_build.py --input orders.parquet --output out.parquet [--name orders] \
        [--sql "SELECT … FROM orders"] [--check "SELECT count(*) FROM staged WHERE …" …] [--database work.duckdb]

The input is a view named --name (default orders). Without --database it is one `COPY … TO` (what a raw
load costs), then the checks scan the written file; with it, the result is first a table in that DuckDB file,
the checks scan it, then it is copied out.
"""

import argparse

import duckdb

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--name", default="orders")
parser.add_argument("--sql")
parser.add_argument("--check", action="append", default=[])
parser.add_argument("--database")
options = parser.parse_args()

connection = duckdb.connect(options.database or ":memory:")
connection.execute(f"CREATE OR REPLACE VIEW {options.name} AS SELECT * FROM read_parquet('{options.input}')")
sql = options.sql or f"SELECT * FROM {options.name}"
if options.database is None:
    connection.execute(f"COPY ({sql}) TO '{options.output}' (FORMAT parquet)")
    connection.execute(f"CREATE VIEW staged AS SELECT * FROM read_parquet('{options.output}')")
    for check in options.check:
        connection.execute(check).fetchall()
else:
    connection.execute(f"CREATE OR REPLACE TABLE staged AS {sql}")
    for check in options.check:
        connection.execute(check).fetchall()
    connection.execute(f"COPY staged TO '{options.output}' (FORMAT parquet)")
connection.close()
