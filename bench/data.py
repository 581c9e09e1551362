"""Generated data: an orders table of any size, the same for every run (DuckDB's hash of the row number)."""

from __future__ import annotations

from pathlib import Path

import duckdb

ORDER_COLUMNS = [  # name, logical type, physical type: what the bench contracts declare
    ("order_id", "integer", "BIGINT"),
    ("customer_id", "integer", "BIGINT"),
    ("order_date", "date", "DATE"),
    ("amount", "number", "DOUBLE"),
    ("status", "string", "VARCHAR"),
    ("country", "string", "VARCHAR"),
]
STATUSES = ["placed", "shipped", "delivered", "returned"]


def write_orders(path: Path, rows: int) -> Path:
    """`rows` orders as one Parquet file at `path` (written once; kept while its size is right)."""
    marker = path.with_suffix(f".{rows}.done")
    if path.exists() and marker.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    duckdb.sql(f"""
        COPY (
            SELECT
                i AS order_id,
                CAST(hash(i) % 200000 AS BIGINT) AS customer_id,
                DATE '2024-01-01' + CAST(hash(i * 7) % 1000 AS INTEGER) AS order_date,
                round(CAST(hash(i * 13) % 100000 AS DOUBLE) / 100, 2) AS amount,
                [{statuses}][1 + CAST(hash(i * 17) % 4 AS INTEGER)] AS status,
                ['US', 'DE', 'JP', 'FR', 'GB', 'BR', 'IN'][1 + CAST(hash(i * 19) % 7 AS INTEGER)] AS country
            FROM range({rows}) AS t(i)
        ) TO '{path}' (FORMAT parquet)
    """)
    for old in path.parent.glob(f"{path.stem}.*.done"):
        old.unlink()
    marker.touch()
    return path


def write_daily_orders(folder: Path, rows: int, start: str, days: int = 365) -> Path:
    """`rows` orders over `days` days from `start`, delivered as one Parquet folder per day
    (`order_date=YYYY-MM-DD/`, Hive style, as a collector lands a daily feed); kept while its size is right."""
    marker = folder.with_name(f"{folder.name}.{rows}.{start}.{days}.done")
    if folder.exists() and marker.exists():
        return folder
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    duckdb.sql(f"""
        COPY (
            SELECT
                i AS order_id,
                CAST(hash(i) % 200000 AS BIGINT) AS customer_id,
                DATE '{start}' + CAST(hash(i * 7) % {days} AS INTEGER) AS order_date,
                round(CAST(hash(i * 13) % 100000 AS DOUBLE) / 100, 2) AS amount,
                [{statuses}][1 + CAST(hash(i * 17) % 4 AS INTEGER)] AS status,
                ['US', 'DE', 'JP', 'FR', 'GB', 'BR', 'IN'][1 + CAST(hash(i * 19) % 7 AS INTEGER)] AS country
            FROM range({rows}) AS t(i)
        ) TO '{folder}' (FORMAT parquet, PARTITION_BY (order_date))
    """)
    for old in folder.parent.glob(f"{folder.name}.*.done"):
        old.unlink()
    marker.touch()
    return folder
