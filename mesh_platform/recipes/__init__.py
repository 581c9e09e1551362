"""Recipe types: how a product is built. Each is a Dagster component usable in `defs.yaml`.

    type: mesh_platform.recipes.SqlProduct
"""

from mesh_platform.recipes.base import ProductRecipe
from mesh_platform.recipes.python import PythonProduct
from mesh_platform.recipes.source import SourceProduct
from mesh_platform.recipes.sql import SqlProduct

__all__ = ["ProductRecipe", "PythonProduct", "SourceProduct", "SqlProduct"]
