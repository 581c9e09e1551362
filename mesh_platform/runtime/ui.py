"""The Dagster UI and daemon for the whole mesh: every domain's code location, on loopback.

Embedded (`local`), `mesh ui` is `dagster dev`: the webserver and the daemon in one command, the domains
loaded as Python modules. A deployment (PostgreSQL, code servers) runs them as Dagster documents for
production, each its own service: `mesh ui` is `dagster-webserver`, `mesh daemon` is `dagster-daemon run`
(schedules, sensors, automation, the run queue); both load the domains from their code servers.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from mesh_platform.core.errors import MeshError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.code_servers import workspace_file
from mesh_platform.runtime.instance import prepare_instance
from mesh_platform.runtime.services import Service, run_services

DEFAULT_PORT = 3000
HOST = "127.0.0.1"
LOG_LEVEL = ("--log-level", "warning")  # the daemon logs every automation tick at info


def ui_port() -> int:
    return int(os.environ.get("MESH_UI_PORT", DEFAULT_PORT))


def webserver_address(settings: MeshSettings) -> tuple[str, int]:
    """Where the deployment's webserver listens, for commands that submit runs through it: 127.0.0.1 and `mesh ui`'s
    port (MESH_UI_PORT, default 3000)."""
    return HOST, ui_port()


def production_shape(settings: MeshSettings) -> bool:
    """Whether the deployment runs the webserver and the daemon as services of their own (not `dagster dev`)."""
    return settings.deployment.uses_postgres or settings.deployment.code_servers is not None


def ui_command(settings: MeshSettings, port: int) -> list[str]:
    """The webserver on 127.0.0.1 for the workspace (the domains' code servers in a deployment that has them);
    embedded, `dagster dev`: the webserver and the daemon together."""
    workspace = ("-w", str(workspace_file(settings)), "-h", HOST, "-p", str(port), *LOG_LEVEL)
    if production_shape(settings):
        return [_dagster_script("dagster-webserver"), *workspace]
    return [sys.executable, "-m", "dagster", "dev", *workspace]


def daemon_command(settings: MeshSettings) -> list[str]:
    return [_dagster_script("dagster-daemon"), "run", "-w", str(workspace_file(settings)), *LOG_LEVEL]


def serve_ui(settings: MeshSettings, port: int, say: Callable[[str], None]) -> int:
    """Run the UI until a stop signal (0) or its end (its exit code)."""
    prepare_instance(settings)
    name = "the webserver" if production_shape(settings) else "dagster dev"
    alone = " (the webserver; mesh daemon runs the daemon)" if production_shape(settings) else ""
    say(f"Dagster UI for the mesh: http://{HOST}:{port}{alone}  (MESH_HOME={settings.home}; Ctrl-C stops)")
    env = settings.environment(hashing_key=not _has_code_servers(settings))
    return run_services([Service(name, tuple(ui_command(settings, port)))], settings.root, env, say)


def serve_daemon(settings: MeshSettings, say: Callable[[str], None]) -> int:
    """Run Dagster's daemon until a stop signal (0) or its end (its exit code)."""
    if not production_shape(settings):
        raise MeshError(
            f"the deployment '{settings.deployment.name}' is embedded: "
            "mesh ui runs the daemon with the webserver there (dagster dev)"
        )
    prepare_instance(settings)
    say(f"Dagster daemon for the deployment '{settings.deployment.name}' (MESH_HOME={settings.home}; Ctrl-C stops)")
    env = settings.environment(hashing_key=not _has_code_servers(settings))
    return run_services([Service("the daemon", tuple(daemon_command(settings)))], settings.root, env, say)


def _has_code_servers(settings: MeshSettings) -> bool:
    """Whether the domains' code (and the runs it launches) lives in code servers of their own, not in processes the
    webserver and the daemon start: then those two hold no hashing key (only the domains that publish personal data do)."""
    return settings.deployment.code_servers is not None


def _dagster_script(name: str) -> str:
    """One of Dagster's commands, from this Python's environment (else the PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise MeshError(
            f"Dagster's {name} command is not installed beside {sys.executable} — pip install dagster dagster-webserver"
        )
    return found
