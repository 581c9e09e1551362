"""Column-level lineage: which input columns each product column comes from, across domains."""

from mesh_platform.lineage.mesh_lineage import ColumnRef, MeshLineage, ProductLineage, product_lineage
from mesh_platform.lineage.recipe_lineage import RecipeLineage

__all__ = ["ColumnRef", "MeshLineage", "ProductLineage", "RecipeLineage", "product_lineage"]
