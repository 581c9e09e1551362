"""The platform's Dagster resources: everything a build touches, configured through Definitions."""

import importlib
import json
import shutil
import subprocess
import sys

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from mesh_platform import (
    AccessControlResource,
    Address,
    CatalogResource,
    DomainDuckDBResource,
    LandingZoneResource,
    PortStoreResource,
)
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.storage import PortStore
from mesh_platform.storage.location import Location

from .conftest import REPO, column, contract_yaml

RESOURCES = {
    "mesh_catalog": CatalogResource,
    "mesh_ports": PortStoreResource,
    "mesh_duckdb": DomainDuckDBResource,
    "mesh_landing": LandingZoneResource,
    "mesh_access": AccessControlResource,
}


def fresh_definitions(module: str) -> dg.Definitions:
    """A code location's definitions loaded anew, in this process's environment."""
    for name in [m for m in sys.modules if m.startswith(module.rsplit(".", 1)[0])]:
        del sys.modules[name]
    return importlib.import_module(module).defs


def test_every_domain_gets_the_platform_resources_with_descriptions(mesh_home):
    defs = fresh_definitions("domains.sales.definitions")
    assert {key: type(resource) for key, resource in defs.resources.items()} == RESOURCES
    for resource_type in RESOURCES.values():
        assert resource_type.__doc__, resource_type
        for name, field in resource_type.model_fields.items():
            assert field.description, f"{resource_type.__name__}.{name} has no description"
    assert issubclass(DomainDuckDBResource, DuckDBResource)  # dagster-duckdb's resource, with its retries
    assert defs.resources["mesh_duckdb"].database == str(mesh_home.domain_database("sales"))
    assert defs.resources["mesh_ports"].root == str(mesh_home.ports_root)


def test_the_hashing_key_is_an_environment_variable_never_a_value(mesh_home, monkeypatch):
    monkeypatch.setenv("MESH_SECRET", "s3cret")
    defs = fresh_definitions("domains.sales.definitions")
    snapshot = dg.serialize_value(_repository_snapshot(defs))
    assert "s3cret" not in snapshot and "MESH_SECRET" in snapshot


CUSTOMERS = [column("id", "integer", required=True), column("email", classification="personal")]


def test_a_product_materializes_with_resources_given_through_definitions_alone(lab, monkeypatch, tmp_path):
    """No environment variable: the resources say where everything is, and nothing else is touched."""
    lab.add_domain("crm")
    lab.add_domain("ads")
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: people.csv\n"
    lab.add_product("crm", "people", source, contract_yaml("crm", "people", CUSTOMERS))
    lab.add_product(
        "ads",
        "reach",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
        "  sql: SELECT id, email FROM people\n",
        contract_yaml("ads", "reach", [column("id", "integer"), column("email", classification="personal")]),
    )
    for name in ("MESH_HOME", "MESH_ROOT", "DAGSTER_HOME", "MESH_GLOSSARY", "MESH_LANDING", "MESH_SECRET"):
        monkeypatch.delenv(name, raising=False)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "landing" / "crm").mkdir(parents=True)
    (elsewhere / "landing" / "crm" / "people.csv").write_text("id,email\n1,ann@example.com\n2,bob@example.com\n")

    def configured(domain: str) -> dg.Definitions:
        loaded = lab.definitions(domain)
        resources = {
            "mesh_catalog": CatalogResource(root=str(lab.root), glossary_file=str(lab.glossary_file)),
            "mesh_ports": PortStoreResource(root=str(elsewhere / "ports"), vault_root=str(elsewhere / "vault")),
            "mesh_duckdb": DomainDuckDBResource(database=str(elsewhere / "work" / f"{domain}.duckdb")),
            "mesh_landing": LandingZoneResource(root=str(elsewhere / "landing")),
            "mesh_access": AccessControlResource(log_file=str(elsewhere / "reads.sqlite"), secret_file=str(elsewhere / "key")),
        }
        return dg.Definitions(assets=loaded.assets, resources=resources)

    default_home = sorted((lab.root / ".mesh").rglob("*"))  # what the lab fixture put there (an empty instance)
    with dg.instance_for_test() as instance:
        for domain in ("crm", "ads"):
            assert configured(domain).resolve_implicit_global_asset_job_def().execute_in_process(instance=instance).success

    ports = PortStore(Location.of(elsewhere / "ports"), Location.of(elsewhere / "vault"))
    people = ports.port(Address("crm", "people", 1)).to_pandas()
    assert people["email"].str.fullmatch(r"[0-9a-f]{64}").all()  # tokens, keyed with the key kept where the resource says
    clear = ports.vault.dataset("crm").to_table().to_pandas()  # the clear values, in the vault the resource names
    assert sorted(clear.set_index("token").loc[people["email"], "value"]) == ["ann@example.com", "bob@example.com"]
    reach = ports.port(Address("ads", "reach", 1)).to_pandas()
    seen_by_ads = ports.vault.dataset("ads").to_table().to_pandas().set_index("token").loc[reach["email"], "value"]
    assert sorted(seen_by_ads) == sorted(people["email"])  # ads received crm's tokens (e-mails it may not see), and keeps them
    assert (elsewhere / "key").is_file() and (elsewhere / "work" / "crm.duckdb").is_file()
    assert [(r.consumer, r.product) for r in AccessLog(elsewhere / "reads.sqlite").entries()] == [("ads", "mesh://crm/people")]
    assert sorted((lab.root / ".mesh").rglob("*")) == default_home, "nothing is written to the default MESH_HOME"


@pytest.mark.slow
def test_definitions_are_the_same_with_an_empty_a_missing_and_a_populated_mesh_home(demo_mesh, tmp_path):
    """A code location's definitions come from the repository's files alone, never from the state under MESH_HOME."""
    home = tmp_path / "home"
    script = (
        "import importlib, json, hashlib\n"
        "import dagster as dg\n"
        "from tests.test_resources import _repository_snapshot\n"
        "snapshots = {}\n"
        "for domain in ('customers', 'sales', 'web_analytics', 'marketing', 'planning'):\n"
        "    defs = importlib.import_module(f'domains.{domain}.definitions').defs\n"
        "    snapshots[domain] = dg.serialize_value(_repository_snapshot(defs))\n"
        "print(json.dumps(snapshots))\n"
    )

    def snapshots() -> dict[str, str]:
        env = {**demo_mesh.settings.environment(), "MESH_HOME": str(home)}
        env.pop("DAGSTER_HOME")
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True
        )
        return json.loads(result.stdout.strip().splitlines()[-1])

    missing = snapshots()
    assert not home.exists(), "loading definitions writes nothing under MESH_HOME"
    home.mkdir()
    empty = snapshots()
    shutil.copytree(demo_mesh.settings.home, home, dirs_exist_ok=True)
    assert (home / "ports" / "sales" / "orders" / "v1" / "_delta_log").is_dir()
    populated = snapshots()
    for domain in missing:
        assert missing[domain] == empty[domain] == populated[domain], domain


def _repository_snapshot(defs: dg.Definitions):
    # Dagster has no public API that serializes a code location's definitions the way the
    # webserver and daemon receive them; this is the snapshot they compare.
    from dagster._core.remote_representation.external_data import RepositorySnap

    return RepositorySnap.from_def(defs.get_repository_def())
