"""Campaign audiences: active customers in each campaign's target country, segmented by value."""

import pandas as pd

HIGH_VALUE_QUANTILE = 0.75


def build(customer_360: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    customers = customer_360[customer_360["is_active"]].copy()
    revenue = customers["lifetime_revenue_usd"].astype(float)
    threshold = revenue.quantile(HIGH_VALUE_QUANTILE) if len(customers) else 0.0
    customers["segment"] = (revenue >= threshold).map({True: "high_value", False: "active"})
    targets = campaigns.rename(columns={"country": "country_code"})  # both carry the glossary's ISO codes
    audience = targets[["campaign_id", "country_code"]].merge(customers, on="country_code", how="inner")
    return audience[["campaign_id", "customer_id", "email", "country_code", "segment"]].sort_values(
        ["campaign_id", "customer_id"], ignore_index=True
    )
