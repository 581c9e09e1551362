-- Sales knows customers by the shop's customer number: customer_keys maps it to the CRM id.
-- "Active" is marketing's meaning: a session or a completed order in the last 30 days of data.
-- The window is the glossary's (term active_user, meaning marketing), read by the mesh's macro in_active_window.
WITH reference AS (
    SELECT greatest((SELECT max(ended_at) FROM sessions)::DATE, (SELECT max(order_date) FROM orders)) AS as_of
),
order_totals AS (
    SELECT
        k.customer_id,
        count(*) AS lifetime_orders,
        sum(coalesce(o.amount_usd, 0)) AS lifetime_revenue_usd,
        max(o.order_date) AS last_order_date
    FROM orders AS o
    JOIN customer_keys AS k ON k.customer_number = o.customer_number
    WHERE o.status = 'completed'
    GROUP BY k.customer_id
),
web AS (
    SELECT
        customer_id,
        count(*) FILTER (WHERE in_active_window(started_at::DATE, (SELECT as_of FROM reference))) AS sessions_30d,
        max(ended_at) AS last_seen_at
    FROM sessions
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    p.email,
    p.country_code,
    p.signup_date,
    coalesce(t.lifetime_orders, 0) AS lifetime_orders,
    coalesce(t.lifetime_revenue_usd, 0) AS lifetime_revenue_usd,
    t.last_order_date,
    coalesce(w.sessions_30d, 0) AS sessions_30d,
    w.last_seen_at,
    coalesce(w.sessions_30d, 0) > 0
        OR coalesce(in_active_window(t.last_order_date, (SELECT as_of FROM reference)), false) AS is_active
FROM profiles AS p
LEFT JOIN order_totals AS t USING (customer_id)
LEFT JOIN web AS w USING (customer_id)
