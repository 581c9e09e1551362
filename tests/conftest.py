"""Shared fixtures: temporary meshes with real DuckDB files, Delta ports and Dagster instances."""

from __future__ import annotations

import functools
import gc
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import traceback
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from mesh_platform import Address, read_product, read_product_relation
from mesh_platform.core.interrupts import keep_stoppable
from mesh_platform.core.settings import MeshSettings

if TYPE_CHECKING:
    from .postgres_server import PostgresServer
    from .s3_server import S3Server

REPO = Path(__file__).resolve().parent.parent
# Modules whose tests share a costly module-scoped fixture (one `mesh ui` of the demo mesh): their tests run on one
# pytest-xdist worker, so it starts once. (xdist's own --dist loadgroup no longer groups under pytest 9.2, whose
# items keep their node id elsewhere; this scheduler groups by module instead.)
ONE_WORKER_MODULES = ("tests/test_ui.py",)

# A test process started in the background (`make test &`) ignores SIGINT; the Dagster runs it executes would make
# it ignore SIGTERM too, and so every server and command it starts, as a `mesh` command does not (core.interrupts).
keep_stoppable()


@pytest.hookimpl(optionalhook=True)  # xdist's hook: without -n (or with -p no:xdist) there is none
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`-n` spreads tests one by one (xdist's `load`), but the tests of a module of ONE_WORKER_MODULES together."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.endswith(ONE_WORKER_MODULES) else nodeid

    return ModulesTogether(config, log)


# Runs start in processes of their own (MESH_WARM_SECONDS=0): a warm worker per test's mesh would load its
# definitions once for the few runs of one test, import in advance what they import, and linger, which doubled the
# fast tier's time on two cores. The tests of warm builds, of killed runs and of concurrent builds ask for them
# (the `warm_builds` fixture); the progress a warm run sends is also checked message by message (test_progress.py).
os.environ.setdefault("MESH_WARM_SECONDS", "0")
WARM_SECONDS = "15"  # a warm test's workers end soon after its last run, not after the five minutes a user's get


@pytest.fixture
def warm_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs forked by warm workers, as a user's `mesh materialize` does by default."""
    monkeypatch.setenv("MESH_WARM_SECONDS", WARM_SECONDS)


@dataclass(frozen=True)
class MeshRun:
    """What one `mesh` command did: its exit code, what it printed to stdout and to stderr."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _cached_commands() -> None:
    """typer's CliRunner builds the click command from the Typer app on every invoke (~35 ms of signature
    inspection per call, hundreds of calls per run); the app never changes within a test session, so the
    tests build it once. (typer keeps the builder as `typer.testing._get_command`; if a release renames it,
    this does nothing and the tests only run slower.)"""
    import typer.main
    import typer.testing

    if getattr(typer.testing, "_get_command", None) is typer.main.get_command:
        typer.testing._get_command = functools.cache(typer.main.get_command)


def run_mesh(
    *args: str, env: dict[str, str] | None = None, check: bool = False, cwd: Path = REPO, stdin: str | None = None
) -> MeshRun:
    """Run the real `mesh` CLI in this process (typer's CliRunner), in the environment `env`
    (default: this process's) and the working folder `cwd`, as a user's shell would (`stdin`: its standard input)."""
    from typer.testing import CliRunner

    from mesh_platform.cli.main import cli

    _cached_commands()
    wanted = dict(os.environ) if env is None else env
    changes = {key: None for key in os.environ if key not in wanted} | {
        key: value for key, value in wanted.items() if os.environ.get(key) != value
    }
    before, environment = Path.cwd(), dict(os.environ)
    os.chdir(cwd)
    try:
        outcome = CliRunner().invoke(cli, list(args), env=changes, catch_exceptions=True, input=stdin)
    finally:
        os.chdir(before)
        os.environ.clear()  # a command may set a variable for the processes it starts (`mesh --env`): none outlives it here
        os.environ.update(environment)
    stderr = outcome.stderr
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        stderr += "".join(traceback.format_exception(outcome.exception))
    result = MeshRun(args, outcome.exit_code, outcome.stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"mesh {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def mesh_env(home: Path, root: Path = REPO, **extra: str) -> dict[str, str]:
    """This environment pointed at the mesh at `root` with the state folder `home` and a landing zone of its
    own beside it (the repository's default landing/ is never written by a test)."""
    return {**os.environ, "MESH_ROOT": str(root), "MESH_HOME": str(home), "MESH_LANDING": str(landing_beside(home)), **extra}


def landing_beside(home: Path) -> Path:
    return home.parent / f"{home.name}-landing"


@pytest.fixture
def mesh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MeshSettings:
    """The repository's mesh with an empty, temporary MESH_HOME (and landing zone)."""
    home = tmp_path / "mesh_home"
    monkeypatch.setenv("MESH_HOME", str(home))
    monkeypatch.setenv("MESH_ROOT", str(REPO))
    monkeypatch.setenv("MESH_LANDING", str(landing_beside(home)))
    return MeshSettings(root=REPO, home=home, landing=landing_beside(home))


@dataclass(frozen=True)
class DemoMesh:
    settings: MeshSettings
    materialize_output: str


@pytest.fixture(scope="session")
def built_demo_mesh(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> DemoMesh:
    """The five demo domains seeded and materialized once per test session, through the real CLI
    and Dagster runs, and shared by every pytest-xdist worker (tests only read it)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    home = shared / "demo" / "mesh_home"
    done = shared / "demo" / "materialized.txt"  # what `mesh materialize --all` printed
    with FileLock(str(shared / "demo.lock")):
        if not done.exists():
            env = mesh_env(home)
            run_mesh("seed", "--rows", "400", env=env, check=True)
            done.write_text(run_mesh("materialize", "--all", env=env, check=True).stdout)
    return DemoMesh(MeshSettings(root=REPO, home=home, landing=landing_beside(home)), done.read_text())


@pytest.fixture
def demo_mesh(built_demo_mesh: DemoMesh, monkeypatch: pytest.MonkeyPatch) -> DemoMesh:
    """The materialized demo mesh, made this process's mesh for one test: set per test (never once per
    session), so no other test's environment, restored when it ends, can point a demo test elsewhere."""
    settings = built_demo_mesh.settings
    monkeypatch.setenv("MESH_ROOT", str(settings.root))
    monkeypatch.setenv("MESH_HOME", str(settings.home))
    monkeypatch.setenv("MESH_LANDING", str(settings.landing_root))
    for other in ("MESH_ENV", "MESH_GLOSSARY", "DAGSTER_HOME"):
        monkeypatch.delenv(other, raising=False)
    return built_demo_mesh


def contract_yaml(domain: str, name: str, columns: list[dict], **extra: object) -> str:
    """A minimal valid ODCS v3.1 contract for tests."""
    document = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"urn:mesh:{domain}:{name}",
        "version": "1.0.0",
        "status": "active",
        "name": name,
        "domain": domain,
        "description": {"purpose": f"The {name} of the {domain} test domain, one row each."},
        "team": {"name": domain, "members": [{"username": "owner@example.com", "role": "owner"}]},
        "schema": [
            {
                "name": name,
                "physicalType": "table",
                "properties": columns,
                "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}],
            }
        ],
        "slaProperties": [{"property": "frequency", "value": 1, "unit": "d"}, {"property": "latency", "value": 2, "unit": "h"}],
        "customProperties": [{"property": "access", "value": "public"}],
    }
    document.update(extra)
    return yaml.safe_dump(document, sort_keys=False)


def column(name: str, logical: str = "string", physical: str | None = None, **extra: object) -> dict:
    spec = {"name": name, "logicalType": logical, "classification": "internal", **extra}
    if physical:
        spec["physicalType"] = physical
    return spec


# The glossary of lab meshes: the platform's value mapping, a table mapping, a polyseme.
LAB_GLOSSARY = """\
terms:
  country:
    definition: A country of the world.
    canonical: ISO 3166-1 alpha-2 code.
    logicalType: string
    values: iso-3166-1-alpha-2
  status:
    definition: Where an order stands.
    logicalType: string
    values:
      canonical: [completed, cancelled]
      synonyms: {done: completed, canceled: cancelled}
  active_user:
    definition: Someone recently active.
    logicalType: boolean
    meanings:
      shop: {definition: A purchase in the last 7 days., parameters: {window: 7 days}}
      crm: {definition: A login in the last 30 days., parameters: {window: 30 days}}
"""


class LabMesh:
    """A small mesh built by a test in a temporary folder: its own workspace, domains and MESH_HOME."""

    def __init__(self, root: Path):
        self.root = root
        self.package = f"lab_{uuid.uuid4().hex[:8]}"
        self.settings = MeshSettings(root=root, home=root / ".mesh")
        self.domains: list[str] = []
        (root / self.package).mkdir(parents=True)
        (root / self.package / "__init__.py").write_text("")
        self.glossary_file = root / "glossary.yaml"
        self.glossary_file.write_text(LAB_GLOSSARY)

    def add_domain(self, domain: str) -> Path:
        folder = self.root / self.package / domain
        (folder / "defs").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "definitions.py").write_text(
            "from mesh_platform import domain_definitions\n\ndefs = domain_definitions(__file__)\n"
        )
        (folder / "dg.toml").write_text(
            f'directory_type = "project"\n\n[project]\nroot_module = "{self.package}.{domain}"\n'
            f'defs_module = "{self.package}.{domain}.defs"\n'
        )
        self.domains.append(domain)
        locations = [
            {"python_module": {"module_name": f"{self.package}.{d}.definitions", "working_directory": ".", "location_name": d}}
            for d in self.domains
        ]
        (self.root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": locations}, sort_keys=False))
        return folder

    def add_product(self, domain: str, name: str, recipe: str, contract: str, files: dict[str, str] | None = None) -> Path:
        folder = self.root / self.package / domain / "defs" / name
        folder.mkdir(parents=True)
        (folder / "defs.yaml").write_text(textwrap.dedent(recipe))
        (folder / "contract.yaml").write_text(contract)
        for file_name, text in (files or {}).items():
            (folder / file_name).write_text(textwrap.dedent(text))
        return folder

    def land(self, domain: str, name: str, text: str) -> Path:
        path = self.settings.landing_dir(domain) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def definitions(self, domain: str) -> dg.Definitions:
        """Load the domain's code location as Dagster would (fresh, so edits are seen)."""
        module = f"{self.package}.{domain}.definitions"
        for name in [m for m in sys.modules if m.startswith(f"{self.package}.{domain}")]:
            del sys.modules[name]
        return importlib.import_module(module).defs

    def broken_products(self, domain: str) -> dict[str, str]:
        """The domain's product folders that cannot load, by name, with what their asset says is wrong."""
        defs = self.definitions(domain)
        return {spec.key.path[-1]: spec.description for spec in defs.resolve_all_asset_specs() if spec.tags.get("mesh/broken")}

    def load_errors(self, domain: str) -> list[str]:
        """The messages of the error (and of its causes) that loading the domain's code location raises."""
        with pytest.raises(Exception) as error:
            self.definitions(domain)
        chain, cause = [], error.value
        while cause is not None:
            chain.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        return chain

    def materialize(
        self,
        domain: str,
        *products: str,
        raise_on_error: bool = True,
        partition: str | None = None,
        partitions: tuple[str, str] | None = None,
        resources: dict[str, dg.ConfigurableResource] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """A real Dagster run of the domain's products against this mesh's instance: of one `partition`
        or a range of `partitions` (first, last) when the products are partitioned; `resources` replace the platform's."""
        defs = self.definitions(domain)
        selection = [dg.AssetKey([domain, p]) for p in products] if products else None
        tags = (
            {"dagster/asset_partition_range_start": partitions[0], "dagster/asset_partition_range_end": partitions[1]}
            if partitions
            else None
        )
        with dg.DagsterInstance.from_config(str(self.settings.ensure_dagster_home())) as instance:
            return dg.materialize(
                list(defs.assets or []),
                selection=selection,
                instance=instance,
                resources={**defs.resources, **(resources or {})},
                raise_on_error=raise_on_error,
                partition_key=partition,
                tags=tags,
            )


@pytest.fixture(scope="session")
def empty_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new Dagster instance folder as the mesh writes it, its SQLite storage created by Dagster itself.

    Creating the storage takes Dagster most of a second; each lab mesh starts from a copy."""
    home = tmp_path_factory.mktemp("empty_instance")
    MeshSettings(root=REPO, home=home).ensure_dagster_home()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        instance.get_runs(limit=1)
    return home / "dagster"


def open_lab(root: Path, monkeypatch: pytest.MonkeyPatch, empty_instance: Path) -> LabMesh:
    """A new lab mesh at `root`, made the environment's mesh for as long as `monkeypatch` holds."""
    mesh = LabMesh(root)
    shutil.copytree(empty_instance, mesh.settings.dagster_home)
    monkeypatch.syspath_prepend(str(mesh.root))
    monkeypatch.setenv("MESH_ROOT", str(mesh.root))
    monkeypatch.setenv("MESH_HOME", str(mesh.settings.home))
    monkeypatch.setenv("DAGSTER_HOME", str(mesh.settings.dagster_home))
    monkeypatch.setenv("MESH_GLOSSARY", str(mesh.glossary_file))
    monkeypatch.delenv("MESH_LANDING", raising=False)  # the lab's own landing/ (a deployment file may name another)
    for name, value in mesh.settings.instance_deployment.instance_environment().items():  # as the mesh's runs have it
        monkeypatch.setenv(name, value)
    return mesh


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_instance: Path) -> LabMesh:
    return open_lab(tmp_path / "lab", monkeypatch, empty_instance)


MESH_FILES = ("mesh.yaml", "workspace.yaml", "dg.toml", "macros.sql", "domains", "governance", "templates")


@dataclass(frozen=True)
class MeshCopy:
    """A copy of the repository's mesh (settings, workspace, domains, governance, templates) that a test may change."""

    settings: MeshSettings

    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def env(self) -> dict[str, str]:
        environment = {**os.environ, "MESH_ROOT": str(self.root), "MESH_HOME": str(self.settings.home)}
        for own in ("MESH_GLOSSARY", "MESH_LANDING"):  # the copy's own, from its mesh.yaml
            environment.pop(own, None)
        return environment

    def mesh(self, *args: str, check: bool = False) -> MeshRun:
        return run_mesh(*args, env=self.env, cwd=self.root, check=check)

    def tree(self) -> dict[str, str]:
        """Every file of the copy (state in MESH_HOME, the landing zone's sources and derived caches aside) with a hash
        of its content."""
        import hashlib

        from mesh_platform.catalog.index import INDEX_FOLDER

        return {
            str(p.relative_to(self.root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
            and "__pycache__" not in p.parts
            and INDEX_FOLDER not in p.parts
            and not p.is_relative_to(self.settings.landing_root)
        }


@pytest.fixture
def repo_copy(tmp_path: Path) -> MeshCopy:
    """A changeable copy of the mesh's repository (settings, workspace, domains, governance, templates) with an empty
    MESH_HOME."""
    root = tmp_path / "repo"
    for name in MESH_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    return MeshCopy(MeshSettings(root=root, home=tmp_path / "home"))


@pytest.fixture
def mesh_copy(repo_copy: MeshCopy, demo_mesh: DemoMesh) -> MeshCopy:
    """A changeable copy of the mesh whose MESH_HOME starts with the demo's published state: ports, vault, sources."""
    for state in ("ports", "vault"):  # the published state: ports and the clear values behind their tokens
        shutil.copytree(demo_mesh.settings.home / state, repo_copy.settings.home / state)
    shutil.copytree(demo_mesh.settings.landing_root, repo_copy.settings.landing_root)  # and the sources
    return repo_copy


def owner_read(address: str | Address, **kwargs) -> pd.DataFrame:
    """Read a product as its own domain does (no access rules apply to the owner)."""
    return read_product(address, consumer=_domain(address), **kwargs)


def owner_relation(address: str | Address, **kwargs):
    return read_product_relation(address, consumer=_domain(address), **kwargs)


def _domain(address: str | Address) -> str:
    return (address if isinstance(address, Address) else Address.parse(address)).domain


# The Dagster UI over the demo mesh, as `mesh ui` serves it.
LOCATIONS_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = {"query": query, **({"variables": variables} if variables else {})}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


@pytest.fixture(scope="module")
def ui(built_demo_mesh: DemoMesh) -> Iterator[tuple[int, subprocess.Popen]]:
    """`mesh ui` over the demo mesh on a free loopback port, once every domain has loaded: one for the tests of a
    module (they only read it), which starting it takes Dagster half a minute on two cores."""
    port = free_port()
    env = mesh_env(built_demo_mesh.settings.home, MESH_UI_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh_platform.cli.main", "ui"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                entries = graphql(port, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
                if len(entries) == 5 and all(e["locationOrLoadError"] for e in entries):
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the UI did not come up"
            time.sleep(1)
        yield port, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for this test process, stopped and deleted after its tests."""
    from .postgres_server import PostgresServer, server_binaries

    binaries = server_binaries()
    if binaries is None:
        message = "PostgreSQL's server is not installed (make test installs Debian's postgresql package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(binaries).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """An S3-compatible server (moto's emulator) on 127.0.0.1 for this test process."""
    from .s3_server import S3Server

    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def iam_s3() -> Iterator[S3Server]:
    """The same emulator with IAM enforcement on: every request signed by an IAM user whose policy allows it."""
    from .s3_server import S3Server

    server = S3Server(enforce_iam=True).start()
    try:
        yield server
    finally:
        server.stop()


# What the imports above made lives as long as the test process: frozen, no collection walks it again
# (a full collection would walk Dagster's, pandas' and the platform's objects each time).
gc.freeze()
