"""Where a mesh lives: the repository (code), `MESH_HOME` (all state) and the landing zone (source files).

Everything the mesh writes — the Dagster instance, each domain's DuckDB file,
the published ports, the vault, the access log — lives under one folder,
`MESH_HOME` (default `.mesh/` in the mesh's root), its owner's only (`core.owner_only`);
`mesh reset` empties it. Source files arrive outside it, in the landing zone (default
`landing/` in the root), so a reset never deletes them.

The mesh's own settings file, `mesh.yaml` at its root (`core.project`), says where each
of these is; this module is the one place that reads the environment, which overrides it:

  MESH_ROOT      the repository (default: the nearest folder holding workspace.yaml)
  MESH_HOME      the state folder (default: mesh.yaml's `home`, else MESH_ROOT/.mesh)
  MESH_LANDING   the landing zone, a folder or s3://bucket/prefix (default: mesh.yaml's `landing`, else MESH_ROOT/landing)
  MESH_GLOSSARY  the glossary of shared terms (default: mesh.yaml's `glossary`, else governance/glossary.yaml)
  MESH_SECRET    the key personal values are hashed with (default: one kept in MESH_HOME/secret)
  MESH_ENV       the deployment, deploy/<name>.yaml (default: mesh.yaml's `deployment`, else `local`; see core.deployment)
  MESH_DUCKDB_MEMORY_LIMIT  the most memory a domain's DuckDB may use while it builds, e.g. 2GB
                 (DuckDB's memory_limit; default: DuckDB's own, 80% of the machine's memory)
  MESH_DEV       a development namespace (set by `mesh materialize --dev` for its runs): builds publish into
                 MESH_HOME/dev/<name>, with its own DuckDB files and Dagster instance, and no consumer reads it;
  MESH_DEV_PRODUCTS  the products such a build builds (its reads of them come from the namespace)
  MESH_WARM_SECONDS  how long a domain's warm worker (runtime.worker) waits for its next run before it ends
                 (default 300; 0: every run starts a process of its own)
  MESH_NOW       the time the mesh takes as now (ISO 8601), to rehearse what dates decide: usage agreements
                 in force or ended (default: the real clock)

(The consumer API and `mesh query` read `MESH_CONSUMER`, the reading principal, and `mesh ui` its port from
`MESH_UI_PORT`: they say who is reading and where to serve, not where the mesh is.)

The CLI and the consumer API read them here; a domain's code location reads them
once, when its definitions load, to configure the platform's Dagster resources.
Builds never read the environment: they get everything from those resources.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mesh_platform.core.address import Address
from mesh_platform.core.clock import Clock
from mesh_platform.core.deployment import CREDENTIAL_OPTIONS, LOCAL, Deployment, resolved
from mesh_platform.core.errors import MeshError
from mesh_platform.core.owner_only import private_folder, write_private
from mesh_platform.core.project import ProjectSettings

WORKSPACE_FILE = "workspace.yaml"
# The platform's own checkout: its `templates/` (what `mesh new` and `mesh init` render) and the demo mesh.
PLATFORM_CHECKOUT = Path(__file__).resolve().parents[2]


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
        f"no {WORKSPACE_FILE} found in {here} or any parent folder; run mesh from the mesh repository or set MESH_ROOT"
    )


@dataclass(frozen=True)
class DevNamespace:
    """A development namespace: what `mesh materialize --dev` builds into, and no consumer of the mesh reads."""

    name: str
    products: tuple[Address, ...] | None = None  # what its build builds, read from the namespace; None: every product it holds

    @staticmethod
    def default_name() -> str:
        """The namespace of the person running the command: their operating-system user name."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in containers without a passwd entry
            user = "dev"
        return re.sub(r"[^A-Za-z0-9_-]", "_", user) or "dev"


