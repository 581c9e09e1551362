"""How a product is built and published: compute in the domain's DuckDB, stage, publish.

1. Open the domain's DuckDB file; each input's port is scanned as a table named by its alias
   (another domain's product is read from its Delta port, never from its DuckDB file).
2. The recipe turns inputs into a DuckDB relation.
3. The output is conformed to the contract (columns by name, contract types) and
   staged as `staging.<product>`.
4. Only then is the staged data committed to the port, as one atomic Delta commit.
   Any failure before that leaves the port's current version as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mesh_platform.catalog import Catalog, Product
from mesh_platform.conformance import conformed_select
from mesh_platform.settings import MeshSettings
from mesh_platform.storage.domain_database import DomainDatabase

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.contract import Contract
    from mesh_platform.inputs import ProductInput

OUTPUT_VIEW = "mesh_build_output"


@dataclass
class BuildContext:
    """What a recipe sees while it builds: the DuckDB connection and its inputs by alias."""

    connection: duckdb.DuckDBPyConnection
    contract: Contract
    inputs: tuple[ProductInput, ...]
    folder: Path
    landing: Path
    log: logging.Logger

    def input(self, alias: str) -> duckdb.DuckDBPyRelation:
        """An input as a DuckDB relation (lazy: nothing is read until used)."""
        return self.connection.table(alias)


class Recipe(Protocol):
    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation: ...


@dataclass(frozen=True)
class Publication:
    """What one build published."""

    port_uri: str
    version: int
    rows: int


def build_and_publish(
    product: Product, recipe: Recipe, settings: MeshSettings, run_id: str | None, log: logging.Logger
) -> Publication:
    contract = product.contract
    catalog = Catalog.load(settings)
    database = DomainDatabase(settings.domain_database(contract.domain))
    port = product.port(settings)
    with database.connect() as connection:
        for item in product.inputs:
            source = catalog.port(item.address)
            log.info(f"input {item.alias}: {source.address} version {source.current_version()} ({source.uri})")
            connection.register(item.alias, source.dataset())
        build = BuildContext(connection, contract, product.inputs, product.folder, settings.landing_dir(contract.domain), log)
        output = recipe.relation(build)
        connection.register(OUTPUT_VIEW, output)
        database.stage(connection, contract.name, conformed_select(OUTPUT_VIEW, output.columns, contract))
        staged = database.staged_arrow(connection, contract.name)
        log.info(f"staged {staged.num_rows} rows in {database.path} (staging.{contract.name})")
        version = port.publish(staged, contract, run_id)
        database.promote(connection, contract.name)
    log.info(f"published {contract.address} version {version} to {port.uri}")
    return Publication(port_uri=port.uri, version=version, rows=staged.num_rows)
