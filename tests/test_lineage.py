"""Column-level lineage: from SQL (sqlglot), configured recipes and Python declarations, across domains;
`mesh lineage`, Dagster's `dagster/column_lineage` metadata, and personal data followed through it."""

import json
import os

import dagster as dg
import pytest

from .conftest import column, contract_yaml, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {name}.csv\n"
PEOPLE = [
    column("id", "integer", required=True),
    column("email", classification="personal"),
    column("city"),
    column("op"),
    column("seq", "integer"),
]


def lineage_json(*args, cwd=None):
    result = run_mesh("lineage", *args, "--json", env={**os.environ}, **({"cwd": cwd} if cwd else {}))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_cross_domain_sql_products_columns_come_from_the_columns_its_query_reads():
    found = lineage_json("mesh://marketing/customer_360")
    assert found["method"] == "sql" and found["problem"] is None
    columns = found["columns"]
    assert columns["lifetime_revenue_usd"]["upstream"] == [
        "mesh://sales/orders.amount_usd"
    ]  # sum(coalesce(o.amount_usd, 0)) in a CTE
    assert columns["email"]["upstream"] == ["mesh://customers/profiles.email"]
    assert columns["last_seen_at"]["upstream"] == ["mesh://web_analytics/sessions.ended_at"]
    assert columns["lifetime_orders"]["upstream"] == []  # count(*): no column's value
    assert (
        "mesh://marketing/campaign_audience.segment" in columns["lifetime_revenue_usd"]["downstream"]
    )  # declared by the Python recipe


def test_a_columns_chain_runs_both_ways_across_domains():
    found = lineage_json("mesh://sales/orders.amount_usd")
    assert [(e["column"], e["depth"]) for e in found["upstream"]] == [("mesh://sales/raw_orders.amount_usd", 1)]
    downstream = {e["column"]: (e["depth"], e["via"]) for e in found["downstream"]}
    assert downstream["mesh://marketing/customer_360.lifetime_revenue_usd"] == (1, "mesh://sales/orders.amount_usd")
    assert downstream["mesh://marketing/campaign_audience.segment"] == (2, "mesh://marketing/customer_360.lifetime_revenue_usd")
    assert downstream["mesh://planning/japan_sales_forecast.expected_revenue_usd"] == (
        2,
        "mesh://sales/daily_revenue.revenue_usd",
    )
    # A column a consumer reads only in a filter feeds none of its columns, but it reads it.
    status = lineage_json("mesh://sales/orders.status", "--downstream")
    assert "upstream" not in status and status["downstream"] == []
    assert status["read_by"] == ["mesh://marketing/customer_360", "mesh://sales/daily_revenue"]


def test_mesh_lineage_prints_a_tree_and_refuses_what_it_cannot_show():
    printed = run_mesh("lineage", "mesh://sales/orders.amount_usd", "--downstream")
    assert printed.returncode == 0
    lines = printed.stdout.splitlines()
    at = lines.index("  → mesh://marketing/customer_360.lifetime_revenue_usd")
    assert lines[at + 1] == "    → mesh://marketing/campaign_audience.segment"  # under the column it is computed from
    wrong = run_mesh("lineage", "mesh://sales/orders.amount")
    assert wrong.returncode == 1 and "mesh://sales/orders has no column 'amount' (its columns: order_id" in wrong.stderr
    both = run_mesh("lineage", "mesh://sales/orders", "--upstream", "--downstream")
    assert both.returncode == 1 and "not both" in both.stderr


def test_configured_recipes_know_their_lineage_by_construction(lab):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE.format(name="people"), contract_yaml("crm", "people", PEOPLE))
    lab.add_product("crm", "more_people", SOURCE.format(name="more"), contract_yaml("crm", "more_people", PEOPLE))
    email = column("email", classification="personal")
    recipes = {
        "renamed": (
            "type: mesh_platform.recipes.ProjectionProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
            "  columns: [id, {name: mail, source: email}]\n",
            [column("id", "integer"), column("mail", classification="personal")],
        ),
        "in_paris": (
            "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n  where: city = 'Paris'\n",
            PEOPLE,
        ),
        "everyone": (
            "type: mesh_platform.recipes.UnionProduct\nattributes:\n  inputs: [mesh://crm/people, mesh://crm/more_people]\n"
            "  source_column: origin\n",
            [*PEOPLE, column("origin")],
        ),
        "current": (
            "type: mesh_platform.recipes.CdcProduct\nattributes:\n  inputs: [mesh://crm/people]\n  key: [id]\n  sequence: seq\n"
            "  operation: op\n  exclude: [seq]\n  rename: {city: town}\n",
            [column("id", "integer"), email, column("town")],
        ),
    }
    for name, (recipe, columns) in recipes.items():
        lab.add_product("ads", name, recipe, contract_yaml("ads", name, columns))

    renamed = lineage_json("mesh://ads/renamed", cwd=lab.root)
    assert renamed["method"] == "configured"
    assert {c: e["upstream"] for c, e in renamed["columns"].items()} == {
        "id": ["mesh://crm/people.id"],
        "mail": ["mesh://crm/people.email"],
    }
    everyone = lineage_json("mesh://ads/everyone", cwd=lab.root)["columns"]
    assert everyone["email"]["upstream"] == ["mesh://crm/more_people.email", "mesh://crm/people.email"]
    assert everyone["origin"]["upstream"] == []
    current = lineage_json("mesh://ads/current", cwd=lab.root)["columns"]
    assert current["town"]["upstream"] == ["mesh://crm/people.city"]
    # The cdc recipe reads the operation and sequence to pick each key's state; they feed no column.
    seq = lineage_json("mesh://crm/people.seq", "--downstream", cwd=lab.root)
    assert "mesh://ads/current" in seq["read_by"]
    # A filter keeps every column as it is and reads the ones its condition names.
    city = lineage_json("mesh://crm/people.city", "--downstream", cwd=lab.root)
    assert [e["column"] for e in city["downstream"]] == [
        "mesh://ads/current.town",
        "mesh://ads/everyone.city",
        "mesh://ads/in_paris.city",
    ]
    op = lineage_json("mesh://crm/people.op", "--downstream", cwd=lab.root)
    assert op["read_by"] == ["mesh://ads/current"]  # the filter does not read op; the cdc recipe does


