"""Functions every product's SQL can call, registered on each domain DuckDB connection.

country_code(text) → ISO 3166-1 alpha-2 code of a country as written ('U.S.' → 'US'), NULL when unknown
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mesh_platform.core.countries import iso_country_code

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class SqlSignature:
    """How SQL calls a function the platform registers: its name, argument types and result type."""

    name: str
    arguments: tuple[str, ...]
    returns: str

    def declare(self, connection: duckdb.DuckDBPyConnection) -> None:
        """The function's signature alone, as a typed macro that returns NULL: enough for DuckDB to bind a query that calls
        it (a recipe described over empty inputs), without a Python function, which costs DuckDB a NumPy import (~0.3 s)."""
        arguments = ", ".join(f"a{index} {type_}" for index, type_ in enumerate(self.arguments))
        connection.execute(f"CREATE OR REPLACE MACRO {self.name}({arguments}) AS CAST(NULL AS {self.returns})")


COUNTRY_CODE = SqlSignature("country_code", ("VARCHAR",), "VARCHAR")


def _country_code(values):  # no annotations: DuckDB evaluates them at registration
    import pyarrow as pa

    return pa.array([iso_country_code(v) for v in values.to_pylist()], pa.string())


def register_sql_functions(connection: duckdb.DuckDBPyConnection) -> None:
    import duckdb
    from duckdb import func

    signature = COUNTRY_CODE
    connection.create_function(
        signature.name,
        _country_code,
        [duckdb.sqltype(a) for a in signature.arguments],
        duckdb.sqltype(signature.returns),
        type=func.PythonUDFType.ARROW,
        null_handling=func.FunctionNullHandling.SPECIAL,
        side_effects=False,
    )


def declare_sql_functions(connection: duckdb.DuckDBPyConnection) -> None:
    """The same functions' signatures only (see `SqlSignature.declare`)."""
    COUNTRY_CODE.declare(connection)
