-- Web analytics' "active user": a session in the last 7 days of data. The window is the
-- glossary's (active_user, meaning web_analytics), read here so the definition lives in one place.
WITH reference AS (
    SELECT max(ended_at)::DATE AS as_of FROM sessions
)
SELECT
    visitor_id,
    max(customer_id) AS customer_id,
    count(*) AS sessions,
    max(ended_at) AS last_seen_at,
    count(*) FILTER (
        WHERE started_at::DATE > (SELECT as_of FROM reference) - CAST(term_parameter('active_user', 'window') AS INTERVAL)
    ) AS sessions_in_window,
    sessions_in_window > 0 AS is_active,
    (SELECT as_of FROM reference) AS as_of
FROM sessions
GROUP BY visitor_id
