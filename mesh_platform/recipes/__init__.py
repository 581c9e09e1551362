"""Recipe types: how a product is built. Each is a Dagster component usable in `defs.yaml`.

    type: mesh_platform.recipes.SqlProduct
"""

from mesh_platform.recipes.base import ProductRecipe
from mesh_platform.recipes.cdc import CdcProduct
from mesh_platform.recipes.filter import FilterProduct
from mesh_platform.recipes.join import JoinProduct
from mesh_platform.recipes.projection import ProjectionProduct
from mesh_platform.recipes.python import PythonProduct
from mesh_platform.recipes.source import SourceProduct
from mesh_platform.recipes.sql import SqlProduct
from mesh_platform.recipes.union import UnionProduct

# The template `mesh new` and `dg scaffold defs` use for each recipe type.
TEMPLATE_BY_RECIPE = {
    "SourceProduct": "source",
    "SqlProduct": "sql",
    "PythonProduct": "python",
    "FilterProduct": "filter",
    "ProjectionProduct": "projection",
    "UnionProduct": "union",
    "JoinProduct": "join",
    "CdcProduct": "cdc",
}

__all__ = [
    "CdcProduct",
    "FilterProduct",
    "JoinProduct",
    "ProductRecipe",
    "ProjectionProduct",
    "PythonProduct",
    "SourceProduct",
    "SqlProduct",
    "TEMPLATE_BY_RECIPE",
    "UnionProduct",
]
