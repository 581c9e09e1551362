"""Registering a domain's code location in `workspace.yaml`, keeping the file's comments and order."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from mesh_platform.core.errors import MeshError
from mesh_platform.core.user_files import read_user_text
from mesh_platform.scaffold.files import replace_file


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def add_code_location(workspace_file: Path, domain: str, module: str) -> None:
    """Append the domain as a `python_module` code location (atomically)."""
    yaml = _yaml()
    document = yaml.load(read_user_text(workspace_file, "YAML"))
    locations = document.get("load_from")
    if locations is None:
        raise MeshError(f"{workspace_file}: has no load_from list to add the code location to")
    if any((entry.get("python_module") or {}).get("location_name") == domain for entry in locations):
        raise MeshError(f"{workspace_file}: already has a code location named '{domain}'")
    locations.append(
        CommentedMap(python_module=CommentedMap(module_name=module, working_directory=".", location_name=domain))
    )
    replace_file(workspace_file, lambda path: yaml.dump(document, path))
