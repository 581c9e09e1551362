"""The glossary: terms, polysemes, value mappings run on publish, meanings' parameters in SQL, `mesh glossary`."""

import json

import pycountry
import pytest

from mesh_platform.core.countries import iso_country_code
from mesh_platform.core.errors import GlossaryError
from mesh_platform.governance.glossary import TermUseError, load_glossary
from mesh_platform.governance.value_mappings import ISO_COUNTRIES

from .conftest import REPO, column, contract_yaml, owner_read, run_mesh
from .test_recipes_configured import SOURCE

DEMO_GLOSSARY = REPO / "governance" / "glossary.yaml"
DEMO_SPELLINGS = {
    "US": ["US", "USA", "U.S.", "United States", "united states", "U.S.A.", "United States of America"],
    "JP": ["JP", "Japan", "JPN", "japan", "Nippon"],
    "DE": ["DE", "Germany", "DEU", "Deutschland"],
    "GB": ["GB", "UK", "United Kingdom", "U.K.", "Great Britain"],
    "FR": ["FR", "France", "FRA"],
    "BR": ["BR", "Brazil", "Brasil"],
}


def test_every_iso_3166_country_maps_to_its_alpha_2_code():
    assert len(pycountry.countries) >= 249
    for country in pycountry.countries:
        for written in {country.alpha_2, country.alpha_3, country.name, country.name.upper(), f"  {country.name.lower()} "}:
            assert iso_country_code(written) == country.alpha_2, written
        if official := getattr(country, "official_name", None):
            assert iso_country_code(official) == country.alpha_2, official
    for code, spellings in DEMO_SPELLINGS.items():
        assert {iso_country_code(s) for s in spellings} == {code}, spellings
    assert iso_country_code("Atlantis") is None
    assert ISO_COUNTRIES.canonical_values >= {c.alpha_2 for c in pycountry.countries}


def test_the_demo_glossary_declares_polysemes_mappings_and_a_crosswalk():
    glossary = load_glossary(DEMO_GLOSSARY)
    assert {"country", "customer", "active_user", "session"} <= set(glossary.terms)
    # a polyseme: each domain's own meaning, another domain must name one
    assert glossary.use("active_user", "web_analytics").meaning.parameters == {"window": "7 days"}
    assert glossary.use("active_user", "marketing").meaning.parameters == {"window": "30 days"}
    assert glossary.use("active_user/web_analytics", "planning").label == "active_user/web_analytics"
    with pytest.raises(
        TermUseError, match="means different things in web_analytics and marketing, and planning has no meaning"
    ) as denied:
        glossary.use("active_user", "planning")
    assert "active_user/web_analytics or active_user/marketing" in denied.value.fix
    # identifiers: each domain's pattern, the canonical one elsewhere, and the crosswalk between them
    assert glossary.use("customer", "sales").pattern == "^S-[0-9]+$"
    assert glossary.use("customer", "marketing").label == "customer/customers"
    address, sales_column, crm_column = glossary.crosswalk("customer", "sales", "customers")
    assert (str(address), sales_column, crm_column) == ("mesh://customers/customer_keys", "customer_number", "customer_id")
    assert glossary.terms["country"].values is ISO_COUNTRIES
    with pytest.raises(TermUseError, match="no term 'client'"):
        glossary.use("client", "sales")


def test_a_broken_glossary_names_file_field_and_line(tmp_path):
    file = tmp_path / "glossary.yaml"
    file.write_text(
        "terms:\n"
        "  country:\n"
        "    definition: A country.\n"
        "    values: iso-3166-2\n"
        "  status:\n"
        "    definition: Order status.\n"
        "    values:\n"
        "      canonical: [completed]\n"
        "      synonyms: {done: finished}\n"
        "  customer:\n"
        "    definition: A customer.\n"
        "    meanings:\n"
        "      sales: The shop's account.\n"
        "    crosswalk:\n"
        "      product: mesh://customers/keys\n"
        "      columns: {sales: number, crm: id}\n"
        "  lead: {}\n"
    )
    with pytest.raises(GlossaryError) as error:
        load_glossary(file)
    found = {(p.field, p.line) for p in error.value.problems}
    assert found == {
        ("terms.country.values", 4),
        ("terms.status.values.synonyms.done", 9),
        ("terms.customer.crosswalk.columns.crm", 16),
        ("terms.lead", 17),
    }, error.value
    assert "value mapping 'iso-3166-2' is unknown" in str(error.value)


