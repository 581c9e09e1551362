"""Every model's output as dbt built it (its DuckDB file) against the mesh product's current port (a Delta table).

    python -m bench.jaffle.compare DBT_DUCKDB PORTS_FOLDER MODEL … [--exact-rows N]

Row for row, order-independent, over the columns by name: a table of at most `--exact-rows` rows (default
1,000,000) by the rows of each side that the other lacks (EXCEPT ALL both ways, so duplicates count); a larger one
by a fingerprint of each side, computed apart (two sums of a 64-bit hash of every row's values as text: the same
multiset of rows gives the same sums; EXCEPT ALL of 20 million rows holds both sides in memory, over 13 GB here).
Prints one JSON object: per model, both row counts, the columns either side lacks, how it was compared and how
many rows differ each way (for a fingerprint, 0 or "some"); exits 1 when any model differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
from deltalake import DeltaTable

EXACT_ROWS = 1_000_000


def compare(dbt_database: Path, ports: Path, names: list[str], exact_rows: int = EXACT_ROWS) -> dict[str, dict]:
    found: dict[str, dict] = {}
    with duckdb.connect(str(dbt_database), read_only=True) as connection:
        for name in names:
            port = DeltaTable(str(ports / name / "v1")).to_pyarrow_dataset()  # noqa: F841 (DuckDB reads it by name)
            connection.execute(f"CREATE TEMP VIEW mesh_{name} AS SELECT * FROM port")
            dbt_columns = [row[0] for row in connection.execute(f"DESCRIBE main.{name}").fetchall()]
            mesh_columns = [row[0] for row in connection.execute(f"DESCRIBE mesh_{name}").fetchall()]
            common = [f'"{c}"' for c in dbt_columns if c in mesh_columns]
            shared = ", ".join(common)
            dbt_rows, mesh_rows = connection.execute(
                f"SELECT (SELECT count(*) FROM main.{name}), (SELECT count(*) FROM mesh_{name})"
            ).fetchall()[0]
            if max(dbt_rows, mesh_rows) <= exact_rows:
                method = "exact"
                only_dbt, only_mesh = connection.execute(
                    f"""SELECT
                        (SELECT count(*) FROM (SELECT {shared} FROM main.{name} EXCEPT ALL SELECT {shared} FROM mesh_{name})),
                        (SELECT count(*) FROM (SELECT {shared} FROM mesh_{name} EXCEPT ALL SELECT {shared} FROM main.{name}))"""
                ).fetchall()[0]
            else:
                method = "fingerprint"
                texts = ", ".join(f"coalesce({c}::VARCHAR, '<null>')" for c in common)
                sums = f"sum(hash({texts})::HUGEINT), sum(hash({texts}, 'salt')::HUGEINT)"
                dbt_print = connection.execute(f"SELECT {sums} FROM main.{name}").fetchall()[0]
                mesh_print = connection.execute(f"SELECT {sums} FROM mesh_{name}").fetchall()[0]
                only_dbt = only_mesh = 0 if dbt_print == mesh_print else "some"
            found[name] = {
                "dbt_rows": dbt_rows,
                "mesh_rows": mesh_rows,
                "compared": method,
                "only_in_dbt": only_dbt,
                "only_in_mesh": only_mesh,
                "columns_only_in_dbt": [c for c in dbt_columns if c not in mesh_columns],
                "columns_only_in_mesh": [c for c in mesh_columns if c not in dbt_columns],
            }
    return found


def differing(found: dict[str, dict]) -> list[str]:
    return [
        name
        for name, figures in found.items()
        if figures["only_in_dbt"]
        or figures["only_in_mesh"]
        or figures["columns_only_in_dbt"]
        or figures["columns_only_in_mesh"]
        or figures["dbt_rows"] != figures["mesh_rows"]
    ]


if __name__ == "__main__":
    arguments = sys.argv[1:]
    exact = EXACT_ROWS
    if "--exact-rows" in arguments:
        at = arguments.index("--exact-rows")
        exact = int(arguments[at + 1])
        del arguments[at : at + 2]
    result = compare(Path(arguments[0]), Path(arguments[1]), arguments[2:], exact)
    print(json.dumps(result))
    raise SystemExit(1 if differing(result) else 0)
