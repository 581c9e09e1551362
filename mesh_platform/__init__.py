"""mesh-platform: a self-serve data mesh on Dagster.

Public API:
  read_product(address, version=None, consumer=...)           → pandas DataFrame of a product's port
  read_product_relation(address, version=None, consumer=...)  → DuckDB relation (for large reads)
    (read as a principal — a domain, or a consumer of governance/principals.yaml; in a deployment, the one of
    the store's credentials: access levels and masking apply, every read is logged)
  resolve(address)                                    → the product: contract, asset key, port
  load_contract(path)                                 → typed ODCS contract, or ContractError
  domain_definitions(__file__)                        → a domain code location's Definitions
  MeshContext.from_env()                              → the mesh one command or code location works on: settings,
    catalog, glossary, policies, read once and handed down (`context=` of read_product, domain_definitions)
Platform resources (Dagster): CatalogResource, PortStoreResource, DomainDuckDBResource,
LandingZoneResource, AccessControlResource, NotifierResource (notices by webhook and e-mail; off unless configured).
Recipe types (Dagster components): SourceProduct, SqlProduct, PythonProduct, FilterProduct,
ProjectionProduct, UnionProduct, JoinProduct, CdcProduct — `recipes.recipe_types()` lists them.

The package, one concept per sub-package, imports pointing down this list:
  cli → runtime, demo → consume → context → recipes → product, scaffold → governance → quality, lineage
  → catalog, storage → contract → core
"""

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.consume.read import product_versions, read_product, read_product_relation, resolve
from mesh_platform.contract.loading import load_contract
from mesh_platform.contract.model import Contract
from mesh_platform.core.address import Address
from mesh_platform.core.errors import (
    AccessDeniedError,
    AddressError,
    ContractError,
    DeprecatedPortWarning,
    IdentityError,
    MeshError,
    PortError,
    QualityGateError,
    RecipeError,
    SchemaDriftError,
    StoreRefusedError,
    SupersededBuildError,
    UnknownPrincipalError,
)
from mesh_platform.core.settings import MeshSettings

__all__ = [
    "AccessControlResource",
    "AccessDeniedError",
    "Address",
    "AddressError",
    "Catalog",
    "CatalogResource",
    "Contract",
    "ContractError",
    "DeprecatedPortWarning",
    "DomainDuckDBResource",
    "IdentityError",
    "LandingZoneResource",
    "MeshContext",
    "MeshError",
    "MeshSettings",
    "NotifierResource",
    "PortError",
    "PortStoreResource",
    "Product",
    "QualityGateError",
    "RecipeError",
    "SchemaDriftError",
    "StoreRefusedError",
    "SupersededBuildError",
    "UnknownPrincipalError",
    "domain_definitions",
    "load_contract",
    "product_versions",
    "read_product",
    "read_product_relation",
    "resolve",
]

RESOURCE_TYPES = (
    "CatalogResource",
    "PortStoreResource",
    "DomainDuckDBResource",
    "LandingZoneResource",
    "AccessControlResource",
    "NotifierResource",
)
RECIPE_TYPES = (
    "ProductRecipe",
    "SourceProduct",
    "SqlProduct",
    "PythonProduct",
    "FilterProduct",
    "ProjectionProduct",
    "UnionProduct",
    "JoinProduct",
    "CdcProduct",
)


def __getattr__(name: str):
    # Dagster-bound names load on first use, so `import mesh_platform` stays light for the CLI.
    if name == "MeshContext":
        from mesh_platform.context import MeshContext

        return MeshContext
    if name == "domain_definitions":
        from mesh_platform.runtime.definitions import domain_definitions

        return domain_definitions
    if name in RESOURCE_TYPES:
        from mesh_platform.product import resources

        return getattr(resources, name)
    if name in RECIPE_TYPES:
        from mesh_platform import recipes

        return getattr(recipes, name)
    raise AttributeError(f"module 'mesh_platform' has no attribute {name!r}")
