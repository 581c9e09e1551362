-- One row per order: the export repeats orders, keep the first occurrence.
SELECT
    order_id,
    customer_number,
    order_date,
    country_code(country) AS country_code,  -- unknown spellings become NULL, watched by the known country share rule
    amount_usd,
    order_status(status) AS status  -- the sales domain's macro (domains/sales/macros.sql)
FROM raw_orders
WHERE order_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY amount_usd IS NULL, order_date) = 1
