"""`mesh new domain`: a domain package from the `domain` template, registered as a code location."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.catalog.workspace import read_workspace
from mesh_platform.core.errors import MeshError, RecipeError
from mesh_platform.core.names import check_name
from mesh_platform.core.settings import MeshSettings
from mesh_platform.core.yaml_document import load_yaml_document
from mesh_platform.scaffold.files import staged_folder
from mesh_platform.scaffold.owners import Owner
from mesh_platform.scaffold.templates import DOMAIN_TEMPLATE, get_template
from mesh_platform.scaffold.workspace_file import add_code_location

DOMAIN_FILE = "domain.yaml"
DESCRIPTION = "A new domain package with its code location, an empty defs folder and a README for the team."


@dataclass(frozen=True)
class NewDomain:
    name: str
    folder: Path
    files: tuple[Path, ...]


def domain_owner(folder: Path) -> str | None:
    """The owner recorded in a domain's `domain.yaml`, if any."""
    file = folder / DOMAIN_FILE
    return load_yaml_document(file, RecipeError).data.get("owner") if file.exists() else None


def new_domain(settings: MeshSettings, name: str, owner: str, description: str | None = None) -> NewDomain:
    check_name(name, "domain")
    owner_ = Owner.parse(owner, default_team=name)
    existing = {d.name: d for d in read_workspace(settings.root)}
    if name in existing:
        raise MeshError(f"domain '{name}' already exists ({existing[name].folder}); mesh new never overwrites")
    template = get_template(settings.templates_root, DOMAIN_TEMPLATE)
    folder = settings.root / "domains" / name
    module = f"domains.{name}.definitions"
    context = {
        "domain": name,
        "owner": owner_.text,
        "team": owner_.team,
        "email": owner_.email,
        "description": description or f"The {name} domain.",
    }
    with staged_folder(folder, staging_parent=settings.root) as staging:
        template.render(staging, context)
    try:
        add_code_location(settings.workspace_file, name, module)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return NewDomain(name, folder, tuple(sorted(p for p in folder.rglob("*") if p.is_file())))
