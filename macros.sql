-- The mesh's SQL macros: every domain's SQL recipes and rules may call them (DuckDB's CREATE MACRO).
-- A domain adds its own in domains/<domain>/macros.sql; mesh check reports what DuckDB refuses here.

-- Whether a day falls in the glossary's active_user window that ends on as_of, in the meaning of the
-- domain whose SQL calls it (web_analytics: 7 days; marketing: 30 days).
CREATE MACRO in_active_window(day, as_of) AS
    day > as_of - CAST(term_parameter('active_user', 'window') AS INTERVAL);
