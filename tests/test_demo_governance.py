"""Governance on the demo mesh: countries normalized on publish, the customer crosswalk, both
"active user" meanings from the same clicks, and masking between the demo domains."""

import datetime as dt

import pandas as pd
import pytest

from mesh_platform import read_product
from mesh_platform.core.countries import iso_alpha2_codes, iso_country_code
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.governance.glossary import load_glossary

from .conftest import REPO, owner_read

pytestmark = pytest.mark.slow


def test_country_values_from_every_demo_source_are_iso_codes_after_publish(demo_mesh):
    iso = iso_alpha2_codes()

    raw = owner_read("mesh://sales/raw_orders").drop_duplicates("order_id").set_index("order_id")["country"]
    orders = owner_read("mesh://sales/orders").set_index("order_id")["country_code"]
    assert raw.nunique() >= 10  # 'US', 'USA', 'U.S.', 'United States', 'Japan', 'JPN'…
    assert all(
        (orders[i] is None and (raw[i] is None or iso_country_code(raw[i]) is None)) or orders[i] == iso_country_code(raw[i])
        for i in orders.index
    )

    events = owner_read("mesh://customers/change_events").sort_values("sequence").drop_duplicates("customer_id", keep="last")
    profiles = owner_read("mesh://customers/profiles").set_index("customer_id")["country_code"]
    latest = events.set_index("customer_id")["country"]
    assert {profiles[c] for c in profiles.index} <= iso
    assert all(profiles[c] == iso_country_code(latest[c]) for c in profiles.index)
    assert latest.nunique() > profiles.nunique()  # several spellings became one code each

    views = owner_read("mesh://web_analytics/page_views")
    sessions = owner_read("mesh://web_analytics/sessions")
    visitor_country = views.groupby("visitor_id")["country"].agg(lambda spellings: {iso_country_code(s) for s in spellings})
    assert all(len(codes) == 1 for codes in visitor_country)
    assert set(sessions["country_code"]) <= iso
    assert all(row.country_code in visitor_country[row.visitor_id] for row in sessions.itertuples())

    landing = pd.read_csv(demo_mesh.settings.landing_dir("marketing") / "campaigns.csv")
    assert set(landing["country"]) == {"United States", "Japan", "UK", "JP", "U.S."}
    campaigns = owner_read("mesh://marketing/campaigns").set_index("campaign_id")["country"].to_dict()
    assert campaigns == {"CMP-001": "US", "CMP-002": "JP", "CMP-003": "GB", "CMP-004": "JP", "CMP-005": "US"}


def test_the_customer_crosswalk_joins_sales_to_customers(demo_mesh):
    address, sales_column, crm_column = load_glossary(REPO / "governance" / "glossary.yaml").crosswalk(
        "customer", "sales", "customers"
    )
    keys = read_product(address, consumer="sales")  # customer_keys is public: sales reads it
    orders = owner_read("mesh://sales/orders")
    joined = orders.merge(keys, left_on="customer_number", right_on=sales_column, how="left")
    assert joined[crm_column].notna().all()
    # The seed numbers the shop's customer S-(10000 + 7n) and the CRM's C(n): the crosswalk agrees.
    truth = joined["customer_number"].map(lambda number: f"C{(int(number[2:]) - 10000) // 7:06d}")
    assert (joined[crm_column] == truth).all()

    profiles = read_product("mesh://customers/profiles", consumer="marketing")
    customer_360 = owner_read("mesh://marketing/customer_360").set_index("customer_id")
    completed = joined[joined["status"] == "completed"].groupby(crm_column).size()
    for customer_id in profiles["customer_id"]:
        assert customer_360.loc[customer_id, "lifetime_orders"] == completed.get(customer_id, 0)


