"""The Dagster UI for the mesh: `mesh ui` serves every domain on 127.0.0.1 with cross-domain lineage, through its
GraphQL API and to an operator in headless Chromium: find products by owner and by domain, open one, see its
address, owner, column schema, check results and partitions. Screenshots are kept in test-artifacts/ui/ (CI keeps
them as artifacts).

Every test here reads one `mesh ui` of the demo mesh (the `ui` fixture, once per module), so they run on one
pytest-xdist worker (conftest's ONE_WORKER_MODULES)."""

import contextlib
import json
import os
import re
import shutil
import time

import dagster as dg
import pytest

from .conftest import LOCATIONS_QUERY, REPO, graphql

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "ui"
ALL_PRODUCTS = [
    "customers/change_events",
    "customers/customer_keys",
    "customers/profiles",
    "sales/raw_orders",
    "sales/orders",
    "sales/daily_revenue",
    "web_analytics/page_views",
    "web_analytics/sessions",
    "web_analytics/visitor_activity",
    "marketing/campaigns",
    "marketing/customer_360",
    "marketing/campaign_audience",
    "planning/japan_sales_forecast",
]
ASSETS_QUERY = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    repository { location { name } }
} }
"""


def test_ui_serves_every_domain_on_loopback_with_cross_domain_lineage(ui):
    port, process = ui
    entries = graphql(port, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
    assert {e["name"]: e["locationOrLoadError"]["__typename"] for e in entries} == {
        d: "RepositoryLocation" for d in ("customers", "sales", "web_analytics", "marketing", "planning")
    }
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(port, ASSETS_QUERY)["assetNodes"]}
    assert len(nodes) == 13
    audience = nodes["marketing/customer_360"]
    assert audience["repository"]["location"]["name"] == "marketing"
    assert audience["groupName"] == "marketing"
    assert {"team": "marketing"} in audience["owners"]
    assert {"/".join(d["path"]) for d in audience["dependencyKeys"]} == {
        "customers/profiles",
        "customers/customer_keys",
        "sales/orders",
        "web_analytics/sessions",
    }
    assert listening_addresses(port) == {"0100007F"}, "the UI must listen on 127.0.0.1 only"


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) with a listening TCP socket on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


RESOURCES_QUERY = """
{ allTopLevelResourceDetailsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "sales"}) {
    ... on ResourceDetailsList { results {
        name description resourceType
        configFields { name description }
        configuredValues { key value type }
        assetKeysUsing { path }
    } }
} }
"""


def test_the_resources_page_lists_the_platform_resources_with_descriptions(ui):
    port, _ = ui
    results = graphql(port, RESOURCES_QUERY)["allTopLevelResourceDetailsOrError"]["results"]
    resources = {r["name"]: r for r in results if r["name"].startswith("mesh_")}
    assert set(resources) == {"mesh_catalog", "mesh_ports", "mesh_duckdb", "mesh_landing", "mesh_access"}
    for resource in resources.values():
        assert resource["description"], resource["name"]
        assert all(field["description"] for field in resource["configFields"]), resource["name"]
        assert {tuple(k["path"]) for k in resource["assetKeysUsing"]} >= {("sales", "orders")}
    assert resources["mesh_duckdb"]["resourceType"].endswith("DomainDuckDBResource")
    duckdb = {v["key"]: v["value"] for v in resources["mesh_duckdb"]["configuredValues"]}
    assert duckdb["database"].strip('"').endswith("domains/sales/sales.duckdb")


# Flags for a closed network: no background connections, no sandbox when running as root.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("MESH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "Chromium is not installed: `make browser` installs Debian's chromium package"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it through `make test`; a missing browser is a failure there
    pytest.skip(message)


def sync_api():
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser_page(ui):
    port, _ = ui
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        # Dagster greets a first visit with a 'Join the Dagster community' dialog, sometimes late: whenever it
        # stands in the way of an action, Playwright skips it first.
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        page.set_default_timeout(60_000)
        sync_api().expect.set_options(timeout=60_000)
        yield page, f"http://127.0.0.1:{port}"
        browser.close()


def dismiss_welcome(page) -> None:
    """Dagster greets a first visit with a 'Join the Dagster community' dialog."""
    with contextlib.suppress(sync_api().TimeoutError):  # no dialog this time
        page.get_by_role("button", name="Skip").click(timeout=4000)


def filter_assets(page, selection: str) -> None:
    page.locator(".CodeMirror").first.click()
    box = page.get_by_label("Search and filter assets")
    box.press("Control+A")
    box.press("Backspace")
    box.press_sequentially(selection)
    box.press("Enter")
    box.press("Escape")  # close the suggestions, so screenshots show the list
    box.evaluate("element => element.blur()")


def listed_products(page, expected: set[str], timeout: float = 60) -> set[str]:
    """The products the asset list shows, as domain/product (from the rows' links), once they are
    `expected` or the list stopped changing until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        page.wait_for_load_state("networkidle")
        links = page.locator("a[href^='/assets/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        shown = {m[1] for href in links if (m := re.fullmatch(r"/assets/([a-z_0-9]+/[a-z_0-9]+)", href))}
        if shown == expected or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def test_an_operator_finds_a_product_and_reads_its_page(browser_page):
    page, base = browser_page
    page.goto(f"{base}/assets", wait_until="networkidle")
    dismiss_welcome(page)
    page.get_by_text("sales / orders").first.wait_for()
    everything = listed_products(page, set(ALL_PRODUCTS))
    assert everything == set(ALL_PRODUCTS)
    page.screenshot(path=ARTIFACTS / "1-asset-catalog.png")

    filter_assets(page, 'owner:"ana.ruiz@example.com"')
    page.wait_for_url(re.compile(r"asset-selection=owner"))
    sales = {"sales/raw_orders", "sales/orders", "sales/daily_revenue"}
    assert listed_products(page, sales) == sales
    sync_api().expect(page.locator("body")).to_contain_text("Materialized")
    page.screenshot(path=ARTIFACTS / "2-filtered-by-owner.png")

    filter_assets(page, 'group:"marketing"')
    page.wait_for_url(re.compile(r"asset-selection=group"))
    marketing = {"marketing/campaigns", "marketing/customer_360", "marketing/campaign_audience"}
    assert listed_products(page, marketing) == marketing
    sync_api().expect(page.locator("body")).to_contain_text("Materialized")
    page.screenshot(path=ARTIFACTS / "3-filtered-by-domain.png")

    filter_assets(page, 'group:"sales"')
    page.wait_for_url(re.compile(r"asset-selection=group"))
    page.locator("a[href='/assets/sales/orders']").first.click()
    page.wait_for_url(re.compile(r"/assets/sales/orders"))
    body = sync_api().expect(page.locator("body"))  # waits (up to the timeout) while the page renders
    body.to_contain_text("mesh://sales/orders · public · contract 1.1.0")  # the description starts with it
    body.to_contain_text("ana.ruiz@example.com")  # owner
    for needle in ("order_id", "country_code", "amount_usd", "DECIMAL(12,2)", "classification: public", "term: country"):
        body.to_contain_text(needle)  # the column schema
    body.to_contain_text("Latest check results")
    body.to_contain_text("Passing")  # the freshness policy
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "4-product-page.png", full_page=True)

    page.get_by_role("tab", name="Checks").click()
    page.wait_for_url(re.compile(r"view=checks"))
    for check in ("governance", "order_id_unique", "country_code_is_country", "known_country_share", "Succeeded"):
        body.to_contain_text(check)
    page.screenshot(path=ARTIFACTS / "5-product-checks.png", full_page=True)

    # A partitioned product's partitions: every day materialized, one by one in the partition view.
    page.get_by_role("tab", name="Partitions").click()
    page.wait_for_url(re.compile(r"view=partitions"))
    days = len(dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC").get_partition_keys())
    for state in (f"{days} Partitions Selected", f"Materialized ({days})", "Failed (0)", "Missing (0)"):
        body.to_contain_text(state)
    page.get_by_placeholder("Filter by name").fill("2026-03-02")
    page.locator("span", has_text="2026-03-02").first.click()
    body.to_contain_text("mesh/partitions")  # the partition's materialization: the range that built it
    body.to_contain_text("dagster/row_count")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "5b-partitions.png", full_page=True)

    # The code location's Resources page: the platform's resources; each one's page says what it is.
    page.goto(f"{base}/locations/sales/resources", wait_until="networkidle")
    for name in ("mesh_catalog", "mesh_ports", "mesh_duckdb", "mesh_landing", "mesh_access"):
        body.to_contain_text(name)
    page.screenshot(path=ARTIFACTS / "6-resources.png", full_page=True)
    page.locator("a[href='/locations/sales/resources/mesh_ports']").first.click()
    page.wait_for_url(re.compile(r"/resources/mesh_ports"))
    body.to_contain_text("Where published ports live")  # the resource's description
    body.to_contain_text("Where the ports are")  # its setting's description
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "7-resource-port-store.png", full_page=True)


