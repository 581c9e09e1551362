"""Find, use and watch: `mesh catalog`, `mesh show`, `mesh query` and `mesh status`."""

import datetime as dt
import json
import os

import duckdb
import pandas as pd
import pytest

from .conftest import column, contract_yaml, mesh_env, owner_read, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"


def demo(*args: str, demo_mesh, check: bool = True, stdin: str | None = None):
    return run_mesh(*args, env=mesh_env(demo_mesh.settings.home), check=check, stdin=stdin)


def addresses(output: str) -> set[str]:
    return {p["address"] for p in json.loads(output)["products"]}


@pytest.mark.slow
def test_catalog_finds_products_by_text_column_term_owner_tag_and_access(demo_mesh):
    everything = json.loads(demo("catalog", "--json", demo_mesh=demo_mesh).stdout)["products"]
    assert len(everything) == 13
    assert set(everything[0]) == {"address", "owner", "access", "status", "description", "freshness", "last_update", "matched"}
    assert {p["freshness"] for p in everything} == {"fresh"}

    by_column = addresses(demo("catalog", "--column", "country_code", "--json", demo_mesh=demo_mesh).stdout)
    assert by_column == {
        "mesh://sales/orders",
        "mesh://sales/daily_revenue",
        "mesh://customers/profiles",
        "mesh://web_analytics/sessions",
        "mesh://marketing/customer_360",
        "mesh://marketing/campaign_audience",
        "mesh://planning/japan_sales_forecast",
    }
    assert addresses(demo("catalog", "--column", "*email*", "--json", demo_mesh=demo_mesh).stdout) == {
        "mesh://customers/change_events",
        "mesh://customers/profiles",
        "mesh://marketing/customer_360",
        "mesh://marketing/campaign_audience",
    }
    by_term = addresses(demo("catalog", "--term", "active_user", "--json", demo_mesh=demo_mesh).stdout)
    assert by_term == {"mesh://web_analytics/visitor_activity", "mesh://marketing/customer_360"}
    assert addresses(demo("catalog", "--term", "active_user/marketing", "--json", demo_mesh=demo_mesh).stdout) == {
        "mesh://marketing/customer_360"
    }
    # text finds a product through a column's description or a glossary term, not only its name
    found = json.loads(demo("catalog", "shipping country", "--json", demo_mesh=demo_mesh).stdout)["products"]
    assert {p["address"] for p in found} == {"mesh://sales/raw_orders", "mesh://sales/orders", "mesh://sales/daily_revenue"}
    assert all(any(m.startswith("column:") for m in p["matched"]) for p in found)
    assert addresses(demo("catalog", "--owner", "team:sales", "--access", "public", "--json", demo_mesh=demo_mesh).stdout) == {
        "mesh://sales/orders",
        "mesh://sales/daily_revenue",
    }
    assert addresses(
        demo("catalog", "--owner", "eva.nakamura@example.com", "--tag", "silver", "--json", demo_mesh=demo_mesh).stdout
    ) == {"mesh://web_analytics/sessions", "mesh://web_analytics/visitor_activity"}
    assert addresses(demo("catalog", "--tag", "revenue", "--json", demo_mesh=demo_mesh).stdout) == {
        "mesh://sales/orders",
        "mesh://sales/daily_revenue",
    }
    table = demo("catalog", "--domain", "marketing", demo_mesh=demo_mesh).stdout
    assert table.splitlines()[0].split() == ["ADDRESS", "OWNER", "ACCESS", "STATUS", "FRESHNESS", "DESCRIPTION"]
    assert "mesh://marketing/campaign_audience  farah.haddad@example.com  restricted  active  fresh" in table
    wrong = demo("catalog", "--term", "client", demo_mesh=demo_mesh, check=False)
    assert wrong.returncode == 1 and "the glossary has no term 'client'" in wrong.stderr


