"""The checks every product has: `governance` (its policies), then one per quality rule and glossary term."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesh_platform.core.errors import ContractError
from mesh_platform.quality.rules import rules_for_contract

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.governance.glossary import Glossary

GOVERNANCE_CHECK = "governance"


def check_names(product: Product, glossary: Glossary | None) -> list[tuple[str, str]]:
    """(check name, severity) of each of the product's asset checks, as its Dagster asset declares them."""
    try:
        rules = rules_for_contract(product.contract, glossary)
    except ContractError:
        rules = []
    return [(GOVERNANCE_CHECK, "error"), *((rule.name, rule.severity) for rule in rules)]
