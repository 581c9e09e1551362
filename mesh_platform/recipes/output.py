"""A recipe's output compared with its contract without building: what `mesh check` lists (`mesh.output-schema`),
and what `mesh contract sync` brings the contract up to date with.

Every recipe DuckDB can describe (SQL and the configured ones; not Python, whose output is
known only by running it, nor sources, whose columns are in the delivered files) is bound
over its inputs as empty tables typed from their contracts. Each difference a build's
conformance would refuse is a located problem: a missing column or one of another kind of
type at the contract's line of the column, an extra one at the line of the SQL that makes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.errors import AccessDeniedError, AddressError, MeshError, Problem, RecipeError
from mesh_platform.governance.view import MeshView
from mesh_platform.product.conformance import schema_differences
from mesh_platform.product.contract_sync import ContractSync, sync_contract
from mesh_platform.product.output_schema import OutputDescriptionError, RefusedFileError
from mesh_platform.recipes.validation import load_recipe

if TYPE_CHECKING:
    from pathlib import Path

    from mesh_platform.catalog.catalog import Product
    from mesh_platform.core.address import Address
    from mesh_platform.core.settings import MeshSettings


def output_problems(product: Product, view: MeshView, readable: list[Path] | None = None) -> list[Problem]:
    """How the product's recipe output differs from its contract (none when it cannot be described: other checks say why);
    `readable`: the folders a build's SQL may read (its domain's landing folder)."""
    try:
        recipe = load_recipe(product.recipe_file)
    except RecipeError:
        return []  # mesh.recipe lists why
    if not recipe.describable or any(_not_described(i.address, view) for i in product.inputs):
        return []
    try:
        described = recipe.described_output(product, view.catalog, view.glossary, readable[0] if readable else None)
    except (AddressError, AccessDeniedError):
        return []  # mesh.granted-inputs says why
    except RefusedFileError:
        return []  # mesh.recipe says which file (recipes.validation.sql_reading_files)
    except OutputDescriptionError as error:
        file, line, field = recipe.output_location(product.folder, "")
        message = f"the recipe does not run over its inputs' contracts: {error}"
        return [Problem(file, field, line, message, "correct the recipe (or the inputs it names)")]
    contract = product.contract
    index = {c.name.lower(): i for i, c in enumerate(contract.columns)}
    types = {c.name.lower(): c.type for c in described.columns}
    sync = f"change the recipe, or bring the contract up to date: mesh contract sync {product.address}"
    problems = []
    for difference in schema_differences([(c.name, c.type) for c in described.columns], contract, recipe.checks_output_types):
        if difference.kind == "extra":
            file, line, field = recipe.output_location(product.folder, difference.column)
            message = f"the recipe outputs column '{difference.column}', which {contract.file.name} does not have"
            problems.append(Problem(file, field, line, message, sync))
            continue
        position = index[difference.column.lower()]
        if difference.kind == "missing":
            message = f"column '{difference.column}' is not in the recipe's output"
        else:
            output, wanted = types[difference.column.lower()], contract.columns[position].physical_type
            message = f"column '{difference.column}' is {output} in the recipe's output, the contract says {wanted}"
        problems.append(contract.source.problem(("schema", 0, "properties", position), message, sync))
    return problems


def _not_described(address: Address, view: MeshView) -> bool:
    """An input the catalog does not know (other checks say why), or an older major version of one: its columns are in
    its port's published contract, not in the repository's."""
    found = view.catalog.products.get(address.unversioned())
    return found is None or (address.major is not None and address.major < found.contract.major)


def sync_product_contract(settings: MeshSettings, address: str, write: bool = True) -> ContractSync:
    """Bring the contract of the product at `address` up to date with what its recipe outputs now: a SQL or configured
    recipe as DuckDB describes it, a source from its delivered files; a Python recipe cannot be described."""
    catalog = Catalog.load(settings.root)
    product = catalog.product(address)
    recipe = load_recipe(product.recipe_file)
    glossary = MeshView.of(catalog, settings.glossary_file).glossary
    try:
        output = recipe.inferred_output(product, catalog, glossary, settings.landing_dir(product.address.domain))
    except OutputDescriptionError as error:
        raise MeshError(f"{product.address}: the recipe does not run over its inputs' contracts: {error}") from None
    return sync_contract(product.contract, output, keep_types=not recipe.checks_output_types, write=write)
