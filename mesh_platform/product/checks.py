"""The checks every product has: `governance` (its policies), then one per quality rule and glossary term."""

from __future__ import annotations

from mesh_platform.contract.model import Contract
from mesh_platform.core.errors import ContractError
from mesh_platform.governance.glossary import Glossary, rules_with_terms

GOVERNANCE_CHECK = "governance"
NOT_CHECKED = "not checked"  # the metadata of a check that had nothing to compare with yet (it passes, said so)


def check_names(contract: Contract, glossary: Glossary) -> list[tuple[str, str]]:
    """(check name, severity) of each of the product's asset checks, as its Dagster asset declares them."""
    try:
        rules = rules_with_terms(contract, glossary)
    except ContractError:
        rules = []
    return [(GOVERNANCE_CHECK, "error"), *((rule.name, rule.severity) for rule in rules)]
