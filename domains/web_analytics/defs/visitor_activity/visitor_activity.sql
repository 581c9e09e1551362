-- Web analytics' "active user": a session in the last 7 days of data. The window is the
-- glossary's (active_user, meaning web_analytics), read by the mesh's macro in_active_window (macros.sql).
WITH reference AS (
    SELECT max(ended_at)::DATE AS as_of FROM sessions
)
SELECT
    visitor_id,
    max(customer_id) AS customer_id,
    count(*) AS sessions,
    max(ended_at) AS last_seen_at,
    count(*) FILTER (WHERE in_active_window(started_at::DATE, (SELECT as_of FROM reference))) AS sessions_in_window,
    sessions_in_window > 0 AS is_active,
    (SELECT as_of FROM reference) AS as_of
FROM sessions
GROUP BY visitor_id
