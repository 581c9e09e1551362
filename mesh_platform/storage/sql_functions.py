"""Functions every product's SQL can call, registered on each domain DuckDB connection.

  country_code(text) → ISO 3166-1 alpha-2 code of a country as written ('U.S.' → 'US'), NULL when unknown
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesh_platform.core.countries import iso_country_code

if TYPE_CHECKING:
    import duckdb


def _country_code(values):  # no annotations: DuckDB evaluates them at registration
    import pyarrow as pa

    return pa.array([iso_country_code(v) for v in values.to_pylist()], pa.string())


def register_sql_functions(connection: duckdb.DuckDBPyConnection) -> None:
    connection.create_function("country_code", _country_code, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special", side_effects=False)
