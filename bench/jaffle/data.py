"""The jaffle shop's raw tables, generated (DuckDB's hash of the row number: the same rows on every run), at a size.

    python -m bench.jaffle.data --size small|medium|large [--folder DIR]

Six Parquet files, as jaffle-shop's seeds name and shape them (raw_customers, raw_orders, raw_items, raw_stores,
raw_products, raw_supplies), written once per size into a folder of their own and then reused. Ids are UUID
strings (MD5 of a name), as in the original. The tables agree as its tests expect: an order's subtotal is the sum of
its items' prices, its tax the store's rate of it, its total both; every order's customer exists. A customer's orders
fall on different days: the orders mart numbers them by day (`row_number() over (… order by ordered_at)`), and ties
would number them one way in one engine and another way in the other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

SIZES = {"small": 100_000, "medium": 1_000_000, "large": 10_000_000}  # orders; about twice as many items
TABLES = ("raw_customers", "raw_orders", "raw_items", "raw_stores", "raw_products", "raw_supplies")
START = "2016-09-01"
DAYS = 6 * 365  # six years of orders
ORDERS_PER_REPEAT_CUSTOMER = 4

STORES = [  # name, opened, tax rate
    ("Philadelphia", "2016-09-01", 0.06),
    ("Brooklyn", "2017-03-12", 0.04),
    ("Chicago", "2018-04-29", 0.0625),
    ("San Francisco", "2018-05-09", 0.075),
    ("New Orleans", "2019-03-10", 0.04),
    ("Los Angeles", "2019-09-13", 0.08),
]
PRODUCTS = [  # sku, type, price in cents
    *((f"JAF-{n:03d}", "jaffle", price) for n, price in enumerate([1100, 1100, 1200, 1400, 1200], start=1)),
    *((f"BEV-{n:03d}", "beverage", price) for n, price in enumerate([600, 500, 600, 700, 400], start=1)),
]


def write(folder: Path, orders: int) -> Path:
    """The six raw tables of a shop with `orders` orders, as Parquet files in `folder` (kept while complete)."""
    marker = folder / f".{orders}.done"
    if marker.exists() and all((folder / f"{table}.parquet").exists() for table in TABLES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(".*.done"):
        old.unlink()
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE MACRO uuid_of(x) AS regexp_replace(md5(x), '(.{8})(.{4})(.{4})(.{4})(.{12})', '\\1-\\2-\\3-\\4-\\5')"
        )
        for sql in _tables(orders):
            connection.execute(sql)
        for table in TABLES:
            connection.execute(f"COPY {table} TO '{folder / table}.parquet' (FORMAT parquet)")
    marker.touch()
    return folder


def _tables(orders: int) -> list[str]:
    repeat_orders = orders * 4 // 5  # orders of returning customers, four each (a customer's k-th in the k-th slot)
    repeat_customers = max(1, -(-repeat_orders // ORDERS_PER_REPEAT_CUSTOMER))
    slot = DAYS // ORDERS_PER_REPEAT_CUSTOMER
    single_customers = orders - repeat_orders  # one order each
    customers = repeat_customers + single_customers + orders // 20  # and some who never ordered
    stores = ", ".join(f"({i}, '{name}', TIMESTAMP '{opened}', {rate})" for i, (name, opened, rate) in enumerate(STORES))
    products = ", ".join(f"({i}, '{sku}', '{kind}', {price})" for i, (sku, kind, price) in enumerate(PRODUCTS))
    return [
        f"CREATE TABLE stores AS SELECT * FROM (VALUES {stores}) AS t(n, name, opened_at, tax_rate)",
        """CREATE TABLE raw_stores AS
           SELECT uuid_of('store ' || n) AS id, name, opened_at, tax_rate::DOUBLE AS tax_rate FROM stores""",
        f"CREATE TABLE products AS SELECT * FROM (VALUES {products}) AS t(n, sku, type, price)",
        """CREATE TABLE raw_products AS SELECT sku, type || ' ' || sku AS name, type, price::BIGINT AS price,
               'a ' || type || ' of the generated shop' AS description FROM products""",
        # Six supplies a product, of 1 to 50 cents each.
        """CREATE TABLE raw_supplies AS SELECT 'SUP-' || lpad((p.n * 6 + s + 1)::VARCHAR, 3, '0') AS id,
               'supply ' || (p.n * 6 + s + 1) AS name, (1 + hash(p.n * 6 + s) % 50)::BIGINT AS cost,
               hash(p.n * 6 + s + 1000) % 4 = 0 AS perishable, p.sku
           FROM products AS p, range(6) AS t(s)""",
        f"""CREATE TABLE raw_customers AS SELECT uuid_of('customer ' || c) AS id, 'Customer ' || c AS name
            FROM range({customers}) AS t(c)""",
        f"""CREATE TABLE order_keys AS SELECT
                i,
                CASE WHEN i < {repeat_orders} THEN i % {repeat_customers} ELSE {repeat_customers} + i - {repeat_orders} END AS c,
                CASE WHEN i < {repeat_orders} THEN (i // {repeat_customers}) * {slot} + hash(i * 7) % {slot}
                     ELSE hash(i * 7) % {DAYS} END AS day,
                hash(i * 11) % {len(STORES)} AS store,
                1 + hash(i * 13) % 3 AS items
            FROM range({orders}) AS t(i)""",
        """CREATE TABLE raw_items AS SELECT uuid_of('item ' || o.i || ' ' || j) AS id, uuid_of('order ' || o.i) AS order_id,
               p.sku, o.i AS order_n, p.price
           FROM order_keys AS o, range(3) AS t(j), products AS p
           WHERE j < o.items AND p.n = hash(o.i * 17 + j) % 10""",
        f"""CREATE TABLE raw_orders AS
            WITH subtotals AS (SELECT order_n, sum(price)::BIGINT AS subtotal FROM raw_items GROUP BY ALL)
            SELECT uuid_of('order ' || o.i) AS id, uuid_of('customer ' || o.c) AS customer,
                   TIMESTAMP '{START}' + to_days(o.day::INTEGER)
                       + to_seconds((25200 + hash(o.i * 19) % 50400)::BIGINT) AS ordered_at,
                   uuid_of('store ' || o.store) AS store_id, s.subtotal,
                   round(s.subtotal * st.tax_rate)::BIGINT AS tax_paid,
                   s.subtotal + round(s.subtotal * st.tax_rate)::BIGINT AS order_total
            FROM order_keys AS o JOIN subtotals AS s ON s.order_n = o.i JOIN stores AS st ON st.n = o.store
            ORDER BY o.i""",
        "ALTER TABLE raw_items DROP COLUMN order_n",
        "ALTER TABLE raw_items DROP COLUMN price",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--folder", type=Path, help="default: /tmp/mesh-bench/data/jaffle/<size>")
    options = parser.parse_args()
    folder = options.folder or Path("/tmp/mesh-bench/data/jaffle") / options.size
    print(write(folder, SIZES[options.size]))


if __name__ == "__main__":
    main()
