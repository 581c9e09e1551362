"""The domain's Dagster code location: every product folder under defs/, wired by the platform."""

from mesh_platform import domain_definitions

defs = domain_definitions(__file__)
