"""Storage: each domain's private DuckDB workspace and the versioned Delta Lake ports."""

from mesh_platform.storage.domain_database import DomainDatabase
from mesh_platform.storage.ports import Port, PortVersion

__all__ = ["DomainDatabase", "Port", "PortVersion"]
