"""Storage: the versioned Delta Lake ports, and each domain's private DuckDB workspace."""

from mesh_platform.storage.domain_database import DomainWorkspace
from mesh_platform.storage.ports import Port, PortStore, PortVersion

__all__ = ["DomainWorkspace", "Port", "PortStore", "PortVersion"]
