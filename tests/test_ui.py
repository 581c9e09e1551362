"""The Dagster UI for the mesh: `mesh ui` serves every domain on 127.0.0.1 with cross-domain lineage."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

LOCATIONS_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""
ASSETS_QUERY = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    repository { location { name } }
} }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


@pytest.fixture
def ui(demo_mesh):
    port = free_port()
    env = {**os.environ, "MESH_HOME": str(demo_mesh.settings.home), "MESH_ROOT": str(REPO), "MESH_UI_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh_platform.cli.main", "ui"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
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


def test_ui_serves_every_domain_on_loopback_with_cross_domain_lineage(ui):
    port, process = ui
    entries = graphql(port, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
    assert {e["name"]: e["locationOrLoadError"]["__typename"] for e in entries} == {
        d: "RepositoryLocation" for d in ("customers", "sales", "web_analytics", "marketing", "planning")
    }
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(port, ASSETS_QUERY)["assetNodes"]}
    assert len(nodes) == 13
    audience = nodes["marketing/customer_360"]
    assert audience["repository"]["location"]["name"] == "marketing"
    assert audience["groupName"] == "marketing"
    assert {"team": "marketing"} in audience["owners"]
    assert {"/".join(d["path"]) for d in audience["dependencyKeys"]} == {
        "customers/profiles", "customers/customer_keys", "sales/orders", "web_analytics/sessions"
    }
    assert listening_addresses(port) == {"0100007F"}, "the UI must listen on 127.0.0.1 only"


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) with a listening TCP socket on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found
