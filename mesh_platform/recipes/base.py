"""The base of every recipe type: a Dagster component that turns a contract into a product.

A recipe type is one class in one module of this package, plus one folder of
`templates/`. The class is the whole registry entry:

  - its typed fields are the recipe's YAML schema (`dg check yaml` and definitions
    load report a wrong setting with its line; `inputs` states how many inputs it reads);
  - `relation` computes the product's rows as a DuckDB relation;
  - `template` names its folder under `templates/`, `parameters` the `mesh new --set`
    values it takes, and `plan` fills the new product's contract from its inputs;
  - its docstring's first line describes it in `mesh templates`.

Everything else — contract loading, the asset and its metadata, staging,
conformance, checks and publishing — is the platform's and the same for all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import dagster as dg
import pydantic
from pydantic import BeforeValidator, Field

from mesh_platform.catalog.catalog import DEFAULT_CONTRACT_FILE, Catalog, Product, assemble_product
from mesh_platform.catalog.workspace import RECIPE_FILE, domain_folder
from mesh_platform.core.errors import AddressError, RecipeError
from mesh_platform.core.inputs import INPUT_PATTERN, ProductInput, parse_inputs
from mesh_platform.core.settings import MeshSettings, repository_of
from mesh_platform.core.sql_macros import SqlMacros
from mesh_platform.core.user_files import UnreadableFileError, read_user_file
from mesh_platform.core.yaml_document import load_yaml_document
from mesh_platform.governance.view import MeshView
from mesh_platform.lineage.mesh_lineage import ProductLineage, input_columns
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.product.asset import product_asset
from mesh_platform.product.build import BuildContext
from mesh_platform.product.output_schema import DescribedOutput, InferredColumn, describe_output, inferred_columns
from mesh_platform.recipes.scaffolder import ProductScaffolder
from mesh_platform.scaffold.plans import Plan, PlanRequest, example_columns, inputs_as_given

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.contract.model import Contract
    from mesh_platform.governance.glossary import Glossary

# An input in a recipe: an address, optionally renamed ('mesh://sales/orders as sales_orders').
# The pattern is for schemas (`dg utils inspect-component`); parsing first gives the catalog's own message.
InputAddress = Annotated[str, Field(pattern=INPUT_PATTERN), BeforeValidator(lambda text: _parsed_input(text))]
INPUTS_DESCRIPTION = (
    "Products this one reads, by address (mesh://<domain>/<product>), optionally renamed: 'mesh://sales/orders as sales_orders'."
)

_RECIPE_TYPES: dict[str, type[ProductRecipe]] = {}  # template name → recipe type


def _parsed_input(text: Any) -> Any:
    if isinstance(text, str):
        try:
            ProductInput.parse(text)
        except AddressError as error:
            raise ValueError(str(error)) from None
    return text


def recipe_types() -> dict[str, type[ProductRecipe]]:
    """Every recipe type, by the name of its template (what `mesh new --template` takes)."""
    return dict(sorted(_RECIPE_TYPES.items()))


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
        raise RecipeError(
            document.validation_problems(error, f"see its settings: dg utils inspect-component {type_name}", ("attributes",))
        ) from None
    recipe.require_files(recipe_file)
    return recipe


def recipe_lineage(product: Product, inputs: Mapping[str, list[str]]) -> RecipeLineage:
    """The column lineage the product's recipe states (`inputs`: each input alias's columns)."""
    return load_recipe(product.recipe_file).column_lineage(inputs, product.folder)


def sql_macros(folder: Path) -> SqlMacros:
    """The macros the SQL of the product in `folder` sees: the mesh's, then its domain's (repository files only)."""
    settings = MeshSettings.from_env(root=repository_of(folder), require_environment=False)
    domain = domain_folder(folder / RECIPE_FILE)
    return SqlMacros.of_domain(settings.macros_file, domain) if domain is not None else SqlMacros.of([settings.macros_file])


def inputs_field(*, min_inputs: int = 0, max_inputs: int | None = None) -> Any:
    """The `inputs` field of a recipe type that reads `min_inputs` to `max_inputs` inputs."""
    return Field(default_factory=list, min_length=min_inputs, max_length=max_inputs, description=INPUTS_DESCRIPTION)


@dataclass(frozen=True)
class SqlText:
    """SQL a recipe setting holds: the setting's field (under `attributes`), the text, and the file holding it
    when it is not the recipe (a `sql_file`)."""

    setting: tuple[str | int, ...]
    text: str
    file: Path | None = None


@dg.scaffold_with(ProductScaffolder)
class ProductRecipe(dg.Component, dg.Model, dg.Resolvable):
    """A data product: its contract plus how to build it."""

    contract: str = Field(
        default=DEFAULT_CONTRACT_FILE,
        description="The product's ODCS v3.1 contract file, relative to this folder.",
    )
    inputs: list[InputAddress] = inputs_field()

    # The folder under templates/ that `mesh new --template <it>` renders (registers the type).
    template: ClassVar[str]
    # `mesh new --set NAME=VALUE`: the parameters `plan` reads, and what each sets.
    parameters: ClassVar[dict[str, str]] = {}
    # The Dagster kind shown on the asset (besides duckdb and delta).
    kind: ClassVar[str] = ""
    # Whether an output column of another kind of type than the contract's is drift (see conformance).
    checks_output_types: ClassVar[bool] = True
    # Whether DuckDB can describe the output over empty inputs, without running the recipe's own code or reading files.
    describable: ClassVar[bool] = True
    # What `mesh new --from FILE` takes for this type (None: it takes none).
    from_file: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "template" in cls.__dict__:
            _RECIPE_TYPES[cls.template] = cls

    @classmethod
    def load(cls, attributes: pydantic.BaseModel | None, context: dg.ComponentLoadContext) -> ProductRecipe:
        """The recipe from its YAML; a setting the type refuses is a `RecipeError` naming its line."""
        try:
            return super().load(attributes, context)
        except pydantic.ValidationError as error:
            document = load_yaml_document(context.path / RECIPE_FILE, RecipeError)
            fix = f"see its settings: dg utils inspect-component {cls.type_name()}"
            raise RecipeError(document.validation_problems(error, fix, ("attributes",))) from None

    # The registry entry, as `mesh new` and `mesh templates` read it.

    @classmethod
    def type_name(cls) -> str:
        """What a recipe file's `type:` says: `mesh_platform.recipes.<Class>` for the platform's types."""
        platform = cls.__module__.startswith(f"{__package__}.")
        return f"{__package__}.{cls.__name__}" if platform else f"{cls.__module__}.{cls.__qualname__}"

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0]

    @classmethod
    def input_range(cls) -> tuple[int, int | None]:
        """How many inputs the type reads: from the `inputs` field's own limits."""
        limits = cls.model_fields["inputs"].metadata  # pydantic's MinLen / MaxLen constraints
        low = next((m.min_length for m in limits if hasattr(m, "min_length")), 0)
        high = next((m.max_length for m in limits if hasattr(m, "max_length")), None)
        return low, high

    @classmethod
    def plan(cls, request: PlanRequest) -> Plan:
        """The new product's columns and settings: by default its first input's columns."""
        columns = list(request.inputs[0].contract.columns) if request.inputs else example_columns()
        return Plan(columns, inputs_as_given(request))

    # How the product is built.

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        """The product's rows, computed from `build.inputs` in `build.connection`."""
        raise NotImplementedError

    def explain_failure(self, build: BuildContext, error: Exception) -> Exception | None:
        """A clearer error for one that staging the output raised, or None (the error is raised as it is)."""
        return None

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        """Which input columns each output column comes from, and which the recipe reads (`inputs`: alias → columns).

        A recipe type that cannot tell says nothing: every input column counts as read."""
        return RecipeLineage.unknown(inputs, f"the recipe type {type(self).__name__} does not say its column lineage")

    def described_output(
        self, product: Product, catalog: Catalog, glossary: Glossary, landing: Path | None = None
    ) -> DescribedOutput:
        """The output's columns and types as DuckDB binds the recipe over its inputs as empty tables (nothing is built),
        in a build's sandbox: its SQL may read the domain's `landing` folder and no other file."""

        def relation(connection: duckdb.DuckDBPyConnection, inputs: Mapping[str, Contract]) -> duckdb.DuckDBPyRelation:
            log = logging.getLogger(f"mesh.describe.{product.address.domain}")
            build = BuildContext(connection, product.contract, product.inputs, product.folder, landing or Path(), log, glossary)
            return self.relation(build)

        readable = [landing] if landing is not None else []
        return describe_output(relation, product.inputs, catalog, product.address.domain, sql_macros(product.folder), readable)

    def inferred_output(self, product: Product, catalog: Catalog, glossary: Glossary, landing: Path) -> list[InferredColumn]:
        """Contract columns for what the recipe outputs now (`mesh contract sync`): described, carried over by column lineage."""
        described = self.described_output(product, catalog, glossary, landing)
        columns = {alias: [c.name for c in contract.columns] for alias, contract in described.inputs.items()}
        lineage = self.column_lineage(columns, product.folder)
        return inferred_columns(described.columns, lineage, described.inputs)

    def output_location(self, folder: Path, column: str) -> tuple[Path, int | None, str]:
        """Where the recipe makes an output column: (file, line, field), for a difference `mesh check` lists."""
        return folder / RECIPE_FILE, load_yaml_document(folder / RECIPE_FILE, RecipeError).line_of(("attributes",)), "attributes"

    def code_files(self, folder: Path) -> list[Path]:
        """Files besides the recipe and contract whose content defines the product."""
        return []

    def sql_texts(self, folder: Path) -> list[SqlText]:
        """The SQL its settings hold, which `relation` composes over the inputs alone (`mesh check` binds it on
        inputs of no rows in the build's sandbox, to refuse a file it reads before any build). Empty: nothing to bind."""
        return []

    def check_files(self, folder: Path) -> list[tuple[str, str]]:
        """(setting, problem) for each file a setting names that is not there (checked when definitions load)."""
        return []

    @staticmethod
    def file_problem(folder: Path, name: str, what: str, kind: str = "") -> str | None:
        """Why the file `name` of setting `what` cannot be used: missing, outside the product's folder (a link),
        or one the mesh does not read (not a regular file, beyond the size limit: `core.user_files`)."""
        file = folder / name
        if not file.exists():
            return f"{what} '{name}' does not exist in {folder}"
        if not file.resolve().is_relative_to(folder.resolve()):
            return f"{what} '{name}' leads outside the product's folder {folder} (a link); keep the file in the folder"
        try:
            read_user_file(file, kind)
        except UnreadableFileError as error:
            return f"{what} '{name}': {error.message}"
        return None

    def require_files(self, recipe_file: Path) -> None:
        """Raise a `RecipeError` naming each setting whose file is missing or leads outside the folder."""
        if problems := self.check_files(recipe_file.parent):
            document = load_yaml_document(recipe_file, RecipeError)
            fix = "correct the setting, or put the file in the product's folder"
            raise RecipeError([document.problem(("attributes", setting), problem, fix) for setting, problem in problems])

    def recipe_kind(self) -> str:
        return self.kind

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.product_definitions(context.path)

    def _describes(self, product: Product, recipe_file: Path) -> bool:
        """Whether the catalog's `product` was read from these very settings (then its contract is not parsed again)."""
        try:
            inputs = parse_inputs(self.inputs)
        except AddressError:
            return False
        contract_file = recipe_file.parent / self.contract
        same_file = product.contract.file == contract_file or product.contract.file.resolve() == contract_file.resolve()
        return same_file and product.inputs == inputs

    def product_definitions(self, folder: Path, view: MeshView | None = None) -> dg.Definitions:
        """The product of the folder `folder` (its recipe is this one) as Dagster definitions; `view`: the mesh of the
        code location loading it (its context's), else the repository's files read for this product alone."""
        recipe_file = folder / RECIPE_FILE
        if view is None:  # the repository's files only: the catalog and the glossary, never the state under MESH_HOME
            settings = MeshSettings.from_env(root=repository_of(folder))
            view = MeshView.of(Catalog.load(settings.root), settings.glossary_file, lineage_of=recipe_lineage)
        catalog = view.catalog
        product = catalog.by_recipe_file(recipe_file)
        if product is None or not self._describes(product, recipe_file):
            product = assemble_product(recipe_file, type(self).__name__, self.contract, self.inputs)  # not as the catalog read it
        self.require_files(recipe_file)
        lineage = ProductLineage.resolve(product, self.column_lineage(input_columns(product, catalog), folder))
        return dg.Definitions(assets=[product_asset(product, self, self.recipe_kind(), self.code_files(folder), view, lineage)])