@pytest.mark.slow
def test_show_tells_everything_about_one_product(demo_mesh):
    shown = json.loads(demo("show", "mesh://sales/orders", "--json", demo_mesh=demo_mesh).stdout)
    assert shown["owners"] == ["team:sales", "ana.ruiz@example.com"] and shown["access"] == "public"
    assert shown["tags"] == ["revenue", "finance"] and shown["tier"] == "gold"
    columns = {c["name"]: c for c in shown["columns"]}
    assert columns["country_code"]["classification"] == "public" and columns["country_code"]["term"] == "country/sales"
    assert columns["order_id"]["primary_key"] and columns["amount_usd"]["type"] == "DECIMAL(12,2)"
    assert shown["sla"] == {"frequency": "1d", "latency": "4h", "schedule": "0 2 * * *"}
    assert shown["upstream"] == ["mesh://sales/raw_orders"]
    assert shown["downstream"] == ["mesh://marketing/customer_360", "mesh://sales/daily_revenue"]
    assert [v["version"] for v in shown["versions"]] == [0] and shown["versions"][0]["rows"] == len(
        owner_read("mesh://sales/orders")
    )
    assert shown["last_materialization"]["rows"] == shown["versions"][0]["rows"]
    checks = {c["name"]: c for c in shown["checks"]}
    assert (
        checks["governance"]["passed"]
        and checks["country_code_is_country"]["passed"]
        and checks["order_id_unique"]["severity"] == "error"
    )
    assert shown["freshness"]["state"] == "fresh"

    text = demo("show", "mesh://marketing/customer_360", demo_mesh=demo_mesh).stdout
    for needle in (
        "mesh://marketing/customer_360  (contract 1.0.0, active, internal)",
        "upstream      mesh://customers/profiles",
        "is_active",
        "active_user/marketing",
        "personal",
        "last materialization  20",
    ):
        assert needle in text, needle


@pytest.mark.slow
def test_query_joins_three_domains_as_a_consumer_and_writes_files(demo_mesh, tmp_path):
    sql = """
        SELECT o.country_code, count(DISTINCT o.order_id) AS orders, count(DISTINCT s.session_id) AS sessions
        FROM sales.orders AS o
        JOIN customers.customer_keys AS k USING (customer_number)
        LEFT JOIN web_analytics.sessions AS s ON s.customer_id = k.customer_id
        WHERE o.status = 'completed' AND o.country_code IS NOT NULL
        GROUP BY ALL ORDER BY o.country_code
    """
    result = json.loads(demo("query", "--as", "planning", sql, "--json", demo_mesh=demo_mesh).stdout)
    orders, keys, sessions = (
        owner_read(a) for a in ("mesh://sales/orders", "mesh://customers/customer_keys", "mesh://web_analytics/sessions")
    )
    joined = (
        orders[orders["status"] == "completed"]
        .merge(keys, on="customer_number")
        .merge(sessions[["session_id", "customer_id"]], on="customer_id", how="left")
    )
    expected = (
        joined.groupby("country_code").agg(orders=("order_id", "nunique"), sessions=("session_id", "nunique")).reset_index()
    )
    assert result == expected.to_dict(orient="records")

    # Personal columns arrive masked for planning, and the read is logged as the query's.
    masked = demo(
        "query", "--as", "planning", "SELECT email FROM customers.profiles LIMIT 3", "--format", "csv", demo_mesh=demo_mesh
    ).stdout
    assert all(len(line) == 64 for line in masked.splitlines()[1:])
    denied = demo("query", "--as", "sales", "SELECT * FROM marketing.customer_360", demo_mesh=demo_mesh, check=False)
    assert (
        denied.returncode == 1
        and "sales may not read mesh://marketing/customer_360: it is internal to the marketing domain" in denied.stderr
    )
    log = json.loads(demo("access", "log", "--json", "--consumer", "planning", demo_mesh=demo_mesh).stdout)["reads"]
    assert {"mesh://customers/profiles", "mesh://sales/orders"} <= {r["product"] for r in log if r["via"] == "mesh query"}

    parquet, database = tmp_path / "japan.parquet", tmp_path / "analysis.duckdb"
    japan = "SELECT * FROM sales.daily_revenue WHERE country_code = 'JP'"
    demo("query", "--as", "planning", japan, "--output", str(parquet), demo_mesh=demo_mesh)
    demo("query", "--as", "planning", japan, "--output", str(database), "--table", "japan_revenue", demo_mesh=demo_mesh)
    revenue = owner_read("mesh://sales/daily_revenue")
    assert len(pd.read_parquet(parquet)) == (revenue["country_code"] == "JP").sum()
    with duckdb.connect(str(database)) as connection:
        assert connection.sql("SELECT count(*) FROM japan_revenue").fetchall()[0][0] == (revenue["country_code"] == "JP").sum()
    unknown = demo("query", "--as", "planning", "SELECT * FROM sales.refunds", demo_mesh=demo_mesh, check=False)
    assert unknown.returncode == 1 and "domain 'sales' has no product 'refunds'" in unknown.stderr