def test_a_misspelt_glossary_setting_is_refused_with_the_setting_meant(tmp_path):
    # A typo must not silently drop what it meant: `vaules` would leave country unnormalized and unchecked.
    file = tmp_path / "glossary.yaml"
    file.write_text(
        "term:\n"
        "  x: {}\n"
        "terms:\n"
        "  country:\n"
        "    definition: A country.\n"
        "    vaules: iso-3166-1-alpha-2\n"
        "  status:\n"
        "    definition: Order status.\n"
        "    values:\n"
        "      canonical: [completed]\n"
        "      synonym: {done: completed}\n"
        "  active_user:\n"
        "    definition: Someone recently active.\n"
        "    meanings:\n"
        "      shop: {definition: A purchase in the last 7 days., paramters: {window: 7 days}}\n"
        "      crm: A login in the last 30 days.\n"
        "    crosswalk:\n"
        "      product: mesh://customers/keys\n"
        "      columns: {shop: customer_id, crm: id}\n"
        "      colour: blue\n"
    )
    with pytest.raises(GlossaryError) as error:
        load_glossary(file)
    found = {(p.field, p.line, p.message, p.fix.split("?")[0]) for p in error.value.problems}
    assert found == {
        ("term", 1, "unknown setting 'term' (a typo?)", "did you mean 'terms'"),
        ("terms.country.vaules", 6, "unknown setting 'vaules' (a typo?)", "did you mean 'values'"),
        ("terms.status.values.synonym", 11, "unknown setting 'synonym' (a typo?)", "did you mean 'synonyms'"),
        ("terms.active_user.meanings.shop.paramters", 15, "unknown setting 'paramters' (a typo?)", "did you mean 'parameters'"),
        ("terms.active_user.crosswalk.colour", 20, "unknown setting 'colour' (a typo?)", "did you mean 'columns'"),
    }, error.value
    assert (
        f"{file}:6: terms.country.vaules: unknown setting 'vaules' (a typo?) — did you mean 'values'? this part of "
        "the glossary knows: definition, canonical, logicalType, values, " in str(error.value)
    )


def test_mesh_check_reports_a_misspelt_glossary_setting_and_the_domains_still_load(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop", "things", SOURCE.format(path="things.csv"), contract_yaml("shop", "things", [column("id", "integer")])
    )
    lab.glossary_file.write_text(
        lab.glossary_file.read_text().replace("    values: iso-3166-1-alpha-2\n", "    vaules: iso-3166-1-alpha-2\n")
    )
    checked = run_mesh("check")
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr
    [line] = [line for line in checked.stdout.splitlines() if line.startswith("error mesh.glossary")]
    assert (
        f"{lab.glossary_file}:" in line
        and "terms.country.vaules: unknown setting 'vaules' (a typo?) — did you mean 'values'?" in line
    ), line
    assert lab.broken_products("shop") == {}


CLICKS = "user_id,clicked_at\na,2026-03-30 10:00:00\nb,2026-03-22 10:00:00\nc,2026-02-20 10:00:00\nd,2026-03-31 09:00:00\n"
ACTIVE_SQL = """
type: mesh_platform.recipes.SqlProduct
attributes:
  inputs: [mesh://shop/clicks]
  sql: |
    SELECT user_id,
           max(clicked_at)::DATE > (SELECT max(clicked_at)::DATE FROM clicks)
               - CAST(term_parameter('active_user', 'window') AS INTERVAL) AS is_active
    FROM clicks GROUP BY user_id
"""


