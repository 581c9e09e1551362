"""A product's recipe, read and checked on its own: what a domain's code location loads, and what `mesh check` checks.

The recipe names a recipe type of the mesh, its settings pass that type's schema
and validators (unknown settings included), and the files its settings name are
in the product's folder. A code location loads every product folder through
`load_recipe`, one at a time, and `mesh check` reports what it refuses, so a
green `mesh check` means every product folder loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pydantic

from mesh_platform.core.errors import Problem, RecipeError
from mesh_platform.core.yaml_document import load_yaml_document
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import ProductRecipe, recipe_types

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product


def load_recipe(recipe_file: Path) -> ProductRecipe:
    """The recipe at `recipe_file`, checked; a `RecipeError` lists every problem with its line."""
    document = load_yaml_document(recipe_file, RecipeError)
    by_type = {recipe.type_name(): recipe for recipe in recipe_types().values()}
    type_name = document.data.get("type")
    if type_name not in by_type:
        message = f"'{type_name}' is no recipe type of the mesh" if type_name is not None else "the recipe names no type"
        raise RecipeError([document.problem(("type",), message, f"set type to one of: {', '.join(sorted(by_type))}")])
    try:
        recipe = by_type[type_name].model_validate(document.data.get("attributes") or {})
    except pydantic.ValidationError as error:
        raise RecipeError(document.validation_problems(error, f"see its settings: dg utils inspect-component {type_name}", ("attributes",))) from None
    recipe.require_files(recipe_file)
    return recipe


def recipe_lineage(product: Product, inputs: Mapping[str, list[str]]) -> RecipeLineage:
    """The column lineage the product's recipe states (`inputs`: each input alias's columns)."""
    return load_recipe(product.recipe_file).column_lineage(inputs, product.folder)


def recipe_problems(recipe_file: Path) -> list[Problem]:
    """Every problem `load_recipe` finds in the recipe at `recipe_file` (none: it loads)."""
    try:
        load_recipe(recipe_file)
    except RecipeError as error:
        return error.problems
    return []
