-- Web analytics' definition of a session: views of one visitor less than 30 minutes apart.
WITH gaps AS (
    SELECT
        *,
        CASE
            WHEN lag(viewed_at) OVER visitor IS NULL
              OR viewed_at - lag(viewed_at) OVER visitor > INTERVAL 30 MINUTE THEN 1
            ELSE 0
        END AS starts_session
    FROM page_views
    WINDOW visitor AS (PARTITION BY visitor_id ORDER BY viewed_at, view_id)
),
numbered AS (
    SELECT *, sum(starts_session) OVER (PARTITION BY visitor_id ORDER BY viewed_at, view_id) AS session_number
    FROM gaps
)
SELECT
    arg_min(view_id, viewed_at) AS session_id,  -- the session's first page view; not the visitor id, which is personal
    visitor_id,
    max(customer_id) AS customer_id,
    min(viewed_at) AS started_at,
    max(viewed_at) AS ended_at,
    count(*) AS page_views,
    arg_min(url, viewed_at) AS landing_page,
    arg_min(country, viewed_at) AS country_code,  -- normalized to ISO codes on publish (glossary term country)
    arg_min(device, viewed_at) AS device
FROM numbered
GROUP BY visitor_id, session_number
