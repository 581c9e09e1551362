"""`mesh reset`: empty an embedded mesh's state (MESH_HOME) and keep its sources (the landing zone).

What goes is what the mesh writes there (`MeshSettings.state_paths`): the Dagster instance (runs,
events, schedules), each domain's DuckDB workspace, the published ports and the vault behind their
tokens, the access log, run logs, the hashing key. What stays: the repository's files, the landing
zone (outside MESH_HOME by default; kept where a mesh puts it inside), and anything else found in
MESH_HOME (not the mesh's to delete). The next `mesh materialize --all` builds everything anew.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.core.deployment import LOCAL
from mesh_platform.core.errors import MeshError
from mesh_platform.core.settings import MeshSettings


@dataclass(frozen=True)
class ResetPlan:
    home: Path
    remove: tuple[Path, ...]  # the mesh's state, as it exists now
    keep: tuple[Path, ...]  # entries of MESH_HOME that are not state (the landing zone inside it, files of others)
    landing: Path

    @property
    def bytes(self) -> int:
        return sum(_size(p) for p in self.remove)


def reset_plan(settings: MeshSettings) -> ResetPlan:
    """What `mesh reset` would remove and keep; refused for a deployment (its state is in its database and store)."""
    if settings.deployment.name != LOCAL:
        raise MeshError(
            f"mesh reset empties an embedded mesh's MESH_HOME; the deployment '{settings.deployment.name}' keeps its state in "
            "its database and store — reset those with their own tools"
        )
    home, landing = settings.home, settings.landing_root
    if settings.root.resolve().is_relative_to(home.resolve()):
        raise MeshError(
            f"MESH_HOME ({home}) holds the mesh's own files; set home in mesh.yaml to a folder of its own (e.g. .mesh)"
        )
    state = [
        p for p in settings.state_paths if (p.exists() or p.is_symlink()) and not landing.resolve().is_relative_to(p.resolve())
    ]
    others = sorted(e for e in home.iterdir() if e not in state) if home.is_dir() else []
    return ResetPlan(home, tuple(dict.fromkeys(state)), tuple(others), landing)


def reset(plan: ResetPlan) -> None:
    for entry in plan.remove:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