@pytest.mark.slow
def test_query_reads_its_sql_from_a_file_or_standard_input(demo_mesh, tmp_path):
    """A long query need not fit the operating system's argument limit: --file FILE, or --file - for standard input."""
    columns = ", ".join(f"country_code AS c{i}" for i in range(20_000))  # ~500 kB of SQL: beyond what one argument may hold
    sql = f"SELECT {columns} FROM sales.daily_revenue WHERE country_code = 'JP' LIMIT 1"
    (tmp_path / "long.sql").write_text(sql)
    from_file = json.loads(
        demo("query", "--as", "planning", "--file", str(tmp_path / "long.sql"), "--json", demo_mesh=demo_mesh).stdout
    )
    assert len(from_file) == 1 and len(from_file[0]) == 20_000 and from_file[0]["c19999"] == "JP"
    piped = json.loads(demo("query", "--as", "planning", "--file", "-", "--json", demo_mesh=demo_mesh, stdin=sql).stdout)
    assert piped == from_file
    for args, message in (
        ([], "give the SQL as an argument, or --file FILE (- for standard input)"),
        (["SELECT 1", "--file", str(tmp_path / "long.sql")], "not both"),
        (
            ["--file", str(tmp_path / "missing.sql")],
            f"--file {tmp_path / 'missing.sql'}: cannot read the file: No such file or directory",
        ),
        (["--file", str(tmp_path)], f"--file {tmp_path}: it is a folder, not a regular file"),
        (["--file", "/dev/zero"], "--file /dev/zero: it is a character device, not a regular file"),
    ):
        refused = demo("query", "--as", "planning", *args, demo_mesh=demo_mesh, check=False)
        assert refused.returncode == 1 and message in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr


def test_status_reports_late_products_failing_checks_and_failed_runs(lab):
    lab.add_domain("shop")
    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,bucket\n")
    sla = [{"property": "frequency", "value": 10, "unit": "min"}, {"property": "latency", "value": 5, "unit": "min"}]
    unique = column("id", "integer", unique=True)
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", [unique, column("name")], slaProperties=sla))
    lab.add_product(
        "shop", "others", SOURCE.replace("things.csv", "others.csv"), contract_yaml("shop", "others", [column("id", "integer")])
    )

    before = json.loads(run_mesh("status", "--json", env={**os.environ}, cwd=lab.root).stdout)
    assert {p["address"]: p["freshness"] for p in before["products"]} == {
        "mesh://shop/things": "never run",
        "mesh://shop/others": "never run",
    }

    lab.materialize("shop", "things")
    now = dt.datetime.now(dt.UTC)
    fresh = run_mesh("status", "--json", env={**os.environ}, cwd=lab.root)
    report = {p["address"]: p for p in json.loads(fresh.stdout)["products"]}
    assert fresh.returncode == 0 and report["mesh://shop/things"]["freshness"] == "fresh"
    assert {c["name"]: c["passed"] for c in report["mesh://shop/things"]["checks"]}["id_unique"] is True

    later = (now + dt.timedelta(minutes=16)).isoformat()
    late = run_mesh("status", "--at", later, env={**os.environ}, cwd=lab.root)
    assert late.returncode == 1
    assert any(line.startswith("mesh://shop/things") and " late " in line for line in late.stdout.splitlines()), late.stdout
    assert late.stdout.strip().endswith("2 products: 1 healthy, 1 late, 0 with failing checks")

    lab.land("shop", "things.csv", "id,name\n1,anvil\n1,bucket\n")  # a duplicate id: the unique check fails
    lab.materialize("shop", "things", raise_on_error=False)
    failing = run_mesh("status", "--json", "--domain", "shop", env={**os.environ}, cwd=lab.root)
    assert failing.returncode == 1
    things = {p["address"]: p for p in json.loads(failing.stdout)["products"]}["mesh://shop/things"]
    assert things["failing_checks"] == ["id_unique"] and things["freshness"] == "fresh"  # the last good version is still current
    assert "QualityGateError" in things["last_failure"]["reason"] or "id_unique" in things["last_failure"]["reason"]
