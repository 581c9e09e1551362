-- Redelivered events are dropped first, then the highest sequence per customer is its state.
WITH events AS (
    SELECT DISTINCT ON (event_id) *
    FROM change_events
    ORDER BY event_id
),
latest AS (
    SELECT *
    FROM events
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY sequence DESC) = 1
)
SELECT
    customer_id,
    full_name,
    email,
    country AS country_code,  -- normalized to ISO codes on publish (glossary term country)
    birth_date,
    signup_date,
    event_time AS updated_at
FROM latest
WHERE op <> 'delete'
