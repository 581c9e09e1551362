"""Freshness against the contract's SLA: is a product's latest data younger than it promised?

A product is late once its last successful build is older than one update
interval (`frequency`) plus the allowed `latency` — the same window as the
freshness policy its Dagster asset carries, so the CLI and the UI agree.

A partitioned product is judged on its data's time rather than its build's: on
its newest materialized partition, which is late once the time since that
partition ended exceeds the same window (a daily product whose newest day is two
days old has missed a day, however recently an old day was rebuilt).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from mesh_platform.contract.model import Contract

State = Literal["fresh", "late", "never run", "no SLA"]


@dataclass(frozen=True)
class Freshness:
    state: State
    last_update: dt.datetime | None = None
    due_by: dt.datetime | None = None  # when it turns (or turned) late
    latest_partition: str | None = None  # a partitioned product's newest materialized partition


def allowed_age(contract: Contract) -> dt.timedelta | None:
    """How old the product's data may get: frequency + latency (None without either SLA)."""
    if contract.frequency is None and contract.latency is None:
        return None
    return (contract.frequency.duration if contract.frequency else dt.timedelta()) + (
        contract.latency.duration if contract.latency else dt.timedelta()
    )


def freshness(contract: Contract, last_update: dt.datetime | None, now: dt.datetime | None = None) -> Freshness:
    """The product's freshness state at `now` (UTC, default the current time)."""
    now = now or dt.datetime.now(dt.UTC)
    window = allowed_age(contract)
    if last_update is None:
        return Freshness("never run")
    if window is None:
        return Freshness("no SLA", last_update)
    due = last_update + window
    return Freshness("fresh" if now <= due else "late", last_update, due)


def partition_freshness(
    contract: Contract, latest_partition: str | None, last_update: dt.datetime | None, now: dt.datetime | None = None
) -> Freshness:
    """A partitioned product's freshness at `now`: late once its newest materialized partition ended longer ago than the
    SLA allows."""
    assert contract.partitioning is not None, "a partitioned product's"
    now = now or dt.datetime.now(dt.UTC)
    window = allowed_age(contract)
    if latest_partition is None:
        return Freshness("never run")
    if window is None:
        return Freshness("no SLA", last_update, latest_partition=latest_partition)
    ended = contract.partitioning.window(latest_partition).end.replace(tzinfo=dt.UTC)
    due = ended + window
    return Freshness("fresh" if now <= due else "late", last_update, due, latest_partition)
