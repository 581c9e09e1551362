"""An operator in the real Dagster UI, driven in headless Chromium: find products by owner and by
domain, open one, see its address, owner, column schema and check results. Screenshots are kept
in test-artifacts/ui/ (CI keeps them as artifacts)."""

import contextlib
import os
import re
import shutil
import time

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "ui"
# Flags for a closed network: no background connections, no sandbox when running as root.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
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
        page.set_default_timeout(60_000)
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


def listed_products(page) -> set[str]:
    """The products the asset list shows, as domain/product (from the rows' links)."""
    page.wait_for_load_state("networkidle")
    time.sleep(1)
    links = page.locator("a[href^='/assets/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return {m[1] for href in links if (m := re.fullmatch(r"/assets/([a-z_0-9]+/[a-z_0-9]+)", href))}


def test_an_operator_finds_a_product_and_reads_its_page(browser_page):
    page, base = browser_page
    page.goto(f"{base}/assets", wait_until="networkidle")
    dismiss_welcome(page)
    page.get_by_text("sales / orders").first.wait_for()
    everything = listed_products(page)
    assert len(everything) == 13, everything
    page.screenshot(path=ARTIFACTS / "1-asset-catalog.png")

    filter_assets(page, 'owner:"ana.ruiz@example.com"')
    page.wait_for_url(re.compile(r"asset-selection=owner"))
    assert listed_products(page) == {"sales/raw_orders", "sales/orders", "sales/daily_revenue"}
    page.screenshot(path=ARTIFACTS / "2-filtered-by-owner.png")

    filter_assets(page, 'group:"marketing"')
    page.wait_for_url(re.compile(r"asset-selection=group"))
    assert listed_products(page) == {"marketing/campaigns", "marketing/customer_360", "marketing/campaign_audience"}
    page.screenshot(path=ARTIFACTS / "3-filtered-by-domain.png")

    filter_assets(page, 'group:"sales"')
    page.wait_for_url(re.compile(r"asset-selection=group"))
    page.locator("a[href='/assets/sales/orders']").first.click()
    page.wait_for_url(re.compile(r"/assets/sales/orders"))
    page.get_by_text("Columns").first.wait_for()
    page.wait_for_load_state("networkidle")
    text = page.locator("body").inner_text()
    assert "mesh://sales/orders · public · contract 1.0.0" in text  # the description starts with it
    assert "ana.ruiz@example.com" in text  # owner
    for column, column_type in (("order_id", "VARCHAR"), ("country_code", "VARCHAR"), ("amount_usd", "DECIMAL(12,2)")):
        assert column in text and column_type in text
    assert "classification: public" in text and "term: country" in text
    assert "Latest check results" in text and "Freshness policy" in text
    page.screenshot(path=ARTIFACTS / "4-product-page.png", full_page=True)

    page.get_by_role("tab", name="Checks").click()
    page.wait_for_url(re.compile(r"view=checks"))
    page.get_by_text("country_code_is_country").first.wait_for()
    checks = page.locator("body").inner_text()
    for check in ("governance", "order_id_unique", "country_code_is_country", "known_country_share"):
        assert check in checks
    assert "Succeeded" in checks
    page.screenshot(path=ARTIFACTS / "5-product-checks.png", full_page=True)
