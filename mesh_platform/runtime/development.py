"""A development namespace (`mesh materialize --dev`): what it holds, and throwing it away.

A namespace is one folder, `MESH_HOME/dev/<name>`: its ports and vault, its domains' DuckDB
files, its Dagster instance and its run logs. Nothing outside it is written by its builds, so
deleting the folder throws the namespace away and leaves the mesh as it was.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mesh_platform.core.settings import MeshSettings
from mesh_platform.storage.ports import DevPortStore, PortStore, PortVersion


@dataclass(frozen=True)
class DevPort:
    """A port of the namespace: what it serves, and its current version."""

    address: str
    uri: str
    latest: PortVersion | None = field(metadata={"json_name": None})
    json_properties: ClassVar[tuple[str, ...]] = ("version", "rows", "published_at", "contract_version")

    @property
    def version(self) -> int | None:
        return self.latest.version if self.latest else None

    @property
    def rows(self) -> int | None:
        return self.latest.rows if self.latest else None

    @property
    def published_at(self) -> dt.datetime | None:
        return self.latest.published_at if self.latest else None

    @property
    def contract_version(self) -> str | None:
        return self.latest.contract_version if self.latest else None


@dataclass(frozen=True)
class Namespace:
    name: str = field(metadata={"json_name": "namespace"})
    folder: Path
    ports: tuple[DevPort, ...]
    exists: bool  # whether its folder was there when it was looked at


def namespace(settings: MeshSettings, name: str | None = None) -> Namespace:
    """The development namespace `name` (default: the user's) of the mesh `settings` describe, and its ports."""
    dev = settings.published.in_dev(name)
    store = PortStore.of(dev)
    assert isinstance(store, DevPortStore)
    ports = tuple(DevPort(str(port.address), port.uri, port.latest()) for port in store.own_ports())
    return Namespace(dev.dev.name if dev.dev else "", dev.dev_home, ports, dev.dev_home.exists())


def reset_namespace(settings: MeshSettings, name: str | None = None) -> Namespace:
    """Throw the namespace away (delete its folder); what it held."""
    found = namespace(settings, name)
    if found.exists:
        shutil.rmtree(found.folder)
    return found
