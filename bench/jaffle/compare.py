"""Every model's output as dbt built it (its DuckDB file) against the mesh product's current port (a Delta table).

    python -m bench.jaffle.compare DBT_DUCKDB PORTS_FOLDER MODEL …

Row for row, order-independent: the rows of each side that the other lacks (EXCEPT ALL both ways, so duplicates
count), over the columns by name. Prints one JSON object: per model, both row counts, the columns either side
lacks, and how many rows differ each way; exits 1 when any model differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
from deltalake import DeltaTable


def compare(dbt_database: Path, ports: Path, names: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    with duckdb.connect(str(dbt_database), read_only=True) as connection:
        for name in names:
            port = DeltaTable(str(ports / name / "v1")).to_pyarrow_dataset()  # noqa: F841 (DuckDB reads it by name)
            connection.execute(f"CREATE TEMP VIEW mesh_{name} AS SELECT * FROM port")
            dbt_columns = [row[0] for row in connection.execute(f"DESCRIBE main.{name}").fetchall()]
            mesh_columns = [row[0] for row in connection.execute(f"DESCRIBE mesh_{name}").fetchall()]
            shared = ", ".join(f'"{c}"' for c in dbt_columns if c in mesh_columns)
            dbt_rows, mesh_rows, only_dbt, only_mesh = connection.execute(
                f"""SELECT (SELECT count(*) FROM main.{name}), (SELECT count(*) FROM mesh_{name}),
                    (SELECT count(*) FROM (SELECT {shared} FROM main.{name} EXCEPT ALL SELECT {shared} FROM mesh_{name})),
                    (SELECT count(*) FROM (SELECT {shared} FROM mesh_{name} EXCEPT ALL SELECT {shared} FROM main.{name}))"""
            ).fetchall()[0]
            found[name] = {
                "dbt_rows": dbt_rows,
                "mesh_rows": mesh_rows,
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
    result = compare(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    print(json.dumps(result))
    raise SystemExit(1 if differing(result) else 0)
