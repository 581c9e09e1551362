"""`mesh init`: a new mesh in a folder of its own — empty and valid, or a copy of the demo mesh.

An empty mesh is the `mesh` template (`templates/mesh/`): `mesh.yaml`, a `workspace.yaml` with no
code location yet, the `domains` package, the governance folder (an empty glossary, no principals besides
the domains, the group's own policies file), `.gitignore` and a README. It passes `mesh check` and
`mesh materialize --all` at once.
The demo is the platform's own checkout (its domains, glossary and deployments) on top of that.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.core.errors import MeshError
from mesh_platform.core.project import PROJECT_FILE
from mesh_platform.core.settings import PLATFORM_CHECKOUT, WORKSPACE_FILE
from mesh_platform.scaffold.files import STAGING_PREFIX
from mesh_platform.scaffold.templates import get_template

MESH_TEMPLATE = "mesh"
# What a copy of the demo mesh takes from the platform's checkout (besides the empty mesh's files it replaces).
DEMO_FILES = (
    "mesh.yaml",
    "workspace.yaml",
    "dg.toml",
    "macros.sql",
    "domains",
    "governance",
    "deploy/onebox.yaml",
    "deploy/prod.yaml",
)
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mesh-cache")


@dataclass(frozen=True)
class NewMesh:
    root: Path
    name: str
    demo: bool
    files: tuple[Path, ...]


def init_mesh(target: Path, name: str | None = None, demo: bool = False) -> NewMesh:
    """Create a mesh in `target` (made when missing); nothing is written if any of its files exists already."""
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise MeshError(f"{target} is a file; give mesh init a folder")
    for marker in (WORKSPACE_FILE, PROJECT_FILE):
        if (target / marker).exists():
            raise MeshError(
                f"{target} is a mesh already ({marker} exists); mesh init never overwrites — start the new mesh in another folder"
            )
    name = name or ("demo" if demo else target.name) or "mesh"
    if demo and not (PLATFORM_CHECKOUT / "domains").is_dir():
        raise MeshError(
            f"the demo mesh is not installed with the platform (no {PLATFORM_CHECKOUT / 'domains'}); install "
            "mesh-platform from its source checkout"
        )
    parent = target if target.is_dir() else target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}mesh-", dir=parent))
    try:
        get_template(PLATFORM_CHECKOUT / "templates", MESH_TEMPLATE).render(staging, {"name": name, "demo": demo})
        if demo:
            _copy_demo(staging)
        files = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
        if taken := [str(f) for f in files if (target / f).exists()]:
            raise MeshError(
                f"{target} already holds {', '.join(taken[:5])}{' …' if len(taken) > 5 else ''}; mesh init never "
                "overwrites — use an empty folder"
            )
        return NewMesh(target, name, demo, tuple(_move_in(staging, target, files)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_demo(staging: Path) -> None:
    for relative in DEMO_FILES:
        source, destination = PLATFORM_CHECKOUT / relative, staging / relative
        if source.is_dir():
            shutil.copytree(source, destination, ignore=_NOT_COPIED, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def _move_in(staging: Path, target: Path, files: list[Path]) -> list[Path]:
    """Move every staged file into `target`; on any failure, take back the ones already moved."""
    moved: list[Path] = []
    try:
        for relative in files:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / relative, destination)
            moved.append(destination)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    return moved
