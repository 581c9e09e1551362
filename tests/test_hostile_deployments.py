"""Hostile and careless deployments, and what the mesh writes on disk (the hostile-input suite, for
deploy/<env>.yaml): each refused with a one-line error naming the file and the field, nothing written or
published, the mesh still working in its other shapes; nothing it writes readable by other local users.

No test connects to anything but 127.0.0.1: an address outside is only written in a file and refused."""

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_platform.core.settings import MeshSettings

from .conftest import column, contract_yaml, free_port
from .conftest import run_mesh as run_in_process
from .test_deploy import SQL, TOTALS, deploy, shop_domains


def run_mesh(*args: str, cwd: Path, check: bool = False):
    """The mesh command in this process, its deployment (`--env`) read from the arguments as the command
    does, and left behind by none: the environment is this test's again after it."""
    env = {**os.environ, "MESH_ENV": args[1] if args[:1] == ("--env",) else os.environ.get("MESH_ENV", "local")}
    return run_in_process(*args, env=env, cwd=cwd, check=check)


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    """The umask most users have (022): what the mesh writes must be private all the same."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def not_private(root: Path) -> list[str]:
    """Every folder under `root` (itself included) that is not 0700, every file that is not 0600."""
    paths = [root, *root.rglob("*")]
    return [f"{oct(mode(p))} {p}" for p in paths if not p.is_symlink() and mode(p) != (0o700 if p.is_dir() else 0o600)]


# --- A deployment whose PostgreSQL cannot be reached ---------------------------------------------------------------

INSTANCE_COMMANDS = [("status",), ("status", "--json"), ("materialize", "--all"), ("cost",), ("access", "log")]


def test_a_deployment_whose_postgres_cannot_be_reached_is_a_one_line_error_and_writes_nothing(lab):
    shop_domains(lab, "shop")
    closed = free_port()  # nothing listens there
    deploy(lab, "dead", f"instance:\n  postgres_url: postgresql://mesh:hunter2@127.0.0.1:{closed}/dagster\n")
    for command in INSTANCE_COMMANDS:
        result = run_mesh("--env", "dead", *command, cwd=lab.root)
        message = one_line_error(result)
        where = f"deploy/dead.yaml: instance.postgres_url: cannot reach PostgreSQL at 127.0.0.1:{closed}, database dagster"
        assert f"{where}: Connection refused — start PostgreSQL" in message, command
        assert "hunter2" not in result.stdout + result.stderr, command
    assert not (lab.settings.home / "deploy").exists()  # nothing written
    assert not (lab.settings.home / "ports").exists()  # nothing published
    # The embedded shape of the same mesh still builds.
    assert lab.materialize("shop").success


def test_a_postgres_url_from_the_environment_names_its_variable_when_unreachable(lab, monkeypatch):
    shop_domains(lab, "shop")
    deploy(lab, "onebox", "instance:\n  postgres_url: {env: LAB_DEAD_URL}\n")
    monkeypatch.setenv("LAB_DEAD_URL", f"postgresql://mesh:hunter2@127.0.0.1:{free_port()}/dagster")
    message = one_line_error(run_mesh("--env", "onebox", "status", cwd=lab.root))
    assert "deploy/onebox.yaml: instance.postgres_url ({env: LAB_DEAD_URL}): cannot reach PostgreSQL" in message
    assert "hunter2" not in message
    monkeypatch.setenv("LAB_DEAD_URL", "mysql://mesh:hunter2@127.0.0.1/dagster")
    message = one_line_error(run_mesh("--env", "onebox", "status", cwd=lab.root))
    assert "not a PostgreSQL URL — write postgresql://user:password@host:5432/database" in message and "hunter2" not in message


def test_a_literal_password_in_the_instance_settings_is_written_for_its_owner_only(lab, monkeypatch, permissive_umask):
    home = lab.settings.home
    os.chmod(home, 0o755)  # a MESH_HOME made before, readable by every local user
    deploy(lab, "literal", "instance:\n  postgres_url: postgresql://mesh:hunter2@127.0.0.1:5432/dagster\n")
    monkeypatch.setenv("MESH_ENV", "literal")
    settings = MeshSettings.from_env()
    instance_file = settings.ensure_dagster_home() / "dagster.yaml"
    assert "hunter2" in instance_file.read_text()  # where Dagster reads it
    assert mode(instance_file) == 0o600
    folders = (home, home / "deploy", settings.deployment_folder, settings.dagster_home)
    assert {folder: mode(folder) for folder in folders} == dict.fromkeys(folders, 0o700)
    os.chmod(instance_file, 0o644)  # written by an earlier version: made private again, same text or not
    settings.ensure_dagster_home()
    assert mode(instance_file) == 0o600


# --- Settings that reach beyond this machine or outside the mesh's folder ------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "mesh.example.com"])
def test_code_servers_listening_beyond_loopback_are_refused_without_allow_remote(lab, host):
    shop_domains(lab, "shop")
    deploy(lab, "wide", f"code_servers:\n  host: '{host}'\n")
    for command in (("serve",), ("status",), ("deploy", "show")):
        message = one_line_error(run_mesh("--env", "wide", *command, cwd=lab.root))
        assert f"deploy/wide.yaml:2: code_servers.host: '{host}' listens beyond this machine" in message, command
        assert "use 127.0.0.1, or set code_servers.allow_remote: true" in message
    assert not (lab.settings.home / "deploy").exists()


def test_code_servers_allowed_beyond_loopback_are_said_with_where_each_listens(lab):
    shop_domains(lab, "shop", "crm")
    deploy(lab, "wide", "code_servers:\n  host: 0.0.0.0\n  allow_remote: true\n  first_port: 4500\n")
    shown = run_mesh("--env", "wide", "deploy", "show", cwd=lab.root, check=True)
    assert "warning: " in shown.stderr
    assert "deploy/wide.yaml: code_servers: unauthenticated gRPC code servers listen beyond this machine" in shown.stderr
    assert "shop on 0.0.0.0:4500, crm on 0.0.0.0:4501" in shown.stderr
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):  # loopback needs nothing, and says nothing
        deploy(lab, "narrow", f"code_servers:\n  host: '{host}'\n")
        assert run_mesh("--env", "narrow", "deploy", "show", cwd=lab.root, check=True).stderr == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "port_store:\n  uri: ../../../../../../etc\n",
            "deploy/x.yaml:2: port_store.uri: '../../../../../../etc' leads outside the mesh's folder (to /etc)",
        ),
        (
            "port_store:\n  uri: ports/../../elsewhere\n",
            "deploy/x.yaml:2: port_store.uri: 'ports/../../elsewhere' leads outside the mesh's folder",
        ),
        (
            "landing:\n  uri: ../../../../../../home\n",
            "deploy/x.yaml:2: landing.uri: '../../../../../../home' leads outside the mesh's folder (to /home)",
        ),
    ],
)
def test_a_store_folder_that_climbs_out_of_the_mesh_is_refused(lab, text, expected):
    shop_domains(lab, "shop")
    deploy(lab, "x", text)
    message = one_line_error(run_mesh("--env", "x", "status", cwd=lab.root))
    assert expected in message and "write the folder's absolute path if the store is meant to be there" in message


def test_a_store_folder_inside_the_mesh_or_absolute_is_taken_and_the_environment_is_checked_too(lab, monkeypatch, tmp_path):
    shop_domains(lab, "shop")
    deploy(lab, "x", f"port_store:\n  uri: state/../ports\nlanding:\n  uri: {tmp_path / 'landing'}\n")
    shown = run_mesh("--env", "x", "deploy", "show", cwd=lab.root, check=True)
    assert f"port_store: {lab.root / 'ports'}" in shown.stdout
    monkeypatch.setenv("MESH_PORT_STORE", "../../../../../../etc")
    message = one_line_error(run_mesh("--env", "x", "status", cwd=lab.root))
    assert "MESH_PORT_STORE: '../../../../../../etc' leads outside the mesh's folder (to /etc)" in message


ENDPOINTS = [
    (
        "https://s3.example.com",
        "s3.example.com is outside this machine: the ports and the vault (clear personal values) would be sent there",
    ),
    ("http://203.0.113.9:9000", "203.0.113.9 is outside this machine"),
    ("s3.example.com", "'s3.example.com' is not an endpoint URL — write http(s)://host[:port]"),
    ("ftp://127.0.0.1", "'ftp://127.0.0.1' is not an endpoint URL"),
]


@pytest.mark.parametrize(("endpoint", "expected"), ENDPOINTS)
def test_an_object_store_endpoint_outside_this_machine_is_refused_when_the_file_is_read(lab, monkeypatch, endpoint, expected):
    shop_domains(lab, "shop")
    deploy(
        lab,
        "x",
        f"port_store:\n  uri: s3://bucket/mesh\n  storage_options:\n    AWS_REGION: eu-west-1\n"
        f"    AWS_ENDPOINT_URL: '{endpoint}'\n",
    )
    message = one_line_error(run_mesh("--env", "x", "deploy", "show", cwd=lab.root))
    assert f"deploy/x.yaml:5: port_store.storage_options.AWS_ENDPOINT_URL: {expected}" in message
    # The same value read from the environment is checked as well, at the line that names the variable.
    deploy(lab, "x", "landing:\n  uri: s3://raw/mesh\n  storage_options:\n    endpoint: {env: LAB_ENDPOINT}\n")
    monkeypatch.setenv("LAB_ENDPOINT", endpoint)
    message = one_line_error(run_mesh("--env", "x", "status", cwd=lab.root))
    assert "deploy/x.yaml:4: landing.storage_options.endpoint: " in message
    assert "source files" in message or "not an endpoint URL" in message


def test_an_object_store_endpoint_allowed_outside_this_machine_is_said(lab):
    shop_domains(lab, "shop")
    deploy(
        lab,
        "x",
        "port_store:\n  uri: s3://bucket/mesh\n  allow_remote: true\n"
        "  storage_options:\n    AWS_ENDPOINT_URL: http://203.0.113.9:9000\n",
    )
    shown = run_mesh("--env", "x", "deploy", "show", cwd=lab.root, check=True)
    assert "warning: " in shown.stderr
    assert (
        "port_store.storage_options.AWS_ENDPOINT_URL: the ports and the vault go to http://203.0.113.9:9000, "
        "outside this machine (allow_remote: true), unencrypted (http)"
    ) in shown.stderr
    deploy(lab, "x", "port_store:\n  uri: s3://bucket/mesh\n  storage_options:\n    AWS_ENDPOINT_URL: http://127.0.0.1:9000\n")
    assert run_mesh("--env", "x", "deploy", "show", cwd=lab.root, check=True).stderr == ""  # on this machine: nothing to say


# --- What the mesh writes is its owner's only ----------------------------------------------------------------------


def test_mesh_seed_writes_the_landing_feeds_for_their_owner_only(repo_copy):
    landing = repo_copy.settings.landing_root
    (landing / "customers").mkdir(parents=True)
    os.chmod(landing / "customers", 0o755)  # left by an earlier seed, readable by every local user
    subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", "seed", "--rows", "40"],
        cwd=repo_copy.root,
        env=repo_copy.env,
        check=True,
        capture_output=True,
        umask=0o022,
    )
    feed = landing / "customers" / "customer_events.jsonl"
    assert "@" in feed.read_text()  # e-mail addresses in clear
    assert [bad for folder in landing.iterdir() for bad in not_private(folder)] == []


def test_the_process_umask_of_every_mesh_command_is_owner_only(lab):
    shop_domains(lab, "shop")
    with contextlib.ExitStack() as stack:
        previous = os.umask(0o022)
        stack.callback(os.umask, previous)
        run_mesh("list", cwd=lab.root, check=True)
        assert os.umask(0o022) == 0o077  # what the command, and every process it starts, create is private


@pytest.mark.slow
def test_everything_builds_write_in_mesh_home_is_its_owner_only(lab):
    shop_domains(lab, "shop", "crm")
    lab.add_product("crm", "shop_totals", SQL.format(domain="shop"), contract_yaml("crm", "shop_totals", TOTALS))  # a read logged
    people = [column("id", "integer", "BIGINT", required=True), column("email", classification="personal")]
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: people.csv\n"
    lab.add_product("crm", "people", source, contract_yaml("crm", "people", people))
    lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n")  # its clear values go to the vault
    home = lab.settings.home
    shutil.rmtree(home)
    home.mkdir(mode=0o755)  # made by hand, readable by every local user
    os.chmod(home, 0o755)
    subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", "materialize", "--all"],
        cwd=lab.root,
        check=True,
        capture_output=True,
        umask=0o022,
    )
    written = {p.relative_to(home).parts[0] for p in home.rglob("*")}
    assert {"dagster", "domains", "ports", "vault", "logs", "secret", "access_log.sqlite"} <= written, written
    assert not_private(home) == []
