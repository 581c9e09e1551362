"""The fixed choices of CLI options, as `Enum`s: `--help` lists them and typer refuses anything else."""

from __future__ import annotations

from enum import StrEnum


class AccessLevel(StrEnum):
    """Who may read a product (`contract.model.ACCESS_LEVELS`)."""

    public = "public"
    restricted = "restricted"
    internal = "internal"


class QueryFormat(StrEnum):
    """How `mesh query` writes its result (`consume.query.FORMATS`)."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    duckdb = "duckdb"


class DocumentFormat(StrEnum):
    """How a contract is printed."""

    yaml = "yaml"
    json = "json"
