"""Governance as code: policies over products, checked by `mesh check` for the whole mesh."""

from mesh_platform.governance.check import CheckReport, check_mesh
from mesh_platform.governance.policies import Finding, Policy, Violation, policy

__all__ = ["CheckReport", "Finding", "Policy", "Violation", "check_mesh", "policy"]
