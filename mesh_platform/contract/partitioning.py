"""Time partitions of a product: which column, what grain, from when; and the window a build covers.

A contract partitions its product with the ODCS fields of one date or timestamp
column, `partitioned: true` and `partitionKeyPosition: 1`, plus two column-level
`customProperties`: `partitionGrain` (hourly, daily — the default — or monthly)
and `partitionStart` (the first partition, `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM`
for hourly). Partition keys are spelled as Dagster spells them (`2026-11-01`,
`2026-11-01-13:00`), so the CLI, the UI and the port's history agree.

A `Window` is what one build computes, checks and replaces: one partition or a
range of them, `[start, end)` in UTC; the partitioning turns it into a DuckDB
condition on its column and into the predicate of the port's Delta commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from mesh_platform.core.sql import quote

Grain = Literal["hourly", "daily", "monthly"]
GRAINS: tuple[Grain, ...] = get_args(Grain)
PERIODS: dict[str, str] = {"hourly": "hour", "daily": "day", "monthly": "month"}
GRAIN_LENGTHS: dict[str, dt.timedelta] = {
    "hourly": dt.timedelta(hours=1),
    "daily": dt.timedelta(days=1),
    "monthly": dt.timedelta(days=28),
}  # the shortest
KEY_FORMATS: dict[str, str] = {"hourly": "%Y-%m-%d-%H:%M", "daily": "%Y-%m-%d", "monthly": "%Y-%m-%d"}
PARTITION_TYPES = ("date", "timestamp")  # the logical types a partition column may have


@dataclass(frozen=True)
class Window:
    """The partitions one build covers: keys `first`…`last`, rows with `start <= column < end` (UTC)."""

    first: str
    last: str
    start: dt.datetime
    end: dt.datetime

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}…{self.last}"

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Partitioning:
    """How a product is partitioned: its partition column, the grain and the first partition's start (UTC)."""

    column: str
    physical_type: str  # the column's DuckDB type (DATE, TIMESTAMP, TIMESTAMPTZ…)
    grain: Grain
    start: dt.datetime

    @property
    def numpy_unit(self) -> str:
        """numpy's datetime unit of the grain: a value cast to it is its partition's start."""
        return {"hourly": "h", "daily": "D", "monthly": "M"}[self.grain]

    @property
    def key_format(self) -> str:
        return KEY_FORMATS[self.grain]

    @property
    def start_key(self) -> str:
        return self.start.strftime(self.key_format)

    def condition(self, window: Window) -> str:
        """The DuckDB condition selecting the rows of `window` by the partition column."""
        kind = _sql_kind(self.physical_type)
        return f"{quote(self.column)} >= {_literal(window.start, kind)} AND {quote(self.column)} < {_literal(window.end, kind)}"

    def delta_predicate(self, window: Window) -> str:
        """The same condition as Delta Lake's `predicate` (DataFusion SQL) takes it: strings, cast to the column's type."""
        kind = _sql_kind(self.physical_type)
        text = "%Y-%m-%d" if kind == "DATE" else "%Y-%m-%dT%H:%M:%S" + ("Z" if kind == "TIMESTAMPTZ" else "")
        return f"\"{self.column}\" >= '{window.start:{text}}' AND \"{self.column}\" < '{window.end:{text}}'"

    def starts_partition(self, moment: dt.datetime) -> bool:
        return self._floor(moment) == moment.replace(tzinfo=None)

    def key_of(self, moment: dt.datetime) -> str:
        """The key of the partition holding `moment` (UTC)."""
        return self._floor(moment).strftime(self.key_format)

    def window(self, first: str, last: str | None = None) -> Window:
        """The window of partitions `first`…`last` (one partition when `last` is None). Raises `ValueError` naming a bad key."""
        start = self._parse(first)
        end = self.end_of(self._parse(last if last is not None else first))
        if end <= start:
            raise ValueError(f"partition range {first}…{last} ends before it starts")
        return Window(first, last if last is not None else first, start, end)

    def last_key(self, now: dt.datetime | None = None) -> str:
        """The newest complete partition (as Dagster's partitions end: the one before the current, still open one)."""
        now = now or dt.datetime.now(dt.UTC)
        current = self._floor(now.astimezone(dt.UTC).replace(tzinfo=None))
        return self._previous(current).strftime(self.key_format)

    def covers_all(self, window: Window, now: dt.datetime | None = None) -> bool:
        """Whether `window` holds every partition up to the newest complete one (a full rebuild)."""
        last = self.last_key(now)
        if last < self.start_key:  # no partition is complete yet (keys of one grain sort as their times)
            return window.start <= self.start
        return window.start <= self.start and window.end >= self._next(self._parse(last))

    def end_of(self, moment: dt.datetime) -> dt.datetime:
        """When the partition starting at `moment` ends; `ValueError` for one the calendar cannot end (9999-12-31)."""
        try:
            return self._next(moment)
        except (OverflowError, ValueError):
            raise ValueError(
                f"the {self.grain} partition {moment.strftime(self.key_format)} would end after 9999-12-31, beyond the calendar"
            ) from None

    def _parse(self, key: str) -> dt.datetime:
        try:
            moment = dt.datetime.strptime(key, self.key_format)
        except ValueError:
            example = self.start.strftime(self.key_format)
            raise ValueError(f"'{key}' is not a {self.grain} partition key of {self.column} (write it like {example})") from None
        if not self.starts_partition(moment):
            raise ValueError(f"'{key}' is not the start of a {self.grain} partition (monthly partitions start on the 1st)")
        if moment < self.start:
            raise ValueError(f"partition '{key}' is before the first partition, {self.start_key} (partitionStart)")
        return moment

    def _floor(self, moment: dt.datetime) -> dt.datetime:
        moment = moment.replace(tzinfo=None)
        match self.grain:
            case "hourly":
                return moment.replace(minute=0, second=0, microsecond=0)
            case "daily":
                return moment.replace(hour=0, minute=0, second=0, microsecond=0)
            case _:
                return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def _next(self, moment: dt.datetime) -> dt.datetime:
        match self.grain:
            case "hourly":
                return moment + dt.timedelta(hours=1)
            case "daily":
                return moment + dt.timedelta(days=1)
            case _:
                return (moment.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    def _previous(self, moment: dt.datetime) -> dt.datetime:
        match self.grain:
            case "hourly":
                return moment - dt.timedelta(hours=1)
            case "daily":
                return moment - dt.timedelta(days=1)
            case _:
                return (moment - dt.timedelta(days=1)).replace(day=1)


def _sql_kind(physical_type: str) -> str:
    upper = physical_type.upper()
    if upper == "DATE":
        return "DATE"
    return "TIMESTAMPTZ" if "TZ" in upper or "TIME ZONE" in upper else "TIMESTAMP"


def _literal(moment: dt.datetime, kind: str) -> str:
    if kind == "DATE":
        return f"DATE '{moment:%Y-%m-%d}'"
    if kind == "TIMESTAMPTZ":
        return f"TIMESTAMPTZ '{moment:%Y-%m-%d %H:%M:%S}+00:00'"
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"