COLUMN_LINEAGE_QUERY = """
query ($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(limit: 1) {
        metadataEntries {
          label
          ... on TableColumnLineageMetadataEntry { lineage { columnName columnDeps { assetKey { path } columnName } } }
        }
      }
    }
  }
}
"""


def test_an_operator_reads_a_cross_domain_products_column_lineage(browser_page, ui, demo_mesh):
    """marketing/customer_360's page shows where each column comes from, in three domains, as `mesh lineage` prints it;
    the upstream column links to its product's page; the materialization carries Dagster's dagster/column_lineage."""
    from .conftest import run_mesh

    page, base = browser_page
    cli = json.loads(run_mesh("lineage", "mesh://marketing/customer_360", "--upstream", "--json", check=True).stdout)["columns"]
    page.goto(f"{base}/assets/marketing/customer_360", wait_until="networkidle")
    page.locator("tr", has_text="mesh/column_lineage").first.get_by_text("Show Markdown").click()
    dialog = sync_api().expect(page.get_by_role("dialog"))
    dialog.to_contain_text("Column lineage (parsed from the recipe's SQL)")
    for name, entry in cli.items():  # every column, with the same sources as the CLI
        row = page.get_by_role("dialog").locator("tr", has=page.locator("td", has_text=re.compile(f"^{name}$")))
        sync_api().expect(row).to_have_text(
            re.compile(f"{name}\\s*" + re.escape(", ".join(entry["upstream"]) or "no input column"))
        )
    assert cli["lifetime_revenue_usd"]["upstream"] == ["mesh://sales/orders.amount_usd"]
    page.wait_for_timeout(500)  # the dialog's opening animation
    page.screenshot(path=ARTIFACTS / "8-column-lineage.png")
    # The source column links to its product, in another domain.
    page.get_by_role("dialog").locator("tr", has_text="lifetime_revenue_usd").locator("a").first.click()
    page.wait_for_url(re.compile(r"/assets/sales/orders"))
    sync_api().expect(page.locator("body")).to_contain_text("mesh://sales/orders · public")

    port, _ = ui
    found = graphql(port, COLUMN_LINEAGE_QUERY, {"key": {"path": ["marketing", "customer_360"]}})["assetOrError"]
    [entry] = [e for e in found["assetMaterializations"][0]["metadataEntries"] if e["label"] == "dagster/column_lineage"]
    deps = {
        c["columnName"]: [(".".join(d["assetKey"]["path"]), d["columnName"]) for d in c["columnDeps"]] for c in entry["lineage"]
    }
    assert deps["lifetime_revenue_usd"] == [("sales.orders", "amount_usd")]
    assert deps["email"] == [("customers.profiles", "email")]
