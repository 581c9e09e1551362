"""Durations as people write them: `30d`, `12h`, `90min`, `2w`, `6mo`, `1y` (one count, one unit)."""

from __future__ import annotations

import datetime as dt
import re

UNITS: dict[str, dt.timedelta] = {}
for _names, _delta in (
    (("min", "mins", "minute", "minutes"), dt.timedelta(minutes=1)),
    (("h", "hr", "hrs", "hour", "hours"), dt.timedelta(hours=1)),
    (("d", "day", "days"), dt.timedelta(days=1)),
    (("w", "wk", "week", "weeks"), dt.timedelta(weeks=1)),
    (("mo", "month", "months"), dt.timedelta(days=30)),
    (("y", "yr", "year", "years"), dt.timedelta(days=365)),
):
    UNITS.update(dict.fromkeys(_names, _delta))

_DURATION = re.compile(r"(?P<count>\d+)\s*(?P<unit>[a-z]+)")
MAX_DIGITS = 12  # a count beyond this is no duration the calendar holds (and Python's int parsing has limits)


def parse_duration(text: str) -> dt.timedelta | None:
    """The duration `text` writes, None when it writes none; ValueError when it is one too long for the calendar."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or match["unit"] not in UNITS:
        return None
    shown = text if len(text) <= 24 else f"{text[:12]}…{text[-4:]}"
    if len(match["count"]) > MAX_DIGITS:
        raise ValueError(f"'{shown}' is longer than the calendar")
    try:
        return int(match["count"]) * UNITS[match["unit"]]
    except OverflowError:
        raise ValueError(f"'{shown}' is longer than the calendar") from None
