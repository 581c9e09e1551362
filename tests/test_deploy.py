"""Deployments: `local` (embedded) needs no file; `deploy/<env>.yaml` moves Dagster's state to PostgreSQL,
queues runs with a limit per domain and serves each domain from a gRPC code server.

The fast tests check what the mesh writes against Dagster's own reading of it (the instance it opens,
the run queue it configures); the slow ones run real builds on a PostgreSQL server on 127.0.0.1.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib

import dagster as dg
import psutil
import pytest
import yaml

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.catalog.workspace import read_workspace
from mesh_platform.core.deployment import Deployment
from mesh_platform.core.errors import MeshError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.code_servers import code_servers, server_services, workspace_file
from mesh_platform.runtime.kubernetes import check_values, helm_values

from .conftest import REPO, column, contract_yaml, free_port, run_mesh
from .onebox import Onebox, process_tree, wait_for

ITEMS = [column("item_id", "integer", "BIGINT", required=True), column("price", "number", "DOUBLE")]
SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: items.csv\n"
TOTALS = [column("items", "integer", "BIGINT"), column("revenue", "number", "DOUBLE")]
SQL = (
    "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://{domain}/items]\n"
    "  sql: SELECT count(*) AS items, sum(price) AS revenue FROM items\n"
)


def deploy(lab, name: str, text: str) -> None:
    folder = lab.root / "deploy"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text))


def shop_domains(lab, *domains: str) -> None:
    """Domains each with a source product `items` (landed) and a SQL product `totals` reading it."""
    for domain in domains:
        lab.add_domain(domain)
        lab.add_product(domain, "items", SOURCE, contract_yaml(domain, "items", ITEMS))
        lab.add_product(domain, "totals", SQL.format(domain=domain), contract_yaml(domain, "totals", TOTALS))
        lab.land(domain, "items.csv", "item_id,price\n1,2.5\n2,4.0\n3,1.5\n")


def instance_of(settings: MeshSettings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(settings.ensure_dagster_home()))


def test_without_a_deployment_file_the_mesh_is_embedded_in_sqlite(lab, monkeypatch):
    monkeypatch.delenv("MESH_ENV", raising=False)
    settings = MeshSettings.from_env()
    assert settings.deployment == Deployment() and settings.deployment.name == "local"
    written = yaml.safe_load((settings.ensure_dagster_home() / "dagster.yaml").read_text())
    assert "storage" not in written and "runs" not in written["concurrency"]
    assert written["nux"] == {"enabled": False} and written["telemetry"] == {"enabled": False}  # no pop-up, nothing sent
    with instance_of(settings) as instance:
        assert not instance.nux_enabled
    with instance_of(settings) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"


def test_run_limits_configure_dagster_run_queue_per_domain(lab, monkeypatch):
    deploy(
        lab,
        "queued",
        """
        runs:
          max_concurrent: 3
          per_domain: 1
    """,
    )
    monkeypatch.setenv("MESH_ENV", "queued")
    settings = MeshSettings.from_env()
    with instance_of(settings) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 3
        assert queue.tag_concurrency_limits == [
            {"key": "dagster/code_location", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
        assert queue.max_user_code_failure_retries == 0  # no code servers: nothing restarts under a queued run
    deploy(lab, "queued", "runs: {max_concurrent: 3, per_domain: 1}\ncode_servers: {first_port: 4300}\n")
    with instance_of(MeshSettings.from_env()) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        # A domain's code server restarting under a queued run of it: the run waits for it, it does not fail.
        assert (queue.max_user_code_failure_retries, queue.user_code_failure_retry_delay) == (6, 10)
        assert queue.max_concurrent_runs == 3
    monkeypatch.setenv("MESH_RUNS_PER_DOMAIN", "4")  # the environment overrides the file
    with instance_of(MeshSettings.from_env()) as instance:
        assert instance.get_concurrency_config().run_queue_config.tag_concurrency_limits[0]["limit"] == 4


def test_a_postgres_url_from_the_environment_is_kept_a_reference(lab, monkeypatch):
    monkeypatch.setenv("MESH_POSTGRES_URL", "postgresql://mesh:s3cret-password@127.0.0.1:5432/mesh")
    settings = MeshSettings.from_env()
    assert settings.deployment.uses_postgres
    text = (settings.ensure_dagster_home() / "dagster.yaml").read_text()
    assert "s3cret-password" not in text
    assert yaml.safe_load(text)["storage"] == {"postgres": {"postgres_url": {"env": "MESH_POSTGRES_URL"}}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runs:\n  per_domain: 0\n", "deploy/bad.yaml:2: runs.per_domain: Input should be greater than or equal to 1"),
        ("runs:\n  max_concurent: 4\n", "deploy/bad.yaml:2: runs.max_concurent: unknown setting 'max_concurent' (a typo?)"),
        (
            "code_servers:\n  first_port: 99999\n",
            "deploy/bad.yaml:2: code_servers.first_port: Input should be less than or equal to 65535",
        ),
        (
            "instance:\n  postgres_url: {env: NOT_SET_ANYWHERE}\n",
            "deploy/bad.yaml: instance.postgres_url: the environment variable NOT_SET_ANYWHERE is not set",
        ),
        ("instance: [postgres]\n", "deploy/bad.yaml:1: instance: Input should be a valid dictionary"),
        ("runs: {per_domain: 1}\nname: prod\n", "deploy/bad.yaml:2: name: 'name' is not a setting"),
    ],
)
def test_a_broken_deployment_names_the_file_the_field_and_the_fix(lab, monkeypatch, text, expected):
    shop_domains(lab, "shop")
    deploy(lab, "bad", text)
    result = run_mesh("--env", "bad", "status", env={**os.environ, "MESH_ENV": "bad"}, cwd=lab.root)
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert not (lab.settings.dagster_home / "dagster.yaml").read_text().count("bad")  # nothing written for it


def test_an_unknown_environment_lists_the_known_ones(lab):
    shop_domains(lab, "shop")
    deploy(lab, "onebox", "runs: {per_domain: 1}\n")
    result = run_mesh("status", env={**os.environ, "MESH_ENV": "prod"}, cwd=lab.root)
    assert result.returncode == 1
    assert "no deployment 'prod'" in result.stderr and "known: onebox" in result.stderr
    outside = run_mesh("status", env={**os.environ, "MESH_ENV": "../../etc/secrets"}, cwd=lab.root)
    assert outside.returncode == 1 and "'../../etc/secrets' is not a deployment name" in outside.stderr


def test_code_servers_get_ports_in_workspace_order_and_a_workspace_of_grpc_servers(lab, monkeypatch):
    shop_domains(lab, "shop", "crm", "books")
    deploy(
        lab,
        "grpc",
        """
        code_servers:
          first_port: 4300
          ports: {crm: 4400}
    """,
    )
    monkeypatch.setenv("MESH_ENV", "grpc")
    settings = MeshSettings.from_env()
    assert [(s.domain.name, s.host, s.port) for s in code_servers(settings)] == [
        ("shop", "127.0.0.1", 4300),
        ("crm", "127.0.0.1", 4400),
        ("books", "127.0.0.1", 4301),
    ]
    workspace = yaml.safe_load(workspace_file(settings).read_text())
    assert workspace["load_from"][1] == {"grpc_server": {"host": "127.0.0.1", "port": 4400, "location_name": "crm"}}
    command = next(s for s in code_servers(settings) if s.domain.name == "crm").command()
    assert command[command.index("--module-name") + 1] == f"{lab.package}.crm.definitions" and "--location-name" in command

    deploy(lab, "grpc", "code_servers:\n  ports: {warehouse: 4500}\n")
    with pytest.raises(MeshError, match="code_servers.ports names no domain of workspace.yaml: warehouse"):
        code_servers(MeshSettings.from_env())
    monkeypatch.setenv("MESH_ENV", "local")
    with pytest.raises(MeshError, match="serves no code servers"):
        code_servers(MeshSettings.from_env())


def test_each_domain_s_code_server_holds_its_own_store_key_and_no_other(lab, monkeypatch):
    shop_domains(lab, "shop", "crm", "books")
    deploy(
        lab,
        "keys",
        """
        code_servers: {first_port: 4300}
        port_store:
          uri: s3://mesh-data/keys
          storage_options: {AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_REGION: us-east-1}
        credentials:
          shop: {AWS_ACCESS_KEY_ID: {env: SHOP_KEY_ID}, AWS_SECRET_ACCESS_KEY: {env: SHOP_SECRET}}
    """,
    )
    monkeypatch.setenv("MESH_ENV", "keys")
    monkeypatch.setenv("SHOP_KEY_ID", "AKIASHOP")
    monkeypatch.setenv("SHOP_SECRET", "shop-secret")
    settings = MeshSettings.from_env()
    written = settings.credentials_file("crm")  # the key `mesh deploy access --apply` wrote for crm
    written.parent.mkdir(parents=True)
    written.write_text("AWS_ACCESS_KEY_ID=AKIACRM\nAWS_SECRET_ACCESS_KEY=crm-secret\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")  # the operator's own, with a session token
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "operator-token")
    monkeypatch.setenv("MESH_SECRET", "the-hashing-key")
    lab.add_product(
        "crm",
        "people",
        SOURCE,
        contract_yaml("crm", "people", [column("item_id", "integer"), column("price", "number", classification="personal")]),
    )
    credentials = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MESH_SECRET")
    keys = {
        s.name.split("'")[0]: {k: v for k, v in (dict(s.env) or os.environ).items() if k in credentials}
        for s in server_services(settings, Catalog.load(lab.root), code_servers(settings))
    }
    assert keys == {
        "shop": {"AWS_ACCESS_KEY_ID": "AKIASHOP", "AWS_SECRET_ACCESS_KEY": "shop-secret"},  # the file's credentials, alone
        "crm": {
            "AWS_ACCESS_KEY_ID": "AKIACRM",
            "AWS_SECRET_ACCESS_KEY": "crm-secret",  # the applied one
            "MESH_SECRET": "the-hashing-key",
        },  # and the hashing key: crm alone publishes a personal column
        "books": {
            "AWS_ACCESS_KEY_ID": "AKIAOPERATOR",
            "AWS_SECRET_ACCESS_KEY": "operator-secret",
            "AWS_SESSION_TOKEN": "operator-token",
        },
    }  # books has none yet: the environment's

    monkeypatch.delenv("SHOP_SECRET")
    with pytest.raises(
        MeshError, match="credentials.shop.AWS_SECRET_ACCESS_KEY: the environment variable SHOP_SECRET is not set"
    ):
        settings.principal_environment("shop")
    deploy(
        lab,
        "keys",
        """
        port_store:
          uri: s3://mesh-data/keys
          storage_options: {AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: {env: ONE_KEY}}
        credentials:
          shop: {AWS_ACCESS_KEY_ID: AKIASHOP}
    """,
    )
    refused = run_mesh("status", cwd=lab.root)
    assert refused.returncode == 1
    assert (
        "deploy/keys.yaml:4: port_store.storage_options.AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID here would be every process's key"
        in refused.stderr
    )


def mesh_process(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """The real `mesh` command in a process of its own, in the lab's environment."""
    result = subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mesh {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.mark.slow
def test_on_postgres_every_mesh_command_keeps_dagster_state_in_the_database(lab, postgres, monkeypatch):
    shop_domains(lab, "shop", "crm")
    crm_reads_shop = SQL.format(domain="shop")  # a read across domains: the access log records it
    lab.add_product("crm", "shop_totals", crm_reads_shop, contract_yaml("crm", "shop_totals", TOTALS))
    url = postgres.new_database("onebox_state")
    deploy(
        lab,
        "onebox",
        """
        instance:
          postgres_url: {env: LAB_POSTGRES_URL}
        runs: {max_concurrent: 4, per_domain: 1}
    """,
    )
    monkeypatch.setenv("LAB_POSTGRES_URL", url)

    built = mesh_process("--env", "onebox", "materialize", "--all")
    assert "materialized 5 products" in built.stdout, built.stdout
    status = mesh_process("--env", "onebox", "status", "--json")
    assert {p["address"]: p["healthy"] for p in json.loads(status.stdout)["products"]} == {
        **{f"mesh://{d}/{p}": True for d in ("shop", "crm") for p in ("items", "totals")},
        "mesh://crm/shop_totals": True,
    }
    # Dagster's state is in PostgreSQL: the runs and their materializations; the instance folder is the deployment's own.
    assert postgres.query("onebox_state", "SELECT count(*) FROM runs WHERE status = 'SUCCESS'")[0][0] >= 2
    assert (
        postgres.query(
            "onebox_state", "SELECT count(DISTINCT asset_key) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )[0][0]
        == 5
    )
    # So is the access log: crm's build read shop's port, and every worker's reads land in one table.
    reads = postgres.query("onebox_state", "SELECT consumer, product, outcome FROM reads")
    assert ("crm", "mesh://shop/items", "granted") in reads
    logged = json.loads(mesh_process("--env", "onebox", "access", "log", "--json").stdout)
    assert logged["database"] == "PostgreSQL" and len(logged["reads"]) == len(reads)
    assert not lab.settings.access_log_file.exists()
    onebox_home = lab.settings.home / "deploy" / "onebox" / "dagster"
    assert "postgres_url" in (onebox_home / "dagster.yaml").read_text() and not list(onebox_home.rglob("*.db"))
    # The embedded mesh beside it knows none of it.
    local = mesh_process("--env", "local", "status", "--json", check=False)
    assert all(p["last_materialization"] is None for p in json.loads(local.stdout)["products"])


@pytest.fixture
def onebox(lab, postgres, monkeypatch):
    """Two domains, shop and crm, in the one-machine shape: PostgreSQL, a code server each, one run at a time per domain."""
    shop_domains(lab, "shop", "crm")
    monkeypatch.setenv("LAB_POSTGRES_URL", postgres.new_database(f"grpc_{lab.package}"))
    deploy(
        lab,
        "onebox",
        f"""
        instance:
          postgres_url: {{env: LAB_POSTGRES_URL}}
        runs: {{max_concurrent: 4, per_domain: 1}}
        code_servers:
          ports: {{shop: {free_port()}, crm: {free_port()}}}
    """,
    )
    monkeypatch.setenv("MESH_ENV", "onebox")  # this process's MeshSettings too
    box = Onebox(lab.root, "onebox")
    try:
        box.serve("shop")
        box.serve("crm")
        box.start_ui()
        box.wait_loaded("shop", "crm")
        yield box
    finally:
        box.close()


@pytest.mark.slow
def test_runs_launched_through_the_webserver_go_through_the_queue_to_the_domains_code_servers(onebox, postgres, lab):
    settings = MeshSettings.from_env()
    entries = onebox.locations()
    assert {name: {m["key"]: m["value"] for m in e["displayMetadata"]}.get("port") for name, e in entries.items()} == {
        domain: str(port) for domain, port in settings.deployment.code_servers.ports.items()
    }
    shop_runs = [onebox.launch("shop", "items", "totals"), onebox.launch("shop", "items")]
    crm_run = onebox.launch("crm", "items", "totals")
    assert set(onebox.wait_finished(*shop_runs, crm_run).values()) == {"SUCCESS"}

    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records(dg.RunsFilter(run_ids=[*shop_runs, crm_run]))}
        assert {records[r].dagster_run.tags["dagster/code_location"] for r in shop_runs} == {"shop"}
        # One shop run at a time (runs.per_domain: 1): the second started after the first ended.
        first, second = sorted((records[r] for r in shop_runs), key=lambda r: r.start_time)
        assert second.start_time >= first.end_time
    status = mesh_process("--env", "onebox", "status", "--json")
    assert json.loads(status.stdout)["healthy"] is True
    assert postgres.query(f"grpc_{lab.package}", "SELECT count(*) FROM runs")[0][0] == 3


@pytest.mark.slow
def test_mesh_materialize_submits_runs_to_the_instance_queued_and_launched_by_it_one_per_domain(onebox, lab):
    """With code servers, mesh materialize submits its runs as the UI does: queued, launched by the daemon on each
    domain's code server, never executed in the command's own processes, one run of a domain in progress at a time."""
    settings = MeshSettings.from_env()
    command = [
        sys.executable,
        "-m",
        "mesh_platform.cli.main",
        "--env",
        "onebox",
        "materialize",
        "mesh://shop/items",
        "mesh://shop/totals",
        "mesh://crm/items",
    ]
    cli = subprocess.Popen(
        command, env={**os.environ, "MESH_UI_PORT": str(onebox.port)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    in_cli, in_servers = set(), set()  # the command lines seen under the command, and under the code servers, while it ran
    while cli.poll() is None:
        in_cli |= {" ".join(p.cmdline()) for p in process_tree(cli.pid)[1:] if _alive(p)}
        in_servers |= {" ".join(p.cmdline()) for s in onebox.servers.values() for p in process_tree(s.pid)[1:] if _alive(p)}
        time.sleep(0.1)
    printed = cli.stdout.read()
    assert cli.returncode == 0 and "materialized 3 products" in printed, printed
    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        records = [r for r in instance.get_run_records() if r.dagster_run.tags.get("mesh/launched_by") == "mesh materialize"]
        assert sorted(r.dagster_run.tags["dagster/code_location"] for r in records) == ["crm", "shop"]  # one run per domain batch
        # Each run's process (which tails its compute logs, under storage/<run id>/) ran under a code server,
        # none under the command.
        run_ids = [r.dagster_run.run_id for r in records]
        assert all(any(f"/{run_id}/" in c for c in in_servers) for run_id in run_ids), "\n".join(sorted(in_servers))
        assert not [c for c in in_cli if "domain_run" in c or any(run_id in c for run_id in run_ids)], in_cli
        for record in records:
            kinds = [e.dagster_event.event_type for e in instance.all_logs(record.dagster_run.run_id) if e.dagster_event]
            assert dg.DagsterEventType.RUN_ENQUEUED in kinds, [k.value for k in kinds]  # the instance's queue
            assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    # Three commands at once, two of them shop's: the queue holds one shop run until the other has ended.
    at_once = [
        subprocess.Popen(
            [*command[:6], address],
            env={**os.environ, "MESH_UI_PORT": str(onebox.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for address in ("mesh://shop/items", "mesh://shop/totals", "mesh://crm/items")
    ]
    for each in at_once:
        said, _ = each.communicate(timeout=600)
        assert each.returncode == 0 and "materialized 1 product" in said, said
    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        shop = sorted(
            (
                r
                for r in instance.get_run_records()
                if r.dagster_run.tags.get("dagster/code_location") == "shop"
                and r.dagster_run.tags.get("mesh/launched_by") == "mesh materialize"
            ),
            key=lambda r: r.start_time,
        )
    assert len(shop) == 3 and all(later.start_time >= earlier.end_time for earlier, later in zip(shop, shop[1:]))  # per_domain: 1


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.slow
def test_one_domains_code_server_restarts_while_the_other_domains_runs_go_on(onebox):
    first = onebox.launch("shop", "items", "totals")
    onebox.stop("crm")  # crm's server goes down while shop's run is in flight
    during = onebox.launch("shop", "items")
    assert onebox.wait_finished(first, during) == {first: "SUCCESS", during: "SUCCESS"}

    onebox.serve("crm")  # upgraded: its server comes back, the webserver reloads it (the UI's Reload button)

    def reloaded():
        onebox.reload("crm")
        return onebox.wait_loaded("crm")

    wait_for(reloaded, onebox.ui, "crm did not come back")
    crm_run = onebox.launch("crm", "items", "totals")
    after = onebox.launch("shop", "totals")
    assert onebox.wait_finished(crm_run, after) == {crm_run: "SUCCESS", after: "SUCCESS"}


KUBERNETES = """
    port_store:
      uri: s3://mesh-data/prod
      storage_options: {{AWS_REGION: eu-west-1, AWS_SECRET_ACCESS_KEY: {{env: LAB_S3_SECRET}}}}
    landing: {{uri: s3://mesh-raw/prod}}
    runs: {{max_concurrent: 12, per_domain: 3}}
    kubernetes:
      image: registry.example.com/mesh-domains:1.4.2
      postgres: {{host: pg.mesh.svc.cluster.local, database: dagster, username: dagster}}
      secrets: [mesh-secrets]
      {extra}
"""


def test_helm_values_give_every_domain_a_code_server_deployment_that_fits_the_chart(lab, monkeypatch):
    shop_domains(lab, "shop", "crm", "web_analytics")
    lab.add_product(
        "crm",
        "people",
        SOURCE,
        contract_yaml("crm", "people", [column("item_id", "integer"), column("price", "number", classification="personal")]),
    )
    extra = (
        "domain_images: {crm: registry.example.com/mesh-domains:1.5.0}\n      service_account_annotations: "
        "{eks.amazonaws.com/role-arn: 'arn:aws:iam::123456789012:role/mesh-{principal}'}"
    )
    deploy(lab, "prod", KUBERNETES.format(extra=extra))
    monkeypatch.setenv("LAB_S3_SECRET", "very-secret-key")  # set or not, it is never written
    result = run_mesh("deploy", "k8s", "--env", "prod", env={**os.environ, "MESH_ENV": "prod"}, cwd=lab.root, check=True)
    assert "very-secret-key" not in result.stdout
    assert "must provide: LAB_S3_SECRET." in result.stdout
    assert (
        "The Secret 'mesh-hashing-key' holds MESH_SECRET, the hashing key of personal values, "
        "given only to the domains that publish personal columns: crm."
    ) in result.stdout
    values = yaml.safe_load(result.stdout)
    check_values(values)  # the chart's fields, as the schema has them
    deployments = {d["name"]: d for d in values["dagster-user-deployments"]["deployments"]}
    assert sorted(deployments) == ["mesh-crm", "mesh-shop", "mesh-web-analytics"]
    web = deployments["mesh-web-analytics"]
    assert web["codeServerArgs"] == [
        "--module-name",
        f"{lab.package}.web_analytics.definitions",
        "--working-directory",
        "/opt/mesh",
        "--location-name",
        "web_analytics",
    ]
    assert {"name": "MESH_ENV", "value": "prod"} in web["env"]
    assert web["envSecrets"] == [{"name": "mesh-secrets"}, {"name": "mesh-web-analytics-store"}]  # shared, and its own store key
    assert deployments["mesh-crm"]["envSecrets"][-1] == {"name": "mesh-hashing-key"}  # crm alone publishes personal columns
    assert web["serviceAccount"] == {
        "create": True,
        "name": "mesh-web-analytics",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mesh-web_analytics"},
    }
    assert deployments["mesh-shop"]["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mesh-shop"
    }
    assert web["image"] == {"repository": "registry.example.com/mesh-domains", "tag": "1.4.2", "pullPolicy": "IfNotPresent"}
    assert deployments["mesh-crm"]["image"]["tag"] == "1.5.0"  # one domain upgraded alone
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"] == "pg.mesh.svc.cluster.local"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue == {
        "maxConcurrentRuns": 12,
        "tagConcurrencyLimits": [{"key": "dagster/code_location", "value": {"applyLimitPerUniqueValue": True}, "limit": 3}],
    }


def test_the_schema_refuses_what_the_chart_would_not_take(lab):
    shop_domains(lab, "shop")
    deploy(lab, "prod", KUBERNETES.format(extra=""))
    values = helm_values(_settings(lab, "prod"), Catalog.load(lab.root))
    values["dagster-user-deployments"]["deployments"][0]["codeServerArg"] = []  # misspelt: Helm would ignore it
    values["postgresql"]["service"]["port"] = 70000
    with pytest.raises(MeshError) as refused:
        check_values(values)
    assert "Additional properties are not allowed ('codeServerArg' was unexpected)" in str(refused.value)
    assert "postgresql.service.port: 70000 is greater than the maximum of 65535" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runs: {per_domain: 1}\n", "has no kubernetes: block"),
        (
            KUBERNETES.format(extra="").replace("s3://mesh-data/prod", "ports-folder"),
            "port_store.uri: on Kubernetes the ports must be on an object store",
        ),
        (
            KUBERNETES.format(extra="").replace("s3://mesh-raw/prod", "landing-folder"),
            "landing.uri: on Kubernetes the source files must be on an object store",
        ),
        (KUBERNETES.format(extra="").replace(":1.4.2", ""), "kubernetes.image: 'registry.example.com/mesh-domains' has no tag"),
        (
            KUBERNETES.format(extra="domain_images: {warehouse: a/b:1}"),
            "kubernetes.domain_images names no domain of workspace.yaml: warehouse",
        ),
    ],
)
def test_a_deployment_that_cannot_run_on_kubernetes_is_refused_with_the_field_to_fix(lab, monkeypatch, text, expected):
    shop_domains(lab, "shop")
    deploy(lab, "prod", text)
    monkeypatch.setenv("LAB_S3_SECRET", "x")
    result = run_mesh("deploy", "k8s", env={**os.environ, "MESH_ENV": "prod"}, cwd=lab.root)
    assert result.returncode == 1 and expected in result.stderr, result.stderr


def test_the_repository_prod_deployment_renders_for_the_demo_mesh_and_its_image_builds_from_the_repository(monkeypatch):
    monkeypatch.delenv("MESH_POSTGRES_URL", raising=False)  # rendered on a laptop: the cluster's secrets are not here
    monkeypatch.delenv("MESH_LANDING", raising=False)  # the file's landing zone, not a test's (the demo fixture sets one)
    settings = MeshSettings(root=REPO, home=REPO / ".mesh", deployment=Deployment.load(REPO, "prod", require_environment=False))
    values = helm_values(settings, Catalog.load(REPO))
    holders = {
        d["codeServerArgs"][-1]
        for d in values["dagster-user-deployments"]["deployments"]
        if {"name": "mesh-hashing-key"} in d["envSecrets"]
    }
    assert holders == {
        "customers",
        "marketing",
        "web_analytics",
    }  # the demo's domains that publish personal columns (not sales, planning)
    assert sorted(d["codeServerArgs"][-1] for d in values["dagster-user-deployments"]["deployments"]) == sorted(
        d.name for d in read_workspace(REPO)
    )
    # Every file the Dockerfile copies is in the repository, and the extra it installs exists.
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    copied = [line.split()[1:-1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert copied and all((REPO / source).exists() for sources in copied for source in sources)
    image = {source for sources in copied for source in sources}
    assert {"mesh.yaml", "governance", "macros.sql", "workspace.yaml", "domains"} <= image, "the image holds the whole mesh"
    assert 'pip install --no-cache-dir ".[kubernetes]"' in dockerfile
    assert "kubernetes" in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _settings(lab, env: str) -> MeshSettings:
    return MeshSettings(
        root=lab.root, home=lab.settings.home, deployment=Deployment.load(lab.root, env, require_environment=False)
    )


@pytest.fixture
def onebox_all(lab, postgres, monkeypatch):
    """Three domains in the one-machine shape on a new, empty database, started all at once as an operator would:
    one `mesh serve` for every domain, the daemon and the webserver, two runs at a time per domain."""
    shop_domains(lab, "shop", "crm", "books")
    monkeypatch.setenv("LAB_POSTGRES_URL", postgres.new_database(f"all_{lab.package}"))
    deploy(
        lab,
        "onebox",
        f"""
        instance:
          postgres_url: {{env: LAB_POSTGRES_URL}}
        runs: {{max_concurrent: 4, per_domain: 2}}
        code_servers:
          ports: {{shop: {free_port()}, crm: {free_port()}, books: {free_port()}}}
    """,
    )
    monkeypatch.setenv("MESH_ENV", "onebox")
    server_log = postgres.folder / "server.log"
    logged_before = server_log.stat().st_size
    box = Onebox(lab.root, "onebox")
    try:
        box.serve_all()
        box.start_ui()
        box.wait_loaded("shop", "crm", "books")
        box.postgres_log = lambda: server_log.read_text(errors="replace")[logged_before:]
        yield box
    finally:
        box.close()


def code_server_of(serve: subprocess.Popen, domain: str) -> psutil.Process:
    """The `dagster api grpc` process serving `domain` under one `mesh serve`."""

    def location(process: psutil.Process) -> str | None:
        command = process.cmdline()
        return command[command.index("--location-name") + 1] if "--location-name" in command else None

    return next(p for p in process_tree(serve.pid) if location(p) == domain)


@pytest.mark.slow
def test_a_code_server_that_dies_never_stops_the_others_and_sigterm_stops_every_process(onebox_all):
    box = onebox_all
    serve = box.servers["*"]
    # The three commands started at once on an empty database: its schema was created once, before the servers.
    assert "Retrying failed database creation" not in "".join(p.log.read_text() for p in box._processes())
    assert "duplicate key value violates unique constraint" not in box.postgres_log()

    # crm's code server dies: mesh serve says so and starts it again; shop's and books' keep serving, their runs succeed.
    dead = code_server_of(serve, "crm")
    dead.kill()
    runs = [box.launch("shop", "items", "totals"), box.launch("books", "items", "totals")]
    assert box.wait_finished(*runs) == dict.fromkeys(runs, "SUCCESS")
    box._wait(lambda: "started again" in serve.log.read_text(), "mesh serve did not start crm's code server again")
    log = serve.log.read_text()
    port = MeshSettings.from_env().deployment.code_servers.ports["crm"]
    assert f"crm's code server on 127.0.0.1:{port} (pid {dead.pid}) was killed (SIGKILL); starting it again in 1 s" in log
    assert serve.poll() is None and code_server_of(serve, "crm").pid != dead.pid
    box.wait_loaded("crm")  # the webserver finds the new server by itself
    crm_run = box.launch("crm", "items", "totals")
    assert box.wait_finished(crm_run) == {crm_run: "SUCCESS"}

    # runs.per_domain: 2 lets two runs of a domain go at once; their builds still take the domain's DuckDB file one at a time.
    both = [box.launch("shop", "items", "totals"), box.launch("shop", "items", "totals")]
    assert box.wait_finished(*both) == dict.fromkeys(both, "SUCCESS")
    with dg.DagsterInstance.from_config(str(MeshSettings.from_env().ensure_dagster_home())) as instance:
        steps = sorted(interval for run_id in both for interval in step_intervals(instance, run_id))
    assert len(steps) == 4 and all(earlier[1] <= later[0] for earlier, later in zip(steps, steps[1:])), steps

    # SIGTERM to each mesh command stops every process it started (code servers, daemon, webserver) within 10 s.
    for process in (serve, box.daemon, box.ui):
        tree = process_tree(process.pid)
        assert len(tree) > 1, process.args
        process.send_signal(signal.SIGTERM)
        _, left = psutil.wait_procs(tree, timeout=10)
        assert not left, f"{process.args[-1]} left {[p.cmdline() for p in left]}"


def step_intervals(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """When each step of a run started and ended, from its event log."""
    events = instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS})
    times: dict[str, list[float]] = {}
    for event in events:
        times.setdefault(event.step_key, []).append(event.timestamp)
    return [(min(t), max(t)) for t in times.values()]
