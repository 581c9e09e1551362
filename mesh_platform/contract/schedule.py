"""Service levels in time: SLA durations, and the cron schedules a product is rebuilt on.

Cron strings are validated the way Dagster validates them (`croniter`, the parser
Dagster vendors, plus Dagster's own rules: five fields, no 30th or 31st of
February), without importing Dagster, so `mesh check` stays fast and refuses
exactly what a code location would refuse.
"""

from __future__ import annotations

import datetime as dt

FEBRUARY = 2


def is_valid_cron(text: str) -> bool:
    """Whether Dagster accepts `text` as a cron schedule."""
    from croniter import croniter

    if not croniter.is_valid(text):
        return False
    fields, *_ = croniter.expand(text)
    if len(fields) != 5:  # Dagster schedules have minute resolution: no seconds field
        return False
    days, months = fields[2], fields[3]
    return not (months == [FEBRUARY] and len(days) == 1 and days[0] in (30, 31))


def cron_for_interval(interval: dt.timedelta) -> str:
    """A cron schedule that ticks once per `interval` (rounded to what cron can say)."""
    minutes = int(interval.total_seconds() // 60)
    if minutes < 60:
        return f"*/{max(minutes, 1)} * * * *"
    if minutes < 24 * 60:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    days = minutes // (24 * 60)
    if days == 1:
        return "0 0 * * *"
    if days < 7:
        return f"0 0 */{days} * *"
    if days < 28:
        return "0 0 * * 1"
    if days < 365:
        return "0 0 1 * *"
    return "0 0 1 1 *"


def format_duration(delta: dt.timedelta) -> str:
    """`1 day, 4:00:00` → `28h`; the largest unit that divides the duration."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
