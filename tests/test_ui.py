"""The Dagster UI for the mesh: `mesh ui` serves every domain on 127.0.0.1 with cross-domain lineage."""

import pytest

from .conftest import LOCATIONS_QUERY, graphql

pytestmark = pytest.mark.slow

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
