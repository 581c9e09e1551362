"""Meshes the benchmark builds: a repository (workspace, domain packages, product folders) in a folder.

The same layout `mesh new` writes, generated directly so a scenario can declare its
products' contracts to match its data.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import psutil
import yaml

PACKAGE = "benchmesh"


class BenchMesh:
    def __init__(self, root: Path):
        self.root = root
        self.home = root / ".mesh"
        self.landing = root / "landing"  # the mesh's landing zone (its default, outside MESH_HOME)
        self.domains: list[str] = []
        (root / PACKAGE).mkdir(parents=True, exist_ok=True)
        (root / PACKAGE / "__init__.py").write_text("")

    def env(self, warm: bool = False) -> dict[str, str]:
        return mesh_env(self.root, self.home, warm)

    def warm_workers(self, domains: Iterable[str] | None = None) -> list[psutil.Process]:
        """The warm workers of `domains` (default: every domain) running now (`runtime.worker`: each found by its
        socket's name on its command line), without the runs they forked (the same command line): their children."""
        from mesh_platform.runtime.worker import socket_name

        names = {socket_name(self.home / "dagster", domain)[1:] for domain in domains or self.domains}
        found = {}
        for process in psutil.process_iter(["cmdline", "ppid"]):
            line = process.info["cmdline"] or []
            if "mesh_platform.runtime.worker" in line and names & set(line):
                found[process.pid] = process
        return [process for process in found.values() if process.info["ppid"] not in found]

    def add_domain(self, domain: str) -> None:
        folder = self.root / PACKAGE / domain
        (folder / "defs").mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "definitions.py").write_text(
            "from mesh_platform import domain_definitions\n\ndefs = domain_definitions(__file__)\n"
        )
        self.domains.append(domain)
        locations = [
            {"python_module": {"module_name": f"{PACKAGE}.{d}.definitions", "working_directory": ".", "location_name": d}}
            for d in self.domains
        ]
        (self.root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": locations}, sort_keys=False))

    def add_product(self, domain: str, name: str, recipe: dict, contract: dict, files: dict[str, str] | None = None) -> None:
        folder = self.root / PACKAGE / domain / "defs" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "defs.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
        (folder / "contract.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
        for file_name, text in (files or {}).items():
            (folder / file_name).write_text(text)

    def land(self, domain: str, file: Path) -> None:
        """Deliver `file` to the domain's landing folder (a hard link where possible: no copy of big data)."""
        folder = self.landing / domain
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / file.name
        target.unlink(missing_ok=True)
        try:
            os.link(file, target)
        except OSError:
            shutil.copyfile(file, target)

    def land_folder(self, domain: str, folder: Path) -> None:
        """Deliver a folder of files (hard links where possible)."""
        target = self.landing / domain / folder.name
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copytree(folder, target, copy_function=os.link)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)


def mesh_env(root: Path, home: Path, warm: bool = False) -> dict[str, str]:
    """This environment, pointed at the mesh repository `root` and its state folder `home`. Without `warm`, each
    run is a process of the command's own (MESH_WARM_SECONDS=0): a warm worker's runs are its children, not the
    command's, and the harness counts their time and memory only where told to (`harness.Helpers`)."""
    env = {**os.environ, "MESH_ROOT": str(root), "MESH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    # As on a user's machine, Python caches the bytecode of what it compiles (a sandbox may turn that off): else
    # every command compiles the platform's modules again, which no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env if warm else {**env, "MESH_WARM_SECONDS": "0"}


def mesh_command(*args: str) -> list[str]:
    """The `mesh` command line for `args`, run with this interpreter."""
    return [sys.executable, "-m", "mesh_platform.cli.main", *args]


def column(name: str, logical: str, physical: str, **extra: object) -> dict:
    return {"name": name, "logicalType": logical, "physicalType": physical, "classification": "internal", **extra}


def contract(domain: str, name: str, columns: list[dict], quality: list[dict] | None = None) -> dict:
    """An ODCS v3.1 contract a product of the bench publishes under (public, daily)."""
    table: dict = {"name": name, "physicalType": "table", "properties": columns}
    if quality:
        table["quality"] = quality
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"urn:mesh:{domain}:{name}",
        "version": "1.0.0",
        "status": "active",
        "name": name,
        "domain": domain,
        "description": {"purpose": f"The {name} of the {domain} benchmark domain, generated data."},
        "team": {"name": domain, "members": [{"username": "bench@example.com", "role": "owner"}]},
        "schema": [table],
        "slaProperties": [{"property": "frequency", "value": 1, "unit": "d"}, {"property": "latency", "value": 2, "unit": "h"}],
        "customProperties": [{"property": "access", "value": "public"}],
    }


def sql_recipe(inputs: list[str], sql: str) -> dict:
    return {"type": "mesh_platform.recipes.SqlProduct", "attributes": {"inputs": inputs, "sql": sql}}


def source_recipe(path: str, **options: object) -> dict:
    attributes: dict = {"path": path}
    if options:
        attributes["options"] = options
    return {"type": "mesh_platform.recipes.SourceProduct", "attributes": attributes}
