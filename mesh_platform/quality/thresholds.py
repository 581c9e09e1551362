"""ODCS v3.1 comparison operators (`mustBe`, `mustBeLessThan`, …) as a value test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


@dataclass(frozen=True)
class Threshold:
    operator: str
    value: Any

    @classmethod
    def declared(cls, rule: Any) -> Threshold | None:
        """The threshold an ODCS quality rule (its `DataQuality` model) states, if any."""
        for operator in OPERATORS:
            if (value := getattr(rule, operator, None)) is not None:
                return cls(operator, value)
        return None

    @classmethod
    def from_rule(cls, rule: Any, default: Threshold) -> Threshold:
        return cls.declared(rule) or default

    def holds(self, observed: float) -> bool:
        value = self.value
        match self.operator:
            case "mustBe":
                return observed == value
            case "mustNotBe":
                return observed != value
            case "mustBeGreaterThan":
                return observed > value
            case "mustBeGreaterOrEqualTo":
                return observed >= value
            case "mustBeLessThan":
                return observed < value
            case "mustBeLessOrEqualTo":
                return observed <= value
            case "mustBeBetween":
                return value[0] <= observed <= value[1]
            case _:
                return not value[0] <= observed <= value[1]

    def __str__(self) -> str:
        words = {
            "mustBe": "=",
            "mustNotBe": "≠",
            "mustBeGreaterThan": ">",
            "mustBeGreaterOrEqualTo": "≥",
            "mustBeLessThan": "<",
            "mustBeLessOrEqualTo": "≤",
        }
        if self.operator in words:
            return f"{words[self.operator]} {self.value}"
        between = "between" if self.operator == "mustBeBetween" else "not between"
        return f"{between} {self.value[0]} and {self.value[1]}"


ZERO = Threshold("mustBe", 0)
NON_EMPTY = Threshold("mustBeGreaterThan", 0)