def test_a_python_recipe_declares_its_lineage_or_hears_about_it(lab):
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE.format(name="people"), contract_yaml("crm", "people", PEOPLE))
    code = {"shape.py": "def build(people):\n    return people[['id']].assign(domain=people['email'].str.split('@').str[1])\n"}
    python = "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: [mesh://crm/people]\n  function: shape.py:build\n"
    columns = [column("id", "integer"), column("domain", classification="personal")]
    lab.add_product("crm", "silent", python, contract_yaml("crm", "silent", columns), files=code)
    lab.add_product(
        "crm",
        "declared",
        python + "  lineage:\n    id: [people.id]\n    domain: [people.email]\n",
        contract_yaml("crm", "declared", columns),
        files=code,
    )
    lab.add_product(
        "crm",
        "mistaken",
        python + "  lineage:\n    domain: [people.mail]\n",
        contract_yaml("crm", "mistaken", columns),
        files=code,
    )

    declared = lineage_json("mesh://crm/declared", cwd=lab.root)
    assert declared["method"] == "declared" and declared["columns"]["domain"]["upstream"] == ["mesh://crm/people.email"]
    checked = run_mesh("check", env={**os.environ}, cwd=lab.root)
    warnings = [line for line in checked.stdout.splitlines() if line.startswith("warning mesh.column-lineage")]
    assert len(warnings) == 2, checked.stdout
    silent = next(w for w in warnings if "crm/silent" in w)
    assert (
        "silent/defs.yaml" in silent
        and "declares no column lineage" in silent
        and "lineage: {<column>: [<input>.<column>, …]}" in silent
    )
    mistaken = next(w for w in warnings if "crm/mistaken" in w)
    assert "mistaken/defs.yaml:5" in mistaken and "people.mail, which no input has" in mistaken


@pytest.mark.parametrize(
    ("query", "column_name"),
    [
        ("SELECT id, email AS contact FROM people", "contact"),
        ("SELECT id, lower(email) AS contact FROM people", "contact"),
        ("WITH p AS (SELECT id, trim(email) AS e FROM people) SELECT id, e AS contact FROM p", "contact"),
    ],
    ids=["renamed", "derived", "through a CTE"],
)
def test_a_personal_column_renamed_or_derived_in_sql_is_still_personal(lab, query, column_name):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE.format(name="people"), contract_yaml("crm", "people", PEOPLE))
    recipe = f'type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n  sql: "{query}"\n'
    folder = lab.add_product(
        "ads", "contacts", recipe, contract_yaml("ads", "contacts", [column("id", "integer"), column(column_name)])
    )
    checked = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert checked.returncode == 1
    [flagged] = [line for line in checked.stdout.splitlines() if line.startswith("error mesh.personal-data")]
    assert (
        "mesh://ads/contacts" in flagged
        and f"column '{column_name}' is computed from mesh://crm/people.email (as 'email'), which is personal" in flagged
    )
    assert "classify it personal" in flagged
    # Classified personal, it passes (and other domains reading ads see it masked).
    (folder / "contract.yaml").write_text(
        contract_yaml("ads", "contacts", [column("id", "integer"), column(column_name, classification="personal")])
    )
    assert run_mesh("check", env={**os.environ}, cwd=lab.root).returncode == 0


def test_each_products_asset_carries_its_column_lineage_for_dagster():
    from domains.marketing.definitions import defs

    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey(["marketing", "customer_360"]))
    lineage = spec.metadata["dagster/column_lineage"]
    assert isinstance(lineage, dg.TableColumnLineage)
    assert lineage.deps_by_column["lifetime_revenue_usd"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["sales", "orders"]), column_name="amount_usd")
    ]
    assert "lifetime_orders" not in lineage.deps_by_column  # count(*) comes from no column
    table = spec.metadata["mesh/column_lineage"].value
    assert "| `lifetime_revenue_usd` | [mesh://sales/orders.amount_usd](/assets/sales/orders) |" in table
