"""Generated data: an orders table of any size, a wide table of any width; the same for every run (DuckDB's hash of the
row number)."""

from __future__ import annotations

import shutil
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
    """`rows` orders over 1,000 days as one Parquet file at `path` (written once; kept while its size is right)."""
    return _write(path, path.with_suffix(f".{rows}.done"), _orders(rows, "2024-01-01", 1000), "FORMAT parquet")


def write_daily_orders(folder: Path, rows: int, start: str, days: int = 365) -> Path:
    """`rows` orders over `days` days from `start`, delivered as one Parquet folder per day
    (`order_date=YYYY-MM-DD/`, Hive style, as a collector lands a daily feed); kept while its size is right."""
    marker = folder.with_name(f"{folder.name}.{rows}.{start}.{days}.done")
    return _write(folder, marker, _orders(rows, start, days), "FORMAT parquet, PARTITION_BY (order_date)")


def wide_column_names(columns: int) -> list[str]:
    return [f"c{index:04d}" for index in range(columns)]


def write_wide(path: Path, columns: int, rows: int) -> Path:
    """`rows` rows of `columns` BIGINT columns (c0000, c0001, …) as one Parquet file at `path` (written once)."""
    names = wide_column_names(columns)
    values = ", ".join(f"CAST(hash(i * {index + 1}) % 1000000 AS BIGINT) AS {name}" for index, name in enumerate(names))
    return _write(path, path.with_suffix(f".{rows}.done"), f"SELECT {values} FROM range({rows}) AS t(i)", "FORMAT parquet")


def _orders(rows: int, start: str, days: int) -> str:
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    return f"""
        SELECT
            i AS order_id,
            CAST(hash(i) % 200000 AS BIGINT) AS customer_id,
            DATE '{start}' + CAST(hash(i * 7) % {days} AS INTEGER) AS order_date,
            round(CAST(hash(i * 13) % 100000 AS DOUBLE) / 100, 2) AS amount,
            [{statuses}][1 + CAST(hash(i * 17) % 4 AS INTEGER)] AS status,
            ['US', 'DE', 'JP', 'FR', 'GB', 'BR', 'IN'][1 + CAST(hash(i * 19) % 7 AS INTEGER)] AS country
        FROM range({rows}) AS t(i)
    """


def _write(target: Path, marker: Path, select: str, options: str) -> Path:
    """`select` written to `target` (a file or a folder) by DuckDB's COPY, unless `marker` says it already was."""
    if target.exists() and marker.exists():
        return target
    if target.is_dir():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({select}) TO '{target}' ({options})")
    for old in target.parent.glob(f"{marker.name.split('.')[0]}.*.done"):
        old.unlink()
    marker.touch()
    return target
