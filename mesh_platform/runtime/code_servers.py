"""Domains served as gRPC code servers: one process per domain, the webserver and daemon load the mesh from them.

In the `local` shape `dagster dev` loads every domain's code location as a Python module in
processes of its own. A deployment with `code_servers` serves each domain with Dagster's own code
server, `dagster api grpc`, on its port instead; the webserver, the daemon and the runs they launch
reach the domain through it, so one domain's server can be restarted or upgraded alone while the
others keep serving. `mesh serve` watches over the servers it runs (`runtime.services`): one that
dies is started again and the others never stop for it. The workspace they load is written for the
deployment under MESH_HOME (`deploy/<env>/workspace.yaml`, beside the deployment's Dagster
instance): the repository's `workspace.yaml` still says which domains exist.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.catalog.workspace import Domain, read_workspace
from mesh_platform.core.deployment import CodeServers
from mesh_platform.core.errors import MeshError
from mesh_platform.core.owner_only import private_folder
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import hashing_key_holders
from mesh_platform.runtime.instance import prepare_instance
from mesh_platform.runtime.services import Service, run_services


@dataclass(frozen=True)
class CodeServer:
    """Where one domain's code location is served."""

    domain: Domain
    root: Path  # the repository: the working directory its module is imported from
    host: str
    port: int

    def command(self) -> list[str]:
        """Dagster's code server for the domain's definitions module, from the repository root."""
        return [
            sys.executable,
            "-m",
            "dagster",
            "api",
            "grpc",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "--module-name",
            self.domain.module,
            "--working-directory",
            str(self.root),
            "--location-name",
            self.domain.name,
            "--lazy-load-user-code",  # a domain that fails to load is served as its error (shown in the UI), not a crash
            "--use-python-environment-entry-point",  # its runs start with this Python, whatever `dagster` PATH finds
            "--log-level",
            "warning",
        ]

    def service(self, env: dict[str, str] | None = None) -> Service:
        """The server as a service, in `env` (default: the shared environment of the services started with it)."""
        return Service(
            f"{self.domain.name}'s code server on {self.host}:{self.port}",
            tuple(self.command()),
            restart=True,
            env=tuple(sorted((env or {}).items())),
        )

    def workspace_entry(self) -> dict:
        return {"grpc_server": {"host": self.host, "port": self.port, "location_name": self.domain.name}}


def code_servers(settings: MeshSettings) -> list[CodeServer]:
    """Every domain's code server in the deployment, in the order of workspace.yaml."""
    config = _config(settings)
    domains = read_workspace(settings.root)
    names = [d.name for d in domains]
    unknown = sorted(set(config.ports) - set(names))
    if unknown:
        raise MeshError(
            f"{settings.deployment.file}: code_servers.ports names no domain of workspace.yaml: {', '.join(unknown)} — "
            f"use one of {', '.join(names)}"
        )
    ports = config.assign(names)
    return [CodeServer(domain, settings.root, config.host, ports[domain.name]) for domain in domains]


def code_server(settings: MeshSettings, domain: str) -> CodeServer:
    servers = {server.domain.name: server for server in code_servers(settings)}
    if domain not in servers:
        raise MeshError(f"no domain '{domain}' in {settings.workspace_file} — one of: {', '.join(servers)}")
    return servers[domain]


def workspace_file(settings: MeshSettings) -> Path:
    """The workspace the webserver and daemon load: the repository's, or one of gRPC servers for the deployment."""
    if settings.deployment.code_servers is None:
        return settings.workspace_file
    file = private_folder(settings.deployment_folder) / "workspace.yaml"
    text = (
        f"# Written by mesh-platform for the deployment '{settings.deployment.name}': each domain from its code server\n"
        f"# (mesh --env {settings.deployment.name} serve DOMAIN). The domains are the ones of {settings.workspace_file}.\n"
        + yaml.safe_dump({"load_from": [server.workspace_entry() for server in code_servers(settings)]}, sort_keys=False)
    )
    if not file.exists() or file.read_text() != text:
        file.write_text(text)
    return file


def serve(settings: MeshSettings, catalog: Catalog, servers: list[CodeServer], say: Callable[[str], None]) -> int:
    """Run the code servers until a stop signal, each started again when it dies (`runtime.services`): 0 when stopped.
    The instance's storage is created first, once, so that the servers never race to create it."""
    prepare_instance(settings)
    for server in servers:
        say(f"serving {server.domain.name} ({server.domain.module}) on {server.host}:{server.port}")
    return run_services(server_services(settings, catalog, servers), settings.root, settings.environment(hashing_key=False), say)


def server_services(settings: MeshSettings, catalog: Catalog, servers: list[CodeServer]) -> list[Service]:
    """The servers as services, each in an environment with its domain's own store key and no other
    (`MeshSettings.environment`): the domain's definitions load, and the runs it launches build, with that key.
    Only the domains that publish personal columns (`hashing_key_holders`) get the hashing key, `MESH_SECRET`."""
    holders = hashing_key_holders(catalog)
    return [
        server.service(settings.environment(principal=server.domain.name, hashing_key=server.domain.name in holders))
        for server in servers
    ]


def _config(settings: MeshSettings) -> CodeServers:
    if settings.deployment.code_servers is None:
        where = settings.deployment.file or f"the deployment '{settings.deployment.name}'"
        raise MeshError(
            f"{where} serves no code servers: domains load as Python modules in it — "
            "add a code_servers: block to deploy/<env>.yaml and run mesh --env <env> serve"
        )
    return settings.deployment.code_servers


def reach_warnings(settings: MeshSettings) -> list[str]:
    """What the deployment lets reach beyond this machine, one line each, naming where each code server listens."""
    if settings.deployment.code_servers is None:
        return settings.deployment.warnings()
    return settings.deployment.warnings({server.domain.name: server.port for server in code_servers(settings)})
