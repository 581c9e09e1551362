"""The shop (sales) and the CRM (customers) number customers differently; this links them."""

import pandas as pd


def build(change_events: pd.DataFrame) -> pd.DataFrame:
    """One row per shop customer number: the CRM customer it belongs to, from the latest change."""
    linked = change_events.dropna(subset=["sales_customer_number"])
    latest = linked.sort_values("sequence").drop_duplicates("sales_customer_number", keep="last")
    deleted = latest["op"].eq("delete")
    return pd.DataFrame(
        {
            "customer_number": latest["sales_customer_number"],
            "customer_id": latest["customer_id"],
            "is_active": ~deleted,
            "linked_at": latest["event_time"],
        }
    ).sort_values("customer_number", ignore_index=True)
