"""The mesh's clock: the time builds record as their publish time and retention counts from.

The real time, unless a test or a rehearsal fixes it (`Clock.at`): then 30 "daily" builds can
happen in seconds. A build gets its clock from the port store's resource, never from the environment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    fixed: dt.datetime | None = None  # None: the real time

    @classmethod
    def at(cls, text: str | None) -> Clock:
        """The clock fixed at an ISO 8601 time (UTC unless it says), or the real one for None."""
        if not text:
            return cls()
        moment = dt.datetime.fromisoformat(text)
        return cls(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))

    def now(self) -> dt.datetime:
        return self.fixed if self.fixed is not None else dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().date()
