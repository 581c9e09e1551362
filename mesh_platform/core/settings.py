"""Where a mesh lives: the repository (code) and `MESH_HOME` (all state), read from the environment.

Everything the mesh writes — the Dagster instance, each domain's DuckDB file,
the published ports, the demo source files, the access log — lives under one
folder, `MESH_HOME` (default `.mesh/` in the checkout). Deleting it resets the mesh.

This module is the one place that reads where the mesh lives from the environment:

  MESH_ROOT      the repository (default: the nearest folder holding workspace.yaml)
  MESH_HOME      the state folder (default: MESH_ROOT/.mesh)
  MESH_GLOSSARY  the glossary of shared terms (default: the one the platform ships)
  MESH_SECRET    the key personal values are hashed with (default: one kept in MESH_HOME/secret)
  MESH_ENV       the deployment, deploy/<name>.yaml (default: `local`, embedded; see core.deployment)
  MESH_DUCKDB_MEMORY_LIMIT  the most memory a domain's DuckDB may use while it builds, e.g. 2GB
                 (DuckDB's memory_limit; default: DuckDB's own, 80% of the machine's memory)

(The consumer API reads `MESH_CONSUMER`, the reading domain, and `mesh ui` its port from
`MESH_UI_PORT`: they say who is reading and where to serve, not where the mesh is.)

The CLI and the consumer API read them here; a domain's code location reads them
once, when its definitions load, to configure the platform's Dagster resources.
Builds never read the environment: they get everything from those resources.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mesh_platform.core.deployment import LOCAL, Deployment, resolved
from mesh_platform.core.errors import MeshError

WORKSPACE_FILE = "workspace.yaml"
MESH_MACROS_FILE = "macros.sql"  # the mesh's SQL macros, at the repository root (see `MeshSettings.macros_file`)
# The glossary the governance group ships with the platform.
DEFAULT_GLOSSARY = Path(__file__).resolve().parent.parent / "governance" / "glossary.yaml"


def find_mesh_root(start: Path | None = None) -> Path:
    """The repository root: `MESH_ROOT`, else the nearest folder holding `workspace.yaml`."""
    if env_root := os.environ.get("MESH_ROOT"):
        return Path(env_root).resolve()
    return repository_of(start or Path.cwd())


def repository_of(path: Path) -> Path:
    """The nearest folder at or above `path` holding `workspace.yaml` (files only, no environment)."""
    here = path.resolve()
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
    glossary_file: Path = DEFAULT_GLOSSARY
    secret: str | None = field(default=None, repr=False)  # None: the key kept in `secret_file`
    duckdb_memory_limit: str | None = None  # DuckDB's memory_limit for builds; None: DuckDB's default
    deployment: Deployment = field(default_factory=Deployment)  # the embedded `local` shape unless MESH_ENV names another

    @classmethod
    def from_env(cls, start: Path | None = None, root: Path | None = None, require_environment: bool = True) -> MeshSettings:
        """The settings the environment gives; `root` fixes the repository (e.g. a code location's own).
        Without `require_environment`, the deployment's secrets and packages need not be there (see `Deployment.load`)."""
        root = Path(root).resolve() if root is not None else find_mesh_root(start)
        home = Path(os.environ.get("MESH_HOME") or root / ".mesh").resolve()
        glossary = Path(os.environ.get("MESH_GLOSSARY") or DEFAULT_GLOSSARY)
        return cls(
            root=root,
            home=home,
            glossary_file=glossary,
            secret=os.environ.get("MESH_SECRET") or None,
            duckdb_memory_limit=os.environ.get("MESH_DUCKDB_MEMORY_LIMIT") or None,
            deployment=Deployment.load(root, require_environment=require_environment),
        )

    @property
    def workspace_file(self) -> Path:
        return self.root / WORKSPACE_FILE

    @property
    def macros_file(self) -> Path:
        """The mesh's SQL macros, available to every domain's SQL (`core.sql_macros`); each domain may add its own."""
        return self.root / MESH_MACROS_FILE

    @property
    def templates_root(self) -> Path:
        return self.root / "templates"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance folder: its own per deployment, so deployments sharing a MESH_HOME
        never rewrite each other's `dagster.yaml`."""
        if self.deployment.name == LOCAL:
            return self.home / "dagster"
        return self.deployment_folder / "dagster"

    @property
    def deployment_folder(self) -> Path:
        """What the mesh writes for a deployment other than `local` (its instance, its workspace of code servers)."""
        return self.home / "deploy" / self.deployment.name

    @property
    def ports_root(self) -> Path:
        """The ports' folder in the embedded shape; a deployment's `port_store` puts them at `ports_uri` instead."""
        return self.home / "ports"

    @property
    def port_store_uri(self) -> str:
        """Where ports and vault live: MESH_HOME, or the deployment's port store (a folder or s3://bucket/prefix)."""
        store = self.deployment.port_store
        return str(self.home) if store is None else self._uri(store.uri)

    @property
    def landing_uri(self) -> str:
        """Where source files arrive: MESH_HOME/landing, or the deployment's landing zone (a folder or s3://bucket/prefix)."""
        store = self.deployment.landing
        return str(self.landing_root) if store is None else self._uri(store.uri)

    @property
    def landing_cache(self) -> Path:
        """Where a landing zone on an object store is mirrored before builds read it."""
        return self.home / "landing-cache"

    def _uri(self, uri: str) -> str:
        """A store's URI as given (an object store), or a folder relative to the repository, resolved."""
        return uri.rstrip("/") if "://" in uri else str((self.root / uri).resolve())

    @property
    def ports_uri(self) -> str:
        return f"{self.port_store_uri}/ports"

    @property
    def vault_uri(self) -> str:
        return f"{self.port_store_uri}/vault"

    @property
    def vault_root(self) -> Path:
        """Where the clear values behind the ports' personal-column tokens live (the owner's only), in the
        embedded shape; a deployment's `port_store` puts them at `vault_uri` instead."""
        return self.home / "vault"

    @property
    def landing_root(self) -> Path:
        """Where source files arrive, one folder per domain (what `source` products read)."""
        return self.home / "landing"

    def landing_dir(self, domain: str) -> Path:
        return self.landing_root / domain

    @property
    def databases_root(self) -> Path:
        return self.home / "domains"

    def domain_database(self, domain: str) -> Path:
        """The domain's private DuckDB workspace file."""
        return self.databases_root / domain / f"{domain}.duckdb"

    @property
    def access_log_file(self) -> Path:
        return self.home / "access_log.sqlite"

    @property
    def access_log_target(self) -> Path | str:
        """Where the access log is kept: the instance's PostgreSQL database in a deployment with one (its URL),
        else the SQLite file `access_log_file`."""
        return resolved(self.deployment.instance.postgres_url) or self.access_log_file

    @property
    def secret_file(self) -> Path:
        """Where a local mesh keeps its hashing key when `MESH_SECRET` is not set."""
        return self.home / "secret"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def ensure_dagster_home(self) -> Path:
        """Create the Dagster instance folder with the deployment's instance settings (rewritten when they change)."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.dagster_home / "dagster.yaml"
        wanted = self.deployment.instance_yaml()
        if not instance_yaml.exists() or instance_yaml.read_text() != wanted:
            instance_yaml.write_text(wanted)
        return self.dagster_home

    def environment(self) -> dict[str, str]:
        """Environment for processes that run the mesh (code servers, runs, the UI)."""
        env = dict(os.environ)
        env["MESH_ROOT"] = str(self.root)
        env["MESH_HOME"] = str(self.home)
        env["MESH_GLOSSARY"] = str(self.glossary_file)
        env["MESH_ENV"] = self.deployment.name
        env["DAGSTER_HOME"] = str(self.ensure_dagster_home())
        python_path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
        return env