def test_two_domains_compute_their_own_active_user_from_the_same_clicks(lab):
    """The same SQL in two domains: the glossary's meaning of each domain decides the window."""
    lab.add_domain("shop")
    lab.add_domain("crm")
    lab.land("shop", "clicks.csv", CLICKS)
    lab.add_product(
        "shop",
        "clicks",
        "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: clicks.csv\n",
        contract_yaml("shop", "clicks", [column("user_id"), column("clicked_at", "timestamp")]),
    )
    active = [column("user_id"), column("is_active", "boolean", customProperties=[{"property": "term", "value": "active_user"}])]
    for domain in ("shop", "crm"):
        lab.add_product(domain, "active_users", ACTIVE_SQL, contract_yaml(domain, "active_users", active))
    lab.materialize("shop")
    lab.materialize("crm")
    shop = dict(owner_read("mesh://shop/active_users").itertuples(index=False))
    crm = dict(owner_read("mesh://crm/active_users").itertuples(index=False))
    assert shop == {"a": True, "b": False, "c": False, "d": True}  # 7 days
    assert crm == {"a": True, "b": True, "c": False, "d": True}  # 30 days
    assert {u for u, on in shop.items() if on} <= {u for u, on in crm.items() if on}


def test_columns_carrying_a_term_are_normalized_on_publish_and_checked(lab):
    lab.add_domain("shop")
    lab.land("shop", "orders.csv", "id,country,status\n1,U.S.,Done\n2,Deutschland,completed\n3,japan,canceled\n4,,CANCELLED\n")
    contract = contract_yaml(
        "shop",
        "orders",
        [
            column("id", "integer"),
            column("country", customProperties=[{"property": "term", "value": "country"}]),
            column("status", customProperties=[{"property": "term", "value": "status"}]),
        ],
    )
    lab.add_product("shop", "orders", "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: orders.csv\n", contract)
    result = lab.materialize("shop")
    rows = sorted(owner_read("mesh://shop/orders").itertuples(index=False, name=None))
    assert rows == [(1, "US", "completed"), (2, "DE", "completed"), (3, "JP", "cancelled"), (4, None, "cancelled")]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["country_is_country"] and checks["status_is_status"]

    # A value no mapping knows stays as written and fails the term's check: nothing is published.
    lab.land("shop", "orders.csv", "id,country,status\n1,U.S.,Done\n2,Atlantis,completed\n")
    failed = lab.materialize("shop", raise_on_error=False)
    assert not failed.success
    evaluation = next(c for c in failed.get_asset_check_evaluations() if c.check_name == "country_is_country")
    assert not evaluation.passed and "Atlantis" in str(evaluation.metadata)
    assert len(owner_read("mesh://shop/orders")) == 4


def test_mesh_glossary_shows_terms_meanings_mappings_and_users():
    text = run_mesh("glossary", check=True).stdout
    for needle in (
        "active_user (boolean)",
        "country (string)",
        "customer (string)",
        "iso-3166-1-alpha-2",
        "crosswalk   mesh://customers/customer_keys (sales: customer_number, customers: customer_id)",
        "mesh://web_analytics/visitor_activity is_active (active_user/web_analytics)",
        "mesh://marketing/customer_360 is_active (active_user/marketing)",
    ):
        assert needle in text, needle
    one = json.loads(run_mesh("glossary", "country", "--json", check=True).stdout)
    [country] = one["terms"]
    assert country["values"]["mapping"] == "iso-3166-1-alpha-2"
    users = {(u["product"], u["column"]) for u in country["used_by"]}
    assert {
        ("mesh://sales/orders", "country_code"),
        ("mesh://marketing/campaigns", "country"),
        ("mesh://web_analytics/sessions", "country_code"),
    } <= users
    unknown = run_mesh("glossary", "client")
    assert unknown.returncode == 1 and "the glossary has no term 'client'" in unknown.stderr
