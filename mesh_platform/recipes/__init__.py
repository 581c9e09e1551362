"""Recipe types: how a product is built. Each is a Dagster component usable in `defs.yaml`:

    type: mesh_platform.recipes.SqlProduct

A recipe type is one module of this package (a `ProductRecipe` subclass naming its
`template`) and one folder of `templates/`. Every module here is imported and its
recipe type registered, so adding a type touches nothing else; `recipe_types()`
lists them by template name.
"""

import importlib
import pkgutil

from mesh_platform.recipes.base import ProductRecipe, recipe_types

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

globals().update({recipe.__name__: recipe for recipe in recipe_types().values()})
__all__ = ["ProductRecipe", "recipe_types", *sorted(recipe.__name__ for recipe in recipe_types().values())]