def test_both_active_user_meanings_come_from_the_same_clicks(demo_mesh):
    sessions = owner_read("mesh://web_analytics/sessions")
    orders = owner_read("mesh://sales/orders")
    keys = owner_read("mesh://customers/customer_keys")

    web = owner_read("mesh://web_analytics/visitor_activity").set_index("visitor_id")
    as_of = sessions["ended_at"].max().date()
    recent = sessions[sessions["started_at"].dt.date > as_of - dt.timedelta(days=7)]
    assert set(web.index[web["is_active"]]) == set(recent["visitor_id"])

    marketing = owner_read("mesh://marketing/customer_360").set_index("customer_id")
    as_of_30 = max(as_of, orders["order_date"].max())
    window_start = as_of_30 - dt.timedelta(days=30)
    visited = set(sessions.loc[sessions["started_at"].dt.date > window_start, "customer_id"].dropna())
    completed = orders[orders["status"] == "completed"].merge(keys, on="customer_number")
    bought = set(completed.groupby("customer_id")["order_date"].max().loc[lambda d: d > window_start].index)
    assert set(marketing.index[marketing["is_active"]]) == (visited | bought) & set(marketing.index)

    # The glossary's relation holds: every logged-in 7-day active user is a 30-day active customer.
    web_customers = set(web.loc[web["is_active"], "customer_id"].dropna()) & set(marketing.index)
    assert web_customers <= set(marketing.index[marketing["is_active"]])
    assert marketing["is_active"].sum() > len(web_customers)


def test_demo_builds_read_across_domains_masked_unless_granted(demo_mesh):
    # profiles grants marketing the clear e-mail, so customer_360 holds real addresses…
    customer_360 = owner_read("mesh://marketing/customer_360")
    assert customer_360["email"].str.endswith("@example.com").all()
    # …planning reads campaign_audience (restricted to it) with the e-mail hashed.
    audience = read_product("mesh://marketing/campaign_audience", consumer="planning")
    assert audience["email"].str.fullmatch(r"[0-9a-f]{64}").all()
    reads = AccessLog(demo_mesh.settings.access_log_file).entries()
    builds = {(e.consumer, e.product) for e in reads if e.via.startswith("build of")}
    assert ("marketing", "mesh://customers/profiles") in builds
    assert ("planning", "mesh://marketing/campaign_audience") in builds
    profile_read = next(e for e in reads if e.consumer == "marketing" and e.product == "mesh://customers/profiles")
    assert profile_read.clear == ["email"] and profile_read.dropped == ["birth_date"] and "full_name" in profile_read.hashed


def test_no_port_holds_a_clear_personal_value(demo_mesh):
    """Read as an outside engine reads a port (polars, straight from the Delta files the exported contract
    names): every personal column holds keyed tokens. Through the platform, the owner and the granted
    consumers still read the clear values."""
    import polars as pl

    from mesh_platform import Catalog
    from mesh_platform.storage import PortStore

    ports = PortStore.of(demo_mesh.settings)
    checked = 0
    for product in Catalog.load(demo_mesh.settings.root).products.values():
        personal = [c.name for c in product.contract.columns if c.is_personal]
        if not personal:
            continue
        frame = pl.read_delta(ports.port(product.port_address).uri)
        for name in personal:
            values = frame[name].drop_nulls().cast(pl.Utf8)
            assert values.str.contains(r"^[0-9a-f]{64}$").all(), f"{product.address}.{name} holds clear values"
            checked += 1
    assert checked >= 5
    clear = owner_read("mesh://customers/profiles")
    assert clear["email"].str.endswith("@example.com").all()
    assert all(isinstance(day, dt.date) for day in clear["birth_date"].dropna())  # joined back in the contract's type
    granted = read_product("mesh://customers/profiles", consumer="marketing")
    assert granted["email"].str.endswith("@example.com").all() and "birth_date" not in granted
    vault = demo_mesh.settings.home / "vault"
    assert oct(vault.stat().st_mode & 0o777) == "0o700" and oct((vault / "customers").stat().st_mode & 0o777) == "0o700"
    assert oct(demo_mesh.settings.domain_database("customers").parent.stat().st_mode & 0o777) == "0o700"
    assert oct(demo_mesh.settings.ports_root.stat().st_mode & 0o777) == "0o700"
