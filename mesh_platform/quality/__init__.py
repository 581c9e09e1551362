"""Quality: the contract's rules as checks, evaluated on staged data before it is published."""

from mesh_platform.quality.evaluation import RuleResult, evaluate_rules
from mesh_platform.quality.rules import QualityRule, rules_for_contract

__all__ = ["QualityRule", "RuleResult", "evaluate_rules", "rules_for_contract"]