@dataclass(frozen=True)
class MeshSettings:
    """Paths of one mesh: `root` holds the code, `home` holds the state, the landing zone the source files."""

    root: Path
    home: Path
    glossary: Path | None = None  # None: the project's (mesh.yaml's `glossary`, relative to root)
    landing: Path | None = None  # the local landing folder; None: the project's (mesh.yaml's `landing`)
    secret: str | None = field(default=None, repr=False)  # None: the key kept in `secret_file`
    duckdb_memory_limit: str | None = None  # DuckDB's memory_limit for builds; None: DuckDB's default
    # How long old port versions stay when a contract sets no `retention` SLA (mesh.yaml's `retention`); None: all stay.
    default_retention: dt.timedelta | None = None
    deployment: Deployment = field(default_factory=Deployment)  # the embedded `local` shape unless MESH_ENV names another
    project: ProjectSettings = field(default_factory=ProjectSettings)  # what the mesh's mesh.yaml says
    dev: DevNamespace | None = None  # a development namespace: its own ports, DuckDB files and instance (see `dev_home`)
    now: str | None = None  # MESH_NOW: the time taken as now (ISO 8601); None: the real clock
    warm_seconds: float = 300.0  # MESH_WARM_SECONDS: a domain's warm worker ends after this long idle; 0: none

    @classmethod
    def from_env(
        cls, start: Path | None = None, root: Path | None = None, require_environment: bool = True, environment: str | None = None
    ) -> MeshSettings:
        """The settings the environment gives; `root` fixes the repository (e.g. a code location's own), `environment`
        the deployment (`mesh --env`; default MESH_ENV, else mesh.yaml's `deployment`). Without `require_environment`,
        the deployment's secrets and packages need not be there (see `Deployment.load`)."""
        root = Path(root).resolve() if root is not None else find_mesh_root(start)
        project = ProjectSettings.read(root)
        home = Path(os.environ.get("MESH_HOME") or root / project.home).resolve()
        glossary = os.environ.get("MESH_GLOSSARY")
        return cls(
            root=root,
            home=home,
            glossary=Path(glossary) if glossary else None,
            secret=os.environ.get("MESH_SECRET") or None,
            duckdb_memory_limit=os.environ.get("MESH_DUCKDB_MEMORY_LIMIT") or None,
            default_retention=project.default_retention,
            deployment=Deployment.load(
                root, environment or os.environ.get("MESH_ENV") or project.deployment, require_environment=require_environment
            ),
            project=project,
            dev=_dev_namespace(),
            now=os.environ.get("MESH_NOW") or None,
            warm_seconds=_seconds("MESH_WARM_SECONDS", 300.0),
        )

    def in_dev(self, name: str | None = None, products: tuple[Address, ...] | None = None) -> MeshSettings:
        """These settings in a development namespace (default: the user's own), serving `products` from it."""
        name = name or DevNamespace.default_name()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
            raise MeshError(f"'{name}' is not a development namespace name: letters, digits, '-' and '_'")
        return replace(self, dev=DevNamespace(name, products))

    @property
    def published(self) -> MeshSettings:
        """The mesh's own state, which a development namespace reads and never writes."""
        return replace(self, dev=None) if self.dev is not None else self

    @property
    def dev_home(self) -> Path:
        """The development namespace's folder: deleting it throws the namespace away (`mesh dev reset`)."""
        if self.dev is None:
            raise MeshError("these settings name no development namespace")
        return self.home / "dev" / self.dev.name

    @property
    def state_home(self) -> Path:
        """Where builds keep their state: MESH_HOME, or the development namespace's folder."""
        return self.dev_home if self.dev is not None else self.home

    @property
    def glossary_file(self) -> Path:
        """The glossary of shared terms (a missing file is an empty glossary)."""
        return self.glossary or (self.root / self.project.glossary).resolve()

    @property
    def policies_file(self) -> Path:
        """The governance group's own mesh-wide policies (a missing file: only the platform's)."""
        return (self.root / self.project.policies).resolve()

    @property
    def principals_file(self) -> Path:
        """The principals that are no domain (mesh.yaml's `principals`; a missing file: the domains only)."""
        return (self.root / self.project.principals).resolve()

    @property
    def workspace_file(self) -> Path:
        return self.root / WORKSPACE_FILE

    @property
    def macros_file(self) -> Path:
        """The mesh's SQL macros (mesh.yaml's `macros`), available to every domain's SQL (`core.sql_macros`); each domain
        may add its own."""
        return (self.root / self.project.macros).resolve()

    @property
    def templates_root(self) -> Path:
        """The templates `mesh new` renders: the mesh's own `templates/` folder when it has one, else the platform's."""
        own = self.root / "templates"
        return own if own.is_dir() else PLATFORM_CHECKOUT / "templates"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance folder: its own per deployment, so deployments sharing a MESH_HOME
        never rewrite each other's `dagster.yaml`."""
        if self.dev is not None or self.deployment.name == LOCAL:
            return self.state_home / "dagster"
        return self.deployment_folder / "dagster"

    @property
    def deployment_folder(self) -> Path:
        """What the mesh writes for a deployment other than `local` (its instance, its workspace of code servers)."""
        return self.home / "deploy" / self.deployment.name

    @property
    def credentials_folder(self) -> Path:
        """Where `mesh deploy access --apply` keeps the principals' store keys for this deployment (owner-only)."""
        return self.deployment_folder / "credentials"

    def credentials_file(self, principal: str) -> Path:
        return self.credentials_folder / f"{principal}.env"

    def principal_environment(self, principal: str) -> dict[str, str]:
        """The store key a process acting as `principal` runs with (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …): the
        deployment file's `credentials`, else the one `mesh deploy access --apply` wrote for it; {} when there is none
        (the embedded shape, a folder port store, or no key made yet): the process keeps the environment's."""
        store = self.deployment.port_store
        if store is None or not store.on_object_store:
            return {}
        given = self.deployment.principal_key(principal)
        if given is not None:
            return given
        file = self.credentials_file(principal)
        if not file.is_file():
            return {}
        if fixed := self.deployment.fixed_store_key():
            raise MeshError(
                f"{self.deployment.file}: port_store.storage_options.{fixed} would be every process's key, and {principal} has "
                f"its own ({file}) — remove it: each process uses its principal's key"
            )
        key = {}
        for number, line in enumerate(file.read_text().splitlines(), 1):
            name, equals, value = line.strip().partition("=")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not equals or name not in CREDENTIAL_OPTIONS:
                raise MeshError(
                    f"{file}:{number}: not a line of a store key (AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…) — "
                    "delete the file and the user's key, then mesh deploy access --apply"
                )
            key[name] = value
        return key

    @property
    def clock(self) -> Clock:
        """The mesh's clock: MESH_NOW's time, else the real one."""
        return Clock.at(self.now)

    @property
    def ports_root(self) -> Path:
        """The ports' folder in the embedded shape; a deployment's `port_store` puts them at `ports_uri` instead."""
        return self.state_home / "ports"

    @property
    def port_store_uri(self) -> str:
        """Where ports and vault live: MESH_HOME, or the deployment's port store (a folder or s3://bucket/prefix);
        a development namespace's in its folder."""
        store = self.deployment.port_store
        return str(self.state_home) if store is None or self.dev is not None else self._uri(store.uri)

    @property
    def landing_uri(self) -> str:
        """Where source files arrive: the mesh's landing folder, or the deployment's landing zone (a folder or s3://bucket/prefix)."""
        store = self.deployment.landing
        return str(self.landing_root) if store is None or not store.on_object_store else self._uri(store.uri)

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
        return self.state_home / "vault"

    @property
    def landing_root(self) -> Path:
        """The local landing folder, one folder per domain (what `source` products read): the deployment's when it
        names a folder (MESH_LANDING), else the mesh's own (mesh.yaml's `landing`, outside MESH_HOME)."""
        store = self.deployment.landing
        if store is not None and not store.on_object_store:
            return Path(self._uri(store.uri))
        return self.landing or (self.root / self.project.landing).resolve()

    def landing_dir(self, domain: str) -> Path:
        return self.landing_root / domain

    @property
    def databases_root(self) -> Path:
        return self.state_home / "domains"

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
        return self.state_home / "logs"

    @property
    def instance_deployment(self) -> Deployment:
        """Whose instance settings the Dagster instance has: the deployment's, or (a development namespace) the embedded ones."""
        if self.dev is None:
            return self.deployment
        return Deployment(name=f"{self.deployment.name}, development namespace {self.dev.name}")

    @property
    def state_paths(self) -> tuple[Path, ...]:
        """Everything the mesh writes under MESH_HOME (what `mesh reset` removes); the landing zone is not state."""
        mine = self.published
        fixed = (
            self.home / "dagster",
            self.home / "deploy",
            self.home / "dev",
            mine.ports_root,
            mine.vault_root,
            mine.databases_root,
            self.landing_cache,
            mine.logs_dir,
            self.secret_file,
        )
        journals = tuple(self.home.glob(f"{self.access_log_file.name}*"))  # the SQLite file and its journal or WAL files
        return (*fixed, self.access_log_file, *journals)

    def ensure_home(self) -> Path:
        """MESH_HOME, made when missing, its owner's only (also one made by hand with a wider mode)."""
        return private_folder(self.home)

    def ensure_dagster_home(self) -> Path:
        """Create the Dagster instance folder with the deployment's instance settings (rewritten when they change),
        its owner's only: `dagster.yaml` may hold a literal PostgreSQL password."""
        self.ensure_home()
        private_folder(self.dagster_home)
        instance_yaml = self.dagster_home / "dagster.yaml"
        wanted = self.instance_deployment.instance_yaml()
        if not instance_yaml.exists() or instance_yaml.stat().st_mode & 0o077 or instance_yaml.read_text() != wanted:
            write_private(instance_yaml, wanted)
        return self.dagster_home

    def environment(self, principal: str | None = None, hashing_key: bool = True) -> dict[str, str]:
        """Environment for processes that run the mesh (code servers, runs, the UI); a process acting as `principal`
        holds that principal's own store key when it has one (`principal_environment`), and no other credential;
        `hashing_key` False: without `MESH_SECRET` too (a domain that publishes no personal column never needs it)."""
        env = dict(os.environ)
        if not hashing_key:
            env.pop("MESH_SECRET", None)
        if principal is not None and (key := self.principal_environment(principal)):
            for name in CREDENTIAL_OPTIONS:  # the command's own (a session token beside another key would break both)
                env.pop(name, None)
            env.update(key)
        env["MESH_ROOT"] = str(self.root)
        env["MESH_HOME"] = str(self.home)
        env["MESH_GLOSSARY"] = str(self.glossary_file)
        env["MESH_LANDING"] = self.landing_uri
        env["MESH_ENV"] = self.deployment.name
        env["DAGSTER_HOME"] = str(self.ensure_dagster_home())
        env.update(self.instance_deployment.instance_environment())
        for name in ("MESH_DEV", "MESH_DEV_PRODUCTS"):
            env.pop(name, None)
        if self.dev is not None:
            env["MESH_DEV"] = self.dev.name
            if self.dev.products is not None:
                env["MESH_DEV_PRODUCTS"] = " ".join(map(str, self.dev.products))
        python_path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
        return env


def _dev_namespace() -> DevNamespace | None:
    """The development namespace the environment names (the runs of `mesh materialize --dev`), if any."""
    name = os.environ.get("MESH_DEV")
    if not name:
        return None
    listed = os.environ.get("MESH_DEV_PRODUCTS")
    return DevNamespace(name, tuple(Address.parse(a) for a in listed.split()) if listed is not None else None)


def _seconds(variable: str, default: float) -> float:
    """A number of seconds an environment variable gives (default when unset)."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise MeshError(f"{variable}={value!r}: not a number of seconds; write one such as 300 (0 turns it off), or unset it")
    return seconds
