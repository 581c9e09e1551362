"""A product's recipe, read and checked on its own: what a domain's code location loads, and what `mesh check` checks.

The recipe names a recipe type of the mesh, its settings pass that type's schema
and validators (unknown settings included), and the files its settings name are
in the product's folder. A code location loads every product folder through
`load_recipe`, one at a time, and `mesh check` reports what it refuses, so a
green `mesh check` means every product folder loads.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.errors import Problem, RecipeError
from mesh_platform.core.sql import quote
from mesh_platform.core.yaml_document import load_yaml_document
from mesh_platform.governance.glossary import TERM_PARAMETER
from mesh_platform.product.build import BuildContext
from mesh_platform.recipes.base import ProductRecipe, load_recipe
from mesh_platform.storage.sandbox import REFUSAL, binding_sandbox, empty_table_sql, refused_file

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.governance.view import MeshView


def recipe_problems(recipe_file: Path) -> list[Problem]:
    """Every problem `load_recipe` finds in the recipe at `recipe_file` (none: it loads)."""
    try:
        load_recipe(recipe_file)
    except RecipeError as error:
        return error.problems
    return []


def checked_recipe(product: Product, view: MeshView, readable: list[Path]) -> list[Problem]:
    """What `mesh check` finds in a product's recipe: what definitions load would refuse, else a file its SQL
    reads that a build refuses (`readable`: the folders a build's SQL may read besides its inputs)."""
    try:
        recipe = load_recipe(product.recipe_file)
    except RecipeError as error:
        return error.problems
    return sql_reading_files(product, recipe, view, readable)


def sql_reading_files(product: Product, recipe: ProductRecipe, view: MeshView, readable: list[Path]) -> list[Problem]:
    """The file the recipe's SQL reads that a build's sandbox refuses, as a problem at the SQL holding it: found by
    composing the recipe's relation as a build does, in the same sandbox, on inputs of no rows (binding decides)."""
    texts = recipe.sql_texts(product.folder)
    found = [(item, view.catalog.products.get(item.address.unversioned())) for item in product.inputs]
    inputs = [(item, source) for item, source in found if source is not None]
    if not texts or len(inputs) < len(found):  # an input the mesh lacks: mesh.granted-inputs says so
        return []
    connection = binding_sandbox(readable, TERM_PARAMETER.declare)
    try:
        for item, source in inputs:
            shape = empty_table_sql((c.name, c.physical_type) for c in source.contract.columns)
            connection.execute(f"CREATE TEMP VIEW {quote(item.alias)} AS {shape}")
        landing = readable[0] if readable else product.folder
        log = logging.getLogger(__name__)
        build = BuildContext(connection, product.contract, product.inputs, product.folder, landing, log, view.glossary)
        file = refused_file(lambda: recipe.relation(build))
    except Exception:  # an input's shape cannot be made (its contract's types are checked elsewhere): nothing to bind
        file = None
    finally:
        connection.close()
    if file is None:
        return []
    text = next((t for t in texts if file in t.text), texts[0])
    message = f"the SQL reads the file {file}: a build refuses that ({REFUSAL})"
    fix = "read other products as inputs (inputs: [mesh://<domain>/<product>]), and files through a source product"
    if text.file is not None:
        line = text.text[: text.text.find(file)].count("\n") + 1 if file in text.text else 1
        return [Problem(text.file, "", line, message, fix)]
    return [load_yaml_document(product.recipe_file, RecipeError).problem(("attributes", *text.setting), message, fix)]
