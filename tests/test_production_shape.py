"""The whole demo mesh in the production shape, end to end: Dagster's state in PostgreSQL, the five domains
served by five gRPC code servers, the ports on an S3-compatible object store, every build launched through
the webserver's GraphQL API (as the UI and schedules launch them) and so through the run queue.

PostgreSQL, moto's S3 emulator, the code servers and the webserver all listen on 127.0.0.1 and are
started and stopped by the tests.
"""

import json
import subprocess
import sys

import dagster as dg
import pytest
import yaml

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.settings import MeshSettings

from .conftest import free_port, owner_read
from .onebox import Onebox
from .s3_server import KEY_ID, SECRET

pytestmark = pytest.mark.slow


@pytest.fixture
def production(repo_copy, postgres, s3, monkeypatch):
    """The demo mesh (a copy of the repository), seeded, with a deployment `production` in the shape above."""
    root = repo_copy.root
    bucket = s3.new_bucket()
    catalog = Catalog.load(root)
    ports = {domain: free_port() for domain in catalog.domains}
    (root / "deploy").mkdir()
    deployment = {
        "instance": {"postgres_url": {"env": "E2E_POSTGRES_URL"}},
        "runs": {"max_concurrent": 4, "per_domain": 1},
        "code_servers": {"ports": ports},
        "port_store": {"uri": f"s3://{bucket}/mesh", "storage_options": s3.storage_options("E2E_S3_KEY_ID", "E2E_S3_SECRET")},
    }
    (root / "deploy" / "production.yaml").write_text(yaml.safe_dump(deployment))
    environment = {
        **repo_copy.env, "MESH_ENV": "production", "MESH_SECRET": "production-shape-secret",
        "E2E_POSTGRES_URL": postgres.new_database("production_shape"), "E2E_S3_KEY_ID": KEY_ID, "E2E_S3_SECRET": SECRET,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    subprocess.run([sys.executable, "-m", "mesh_platform.cli.main", "seed", "--rows", "2000"], cwd=root, check=True, capture_output=True)
    box = Onebox(root, "production")
    try:
        for domain in catalog.domains:
            box.serve(domain)
        box.start_ui()
        box.wait_loaded(*catalog.domains)
        box.catalog, box.bucket = catalog, bucket
        yield box
    finally:
        box.close()


def test_the_demo_mesh_runs_on_postgres_code_servers_and_an_object_store_launched_through_graphql(production, postgres, s3):
    catalog = production.catalog
    # Wave by wave, as inputs are published: one run per domain for its unpartitioned products, one
    # backfill of every partition for each partitioned product (one run: its backfill policy).
    remaining, published, runs, backfills = dict(catalog.products), set(), [], []
    while remaining:
        wave = [p for p in remaining.values() if all(i.address.unversioned() in published for i in p.inputs)]
        assert wave, f"no product of {sorted(map(str, remaining))} has its inputs published"
        launched_runs, launched_backfills = [], []
        for domain in sorted({p.address.domain for p in wave}):
            plain = [p.address.product for p in wave if p.address.domain == domain and p.contract.partitioning is None]
            if plain:
                launched_runs.append(production.launch(domain, *plain))
            launched_backfills += [production.backfill(domain, p.address.product) for p in wave if p.address.domain == domain and p.contract.partitioning]
        assert set(production.wait_finished(*launched_runs, timeout=600).values()) <= {"SUCCESS"}, "a run failed"
        assert set(production.wait_backfills(*launched_backfills).values()) <= {"COMPLETED", "COMPLETED_SUCCESS"}, "a backfill failed"
        runs += launched_runs
        backfills += launched_backfills
        for product in wave:
            published.add(product.address)
            del remaining[product.address]

    # Every product is published to the bucket and readable from it.
    keys = set(s3.keys(production.bucket, "mesh/ports/"))
    for address, product in catalog.products.items():
        port = product.port_address
        assert f"mesh/ports/{port.domain}/{port.product}/v{port.major}/_delta_log/00000000000000000000.json" in keys, address
        assert len(owner_read(str(address))) > 0, address
    settings = MeshSettings.from_env()
    assert not (settings.home / "ports").exists()

    # Dagster's state is in PostgreSQL: every run, each tagged with its domain's code location. Besides the
    # test's runs (one per backfill), only the daemon's own may be there: a schedule or sensor that ticked meanwhile.
    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        records = instance.get_run_records()
        ours = [r for r in records if r.dagster_run.run_id in runs or r.dagster_run.tags.get("dagster/backfill") in backfills]
        assert len(ours) == len(runs) + len(backfills)
        assert {r.dagster_run.status for r in ours} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.dagster_run.tags["dagster/code_location"] for r in ours} == set(catalog.domains)
        daemons = [r.dagster_run.tags for r in records if r not in ours]
        assert all("dagster/schedule_name" in tags or "dagster/sensor_name" in tags for tags in daemons), daemons
    assert postgres.query("production_shape", "SELECT count(*) FROM runs")[0][0] == len(records)

    status = subprocess.run([sys.executable, "-m", "mesh_platform.cli.main", "status", "--json"], capture_output=True, text=True)
    report = json.loads(status.stdout)
    assert status.returncode == 0 and report["healthy"], status.stdout
    assert all(p["last_materialization"] for p in report["products"])
