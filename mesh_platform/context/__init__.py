"""One context per command and per code location (`MeshContext`)."""

from mesh_platform.context.mesh_context import MeshContext

__all__ = ["MeshContext"]
