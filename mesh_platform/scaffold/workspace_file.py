"""Registering a domain's code location in `workspace.yaml`, keeping the file's comments and order."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from mesh_platform.core.errors import MeshError
from mesh_platform.core.yaml_round_trip import load_round_trip, write_round_trip


def add_code_location(workspace_file: Path, domain: str, module: str) -> None:
    """Append the domain as a `python_module` code location (atomically)."""
    document, yaml = load_round_trip(workspace_file)
    locations = document.get("load_from")
    if locations is None:
        raise MeshError(f"{workspace_file}: has no load_from list to add the code location to")
    if any((entry.get("python_module") or {}).get("location_name") == domain for entry in locations):
        raise MeshError(f"{workspace_file}: already has a code location named '{domain}'")
    locations.append(CommentedMap(python_module=CommentedMap(module_name=module, working_directory=".", location_name=domain)))
    write_round_trip(workspace_file, document, yaml)
