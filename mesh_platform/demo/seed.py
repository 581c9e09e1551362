"""Demo source data: deterministic, realistic and as messy as real exports.

`mesh seed --rows N` writes the landing files of the five demo domains into the
mesh's landing zone (`landing/` by default). The same seed and size always give the same files. The
mess is deliberate: countries written many ways ('US', 'USA', 'U.S.', 'United
States', 'Japan'…), missing values, duplicate rows and events, events out of
order, and customer identifiers that differ between domains (the shop's
`S-…` customer number in sales, the CRM's `C…` customer id in customers).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mesh_platform.core.owner_only import private_folder
from mesh_platform.core.settings import MeshSettings
from mesh_platform.demo import DEFAULT_ROWS

# Countries and the ways people write them; weights shape the demo's market.
COUNTRY_SPELLINGS = {
    "US": ["US", "USA", "U.S.", "United States", "united states", "U.S.A."],
    "JP": ["JP", "Japan", "JPN", "japan"],
    "DE": ["DE", "Germany", "DEU"],
    "GB": ["GB", "UK", "United Kingdom", "U.K."],
    "FR": ["FR", "France"],
    "BR": ["BR", "Brazil", "Brasil"],
}
COUNTRY_WEIGHTS = {"US": 0.38, "JP": 0.22, "DE": 0.14, "GB": 0.12, "FR": 0.08, "BR": 0.06}
START = dt.date(2026, 1, 1)
DEMO_SOURCE_DOMAINS = ("customers", "sales", "web_analytics", "marketing")  # the domains whose files mesh seed writes
DAYS = 180


@dataclass(frozen=True)
class SeedSummary:
    files: dict[str, int]  # landing file (relative to the landing zone) → rows

    def total_rows(self) -> int:
        return sum(self.files.values())


def seed_demo(settings: MeshSettings, rows: int = DEFAULT_ROWS, seed: int = 7) -> SeedSummary:
    """Write every demo domain's landing files; `rows` is the number of sales orders."""
    if rows < 10:
        raise ValueError("rows must be at least 10")
    rng = np.random.default_rng(seed)
    customers = _customers(rng, max(rows // 4, 20), seed)
    written: dict[str, int] = {}

    def write(domain: str, name: str, frame: pd.DataFrame) -> None:
        path = settings.landing_dir(domain) / name
        private_folder(path.parent)  # the feeds hold personal data (e-mail addresses): their owner's only
        if name.endswith(".csv"):
            frame.to_csv(path, index=False)
        elif name.endswith(".jsonl"):
            with path.open("w") as out:
                for record in frame.to_dict(orient="records"):
                    out.write(json.dumps(record, default=str) + "\n")
        else:
            frame.to_parquet(path, index=False)
        written[str(path.relative_to(settings.landing_root))] = len(frame)

    for domain in DEMO_SOURCE_DOMAINS:
        folder = private_folder(settings.landing_dir(domain))
        for old in folder.rglob("*"):
            if old.is_file():
                old.unlink()  # what replaces it is written anew, with the owner-only mode

    write("customers", "customer_events.jsonl", _customer_events(rng, customers))
    orders = _orders(rng, customers, rows)
    half = len(orders) // 2
    write("sales", "orders/export_0001.csv", orders.iloc[:half])
    write("sales", "orders/export_0002.csv", orders.iloc[half:])
    write("web_analytics", "page_views/page_views.parquet", _page_views(rng, customers, rows * 3))
    write("marketing", "campaigns.csv", _campaigns())
    return SeedSummary(written)


def _spell(rng: np.random.Generator, code: str) -> str:
    spellings = COUNTRY_SPELLINGS[code]
    return spellings[rng.integers(len(spellings))]


def _countries(rng: np.random.Generator, size: int) -> np.ndarray:
    codes = list(COUNTRY_WEIGHTS)
    return rng.choice(codes, size=size, p=list(COUNTRY_WEIGHTS.values()))


def _customers(rng: np.random.Generator, count: int, seed: int) -> pd.DataFrame:
    from faker import Faker

    fake = Faker()
    Faker.seed(seed)
    numbers = np.arange(1, count + 1)
    names = [fake.name() for _ in numbers]
    return pd.DataFrame(
        {
            "customer_id": [f"C{n:06d}" for n in numbers],
            "sales_customer_number": [f"S-{10000 + n * 7}" for n in numbers],
            "full_name": names,
            "email": [f"{_email_local(name)}{n}@example.com" for name, n in zip(names, numbers)],
            "country": _countries(rng, count),
            "birth_date": [START - dt.timedelta(days=int(d)) for d in rng.integers(18 * 365, 80 * 365, count)],
            "signup_day": rng.integers(0, DAYS // 2, count),
        }
    )


def _email_local(name: str) -> str:
    return "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")


def _customer_events(rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
    """Change events of the CRM: inserts, later updates and deletes; some duplicated, all shuffled."""
    events = []
    sequence = 0
    for row in customers.itertuples():
        sequence += 1
        signup = START + dt.timedelta(days=int(row.signup_day))
        base = {
            "customer_id": row.customer_id,
            "sales_customer_number": row.sales_customer_number,
            "full_name": row.full_name,
            "email": row.email,
            "country": _spell(rng, row.country),
            "birth_date": None if rng.random() < 0.15 else row.birth_date.isoformat(),
            "signup_date": signup.isoformat(),
        }
        events.append({**base, "op": "insert", "sequence": sequence, "event_time": f"{signup}T09:00:00"})
        change_day = signup
        for _ in range(rng.integers(0, 3)):
            sequence += 1
            change_day += dt.timedelta(days=int(rng.integers(1, 30)))
            moved = rng.random() < 0.3
            update = {**base, "email": base["email"].replace("@", f"+{sequence}@") if rng.random() < 0.5 else base["email"]}
            if moved:
                update["country"] = _spell(rng, str(rng.choice(list(COUNTRY_WEIGHTS))))
            events.append({**update, "op": "update", "sequence": sequence, "event_time": f"{change_day}T12:00:00"})
            base = update
        if rng.random() < 0.05:
            sequence += 1
            events.append(
                {**base, "op": "delete", "sequence": sequence, "event_time": f"{change_day + dt.timedelta(days=3)}T18:00:00"}
            )
    frame = pd.DataFrame(events)
    frame.insert(0, "event_id", [f"E{n:08d}" for n in range(1, len(frame) + 1)])
    duplicates = frame.sample(frac=0.03, random_state=int(rng.integers(1 << 31)))
    frame = pd.concat([frame, duplicates], ignore_index=True)
    return frame.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)


def _orders(rng: np.random.Generator, customers: pd.DataFrame, count: int) -> pd.DataFrame:
    buyers = customers.sample(n=count, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    days = rng.integers(0, DAYS, count)
    weekday_boost = np.array([1.0, 1.0, 1.05, 1.1, 1.25, 1.4, 1.2])
    amounts = np.round(rng.gamma(2.2, 38.0, count) * weekday_boost[(days + START.weekday()) % 7], 2)
    frame = pd.DataFrame(
        {
            "order_id": [f"O{n:07d}" for n in range(1, count + 1)],
            "customer_number": buyers["sales_customer_number"],
            "order_date": [(START + dt.timedelta(days=int(d))).isoformat() for d in days],
            "country": [_spell(rng, c) for c in buyers["country"]],
            "amount_usd": amounts.astype(object),
            "status": rng.choice(["completed", "Completed", "cancelled", "refunded"], size=count, p=[0.78, 0.1, 0.08, 0.04]),
        }
    )
    frame.loc[rng.random(count) < 0.02, "amount_usd"] = None
    frame.loc[rng.random(count) < 0.01, "country"] = None
    duplicates = frame.sample(frac=0.04, random_state=int(rng.integers(1 << 31)))
    return pd.concat([frame, duplicates], ignore_index=True).sort_values("order_date", kind="stable").reset_index(drop=True)


def _page_views(rng: np.random.Generator, customers: pd.DataFrame, count: int) -> pd.DataFrame:
    """Clickstream: visitors browse in bursts (sessions); logged-in visitors carry a customer id."""
    visitors = max(count // 12, 10)
    visitor_country = _countries(rng, visitors)
    known = customers.sample(n=min(visitors // 2, len(customers)), random_state=int(rng.integers(1 << 31)))
    visitor_customer = np.array([None] * visitors, dtype=object)
    visitor_customer[: len(known)] = known["customer_id"].to_numpy()
    pages = ["/", "/products", "/products/shoes", "/products/bags", "/cart", "/checkout", "/help", "/sale"]
    rows = []
    view = 0
    while view < count:
        visitor = int(rng.integers(visitors))
        start = dt.datetime.combine(START, dt.time()) + dt.timedelta(minutes=int(rng.integers(0, DAYS * 24 * 60)))
        at = start
        for _ in range(int(rng.integers(1, 9))):
            view += 1
            rows.append(
                {
                    "view_id": f"V{view:08d}",
                    "visitor_id": f"visitor-{visitor:05d}",
                    "customer_id": visitor_customer[visitor] if rng.random() > 0.1 else None,
                    "url": pages[int(rng.integers(len(pages)))],
                    "viewed_at": at,
                    "country": _spell(rng, visitor_country[visitor]),
                    "device": ["mobile", "desktop", "tablet"][int(rng.integers(3))],
                }
            )
            at += dt.timedelta(seconds=int(rng.integers(5, 600)))
    return pd.DataFrame(rows[:count])


def _campaigns() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("CMP-001", "Spring sale US", "email", "United States", "2026-03-01", "2026-03-21", 25000),
            ("CMP-002", "Golden Week Japan", "email", "Japan", "2026-04-25", "2026-05-06", 18000),
            ("CMP-003", "Summer preview", "social", "UK", "2026-06-01", "2026-06-30", 12000),
            ("CMP-004", "Japan summer", "display", "JP", "2026-07-01", "2026-08-15", 22000),
            ("CMP-005", "Back to school", "email", "U.S.", "2026-08-01", "2026-09-10", 30000),
        ],
        columns=["campaign_id", "name", "channel", "country", "start_date", "end_date", "budget_usd"],
    )
