"""The workspace: which domains the mesh has (`workspace.yaml`), and which folder each product belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesh_platform.core.errors import RecipeError
from mesh_platform.core.settings import WORKSPACE_FILE
from mesh_platform.core.sql_macros import MACROS_FILE
from mesh_platform.core.yaml_document import load_yaml_document

RECIPE_FILE = "defs.yaml"


@dataclass(frozen=True)
class Domain:
    """A domain: one code location of the workspace, one package under `domains/`."""

    name: str
    module: str
    folder: Path

    @property
    def defs_folder(self) -> Path:
        return self.folder / "defs"

    @property
    def macros_file(self) -> Path:
        """The domain's SQL macros (beside its domain.yaml), added to the mesh's for its products' SQL."""
        return self.folder / MACROS_FILE


def read_workspace(root: Path) -> list[Domain]:
    """The domains listed as code locations in the repository's `workspace.yaml`."""
    document = load_yaml_document(root / WORKSPACE_FILE, RecipeError)
    domains = []
    for index, entry in enumerate(document.data.get("load_from") or []):
        location = (entry or {}).get("python_module")
        if not isinstance(location, dict) or not location.get("module_name"):
            raise RecipeError(
                [
                    document.problem(
                        ("load_from", index),
                        "not a python_module code location",
                        "list each domain as python_module: {module_name: domains.<name>.definitions}",
                    )
                ]
            )
        module = str(location["module_name"])
        parts = module.split(".")
        name = str(location.get("location_name") or parts[-2])
        domains.append(Domain(name=name, module=module, folder=root.joinpath(*parts[:-1])))
    return domains


def domain_folder(path: Path) -> Path | None:
    """The folder of the domain a product's file or folder is in: the one holding its `defs/` folder."""
    return next((folder.parent for folder in Path(path).parents if folder.name == "defs"), None)


def domain_of(recipe_file: Path) -> str:
    """The domain a product folder belongs to: the folder that holds its `defs/` folder."""
    if (folder := domain_folder(recipe_file)) is not None:
        return folder.name
    raise RecipeError(
        [
            load_yaml_document(recipe_file, RecipeError).problem(
                (), "the product is not inside a domain's defs/ folder", "move it to domains/<domain>/defs/<product>/"
            )
        ]
    )
