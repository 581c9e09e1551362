"""The `python` recipe: the product is a Python function over pandas DataFrames.

The function lives in a file beside the recipe. Each parameter named after an
input alias receives that input as a DataFrame; a parameter named `context`
receives the `BuildContext`. It returns the product's rows as a DataFrame.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from mesh_platform.core.errors import MeshError
from mesh_platform.core.user_files import read_user_file
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.recipes.base import ProductRecipe

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog, Product
    from mesh_platform.governance.glossary import Glossary
    from mesh_platform.product.build import BuildContext
    from mesh_platform.product.output_schema import InferredColumn

DECLARED_SOURCE = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")  # input alias . column
PYTHON_OUTPUT = "mesh_python_output"


class PythonProduct(ProductRecipe):
    """A Python function taking the inputs as pandas DataFrames and returning the product's rows."""

    template = "python"
    kind = "python"
    describable = False  # its output is known only by running the function

    function: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py:[A-Za-z_][A-Za-z0-9_]*$",
        description="'<file>.py:<function>', the file beside defs.yaml, e.g. 'transform.py:build'.",
    )

    lineage: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Column lineage, declared: each output column → the input columns it is computed from, as 'input.column' "
            "(filters included), e.g. {forecast_date: [daily_revenue.order_date]}. Without it every input column counts as read."
        ),
    )

    @field_validator("lineage")
    @classmethod
    def _input_columns(cls, lineage: dict[str, list[str]]) -> dict[str, list[str]]:
        for output, sources in lineage.items():
            if bad := [s for s in sources if not DECLARED_SOURCE.match(s)]:
                raise ValueError(f"lineage of '{output}': {', '.join(bad)} is not 'input.column'")
        return lineage

    def column_lineage(self, inputs: Mapping[str, list[str]], folder: Path) -> RecipeLineage:
        if not self.lineage:
            return RecipeLineage.unknown(inputs, "the Python recipe declares no column lineage (set lineage: in defs.yaml)")
        declared = {output: [_input_column(s) for s in sources] for output, sources in self.lineage.items()}
        unknown = sorted(f"{a}.{c}" for sources in declared.values() for a, c in sources if c not in inputs.get(a, ()))
        if unknown:
            known = "; ".join(f"{a}: {', '.join(cs)}" for a, cs in inputs.items()) or "none"
            return RecipeLineage.unknown(
                inputs, f"lineage names {', '.join(unknown)}, which no input has (inputs' columns — {known})", method="declared"
            )
        return RecipeLineage.of("declared", declared)

    def inferred_output(self, product: Product, catalog: Catalog, glossary: Glossary, landing: Path) -> list[InferredColumn]:
        raise MeshError(
            f"{product.address}: a python recipe's output is known only by running it; "
            f"change {product.contract.file.name} by hand (a build lists every difference from its output)"
        )

    def _location(self, folder: Path) -> tuple[Path, str]:
        file, _, name = self.function.partition(":")
        return folder / file, name

    def check_files(self, folder: Path) -> list[tuple[str, str]]:
        problem = self.file_problem(folder, self._location(folder)[0].name, "function file", "Python")
        return [("function", problem)] if problem else []

    def code_files(self, folder: Path) -> list[Path]:
        return [self._location(folder)[0]]

    def load_function(self, folder: Path) -> Callable[..., object]:
        file, name = self._location(folder)
        module_name = f"mesh_products.{folder.parent.parent.name}.{folder.name}.{file.stem}"
        spec = importlib.util.spec_from_file_location(module_name, file)
        assert spec and spec.loader
        source = read_user_file(file, "Python")  # the bytes checked are the bytes run: a regular file within the limit
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        exec(compile(source, str(file), "exec"), module.__dict__)  # what the loader's exec_module does, from those bytes
        function = getattr(module, name, None)
        if not callable(function):
            raise MeshError(f"{file}: defines no function '{name}' (recipe function: '{self.function}')")
        return function

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation:
        import pandas as pd

        function = self.load_function(build.folder)
        aliases = {i.alias for i in build.inputs}
        arguments: dict[str, object] = {}
        for parameter in inspect.signature(function).parameters:
            if parameter == "context":
                arguments[parameter] = build
            elif parameter in aliases:
                arguments[parameter] = build.input(parameter).df()
            else:
                raise MeshError(
                    f"{self.function}: parameter '{parameter}' is no input of {build.contract.address} "
                    f"(inputs: {', '.join(sorted(aliases)) or 'none'}; or name it 'context')"
                )
        result = function(**arguments)
        if not isinstance(result, pd.DataFrame):
            raise MeshError(f"{self.function} returned {type(result).__name__}; it must return a pandas DataFrame")
        build.connection.register(PYTHON_OUTPUT, result)
        return build.connection.table(PYTHON_OUTPUT)


def _input_column(source: str) -> tuple[str, str]:
    """'input.column' (as the lineage validator admits it) as (input, column)."""
    alias, column = source.split(".", 1)
    return alias, column
