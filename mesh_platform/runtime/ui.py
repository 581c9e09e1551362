"""Serving the Dagster UI for the whole mesh: every domain's code location, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys

from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.code_servers import workspace_file

DEFAULT_PORT = 3000
HOST = "127.0.0.1"


def ui_port() -> int:
    return int(os.environ.get("MESH_UI_PORT", DEFAULT_PORT))


def ui_command(settings: MeshSettings, port: int) -> list[str]:
    """`dagster dev` for the workspace: webserver and daemon (schedules, automation, the run queue) on 127.0.0.1;
    in a deployment with code servers, the domains come from those servers."""
    return [
        sys.executable, "-m", "dagster", "dev", "-w", str(workspace_file(settings)), "-h", HOST, "-p", str(port),
        "--log-level", "warning",  # the daemon logs every automation tick at info
    ]


def serve_ui(settings: MeshSettings, port: int) -> int:
    """Run the UI until interrupted; return its exit code."""
    process = subprocess.Popen(ui_command(settings, port), cwd=settings.root, env=settings.environment())
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
