-- The sales domain's SQL macros, beside the mesh's (macros.sql at the repository root) in every sales SQL recipe and rule.

-- An order status as the contracts spell it: the shop writes 'Completed', ' CANCELLED '…
CREATE MACRO order_status(written) AS lower(trim(written));

-- The completed orders of a table of orders (a table macro: FROM completed_orders(orders)).
CREATE MACRO completed_orders(orders_table) AS TABLE
    SELECT * FROM query_table(orders_table) WHERE status = 'completed';
