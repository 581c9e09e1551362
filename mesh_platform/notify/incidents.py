"""What is wrong now, kept between sensor ticks, so each failure is told once: a check failing again before it
has passed (a retry, a rerun) is the same incident; once it passes, the next failure is a new one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Incidents:
    """The notice sensor's cursor: how far it has read, what is failing or late now, which majors it announced."""

    checks_read: dict[str, int] = field(default_factory=dict)  # check → the last execution read (its id)
    failing: set[str] = field(default_factory=set)  # checks whose last evaluation failed
    late: set[str] = field(default_factory=set)  # products whose freshness failed and has not passed since
    materializations_read: dict[str, int] = field(default_factory=dict)  # product → the last materialization read (storage id)
    announced: dict[str, int] = field(default_factory=dict)  # product → the newest major announced as a breaking change
    agreements_told: dict[str, list[str]] = field(default_factory=dict)  # agreement → the notices told of it (ending, ended)

    @classmethod
    def parse(cls, cursor: str | None) -> Incidents:
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(
            data.get("checks_read", {}),
            set(data.get("failing", [])),
            set(data.get("late", [])),
            data.get("materializations_read", {}),
            data.get("announced", {}),
            data.get("agreements_told", {}),
        )

    def cursor(self) -> str:
        return json.dumps(
            {
                "checks_read": self.checks_read,
                "failing": sorted(self.failing),
                "late": sorted(self.late),
                "materializations_read": self.materializations_read,
                "announced": self.announced,
                "agreements_told": self.agreements_told,
            },
            sort_keys=True,
        )

    def agreement_told(self, agreement: str, kind: str) -> bool:
        """Record that `kind` is told of `agreement`; True the first time (to be told), False after."""
        told = self.agreements_told.setdefault(agreement, [])
        if kind in told:
            return False
        told.append(kind)
        return True

    def check_evaluated(self, check: str, passed: bool) -> bool:
        """Record an evaluation of `check`; True when it starts a failure (to be told), False otherwise."""
        return _observed(self.failing, check, not passed)

    def freshness_evaluated(self, product: str, late: bool) -> bool:
        """Record the product's freshness state; True when it turns late (to be told)."""
        return _observed(self.late, product, late)


def _observed(open_now: set[str], key: str, wrong: bool) -> bool:
    if not wrong:
        open_now.discard(key)
        return False
    if key in open_now:
        return False
    open_now.add(key)
    return True
