"""Where the mesh lives: the repository root (code) and `MESH_HOME` (all state).

Everything the mesh writes — the Dagster instance, each domain's DuckDB file,
the published ports, the demo source files — lives under one folder,
`MESH_HOME` (default `.mesh/` in the checkout). Deleting it resets the mesh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.core.errors import MeshError

WORKSPACE_FILE = "workspace.yaml"

DAGSTER_INSTANCE_YAML = """\
# Written by mesh-platform. One writer per domain DuckDB file: every product
# asset sits in its domain's pool, and each pool admits one step at a time.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def find_mesh_root(start: Path | None = None) -> Path:
    """The repository root: `MESH_ROOT`, else the nearest folder holding `workspace.yaml`."""
    if env_root := os.environ.get("MESH_ROOT"):
        return Path(env_root).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / WORKSPACE_FILE).is_file():
            return folder
    raise MeshError(
        f"no {WORKSPACE_FILE} found in {here} or any parent folder; "
        "run mesh from the mesh repository or set MESH_ROOT"
    )


@dataclass(frozen=True)
class MeshSettings:
    """Paths of one mesh: `root` holds the code, `home` holds the state."""

    root: Path
    home: Path

    @classmethod
    def from_env(cls, start: Path | None = None) -> MeshSettings:
        root = find_mesh_root(start)
        home = Path(os.environ.get("MESH_HOME") or root / ".mesh").resolve()
        return cls(root=root, home=home)

    @property
    def workspace_file(self) -> Path:
        return self.root / WORKSPACE_FILE

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def ports_root(self) -> Path:
        return self.home / "ports"

    def landing_dir(self, domain: str) -> Path:
        """Where a domain's source files arrive (what `source` products read)."""
        return self.home / "landing" / domain

    def domain_database(self, domain: str) -> Path:
        """The domain's private DuckDB workspace file."""
        return self.home / "domains" / domain / f"{domain}.duckdb"

    def ensure_dagster_home(self) -> Path:
        """Create the Dagster instance folder with the mesh's instance settings."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.dagster_home / "dagster.yaml"
        if not instance_yaml.exists():
            instance_yaml.write_text(DAGSTER_INSTANCE_YAML)
        return self.dagster_home

    def environment(self) -> dict[str, str]:
        """Environment for processes that run the mesh (code servers, runs, the UI)."""
        env = dict(os.environ)
        env["MESH_ROOT"] = str(self.root)
        env["MESH_HOME"] = str(self.home)
        env["DAGSTER_HOME"] = str(self.ensure_dagster_home())
        python_path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
        return env
