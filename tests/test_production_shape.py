"""The whole demo mesh in the production shape, end to end: Dagster's state in PostgreSQL, the five domains
served by five gRPC code servers, the ports on an S3-compatible object store, every build launched through
the webserver's GraphQL API (as the UI and schedules launch them) and so through the run queue. The store
enforces IAM: `mesh deploy access --apply` made one key per principal from the contracts, each domain's code
server (and so its runs) holds its own, and what each key may read and write in the bucket is shown.

PostgreSQL, moto's S3 emulator, the code servers and the webserver all listen on 127.0.0.1 and are
started and stopped by the tests.
"""

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest
import yaml
from deltalake import DeltaTable

from mesh_platform import AccessDeniedError, StoreRefusedError, read_product
from mesh_platform.catalog.catalog import Catalog
from mesh_platform.core.address import Address
from mesh_platform.core.settings import MeshSettings

from .conftest import REPO, column, contract_yaml, free_port, graphql
from .onebox import Onebox, process_tree, wait_for
from .postgres_server import USER
from .s3_server import REGION
from .test_store_access import DENIED, denied

pytestmark = pytest.mark.slow


# A planning product whose Python reads customers' clear e-mails straight from the bucket (Python recipes are not
# sandboxed) with the key its process holds: planning's own, which the store refuses them.
PEEK_RECIPE = """\
type: mesh_platform.recipes.PythonProduct
attributes:
  inputs: [mesh://customers/profiles]
  function: peek.py:build
"""
PEEK = """\
import os

import pandas as pd
from deltalake import DeltaTable


def build(profiles: pd.DataFrame) -> pd.DataFrame:
    options = {"AWS_ENDPOINT_URL": os.environ["PEEK_ENDPOINT"], "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    clear = DeltaTable(os.environ["PEEK_AT"], storage_options=options).to_pyarrow_table()  # the process's own key
    return pd.DataFrame({"emails": [clear.num_rows]})
"""


@pytest.fixture
def production(repo_copy, postgres, iam_s3, monkeypatch):
    """The demo mesh (a copy of the repository), seeded, with a deployment `production` in the shape above on a
    store that enforces IAM: the policies applied by `mesh deploy access --apply`, each domain's code server with
    its own key (the port store's storage options name none), the operator's commands with the store's admin key."""
    root = repo_copy.root
    iam_s3.remove_users("/mesh/")  # the principals' users and keys are this test's
    bucket = iam_s3.new_bucket()
    catalog = Catalog.load(root)
    ports = {domain: free_port() for domain in catalog.domains}
    (root / "deploy").mkdir()
    store = {"AWS_ENDPOINT_URL": iam_s3.endpoint, "AWS_REGION": REGION, "AWS_ALLOW_HTTP": "true"}
    deployment = {
        "instance": {"postgres_url": {"env": "E2E_POSTGRES_URL"}},
        "runs": {"max_concurrent": 4, "per_domain": 1},
        "code_servers": {"ports": ports},
        "port_store": {"uri": f"s3://{bucket}/mesh", "storage_options": store},
    }
    (root / "deploy" / "production.yaml").write_text(yaml.safe_dump(deployment))
    environment = {
        **repo_copy.env,
        "MESH_ENV": "production",
        "MESH_SECRET": "production-shape-secret",
        "E2E_POSTGRES_URL": postgres.new_database("production_shape"),
        "AWS_ACCESS_KEY_ID": iam_s3.key_id,
        "AWS_SECRET_ACCESS_KEY": iam_s3.secret,
        "AWS_REGION": REGION,  # the operator's: admin
        "PEEK_ENDPOINT": iam_s3.endpoint,
        "PEEK_AT": f"s3://{bucket}/mesh/vault/customers/profiles/email",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", "seed", "--rows", "2000"], cwd=root, check=True, capture_output=True
    )
    applied = mesh("deploy", "access", "--apply", "--json")
    assert {p["user"] for p in json.loads(applied.stdout)["applied"]["principals"]} == {
        *(f"mesh-{d}" for d in catalog.domains),
        "mesh-campaign_dashboards",
        "mesh-analysts",
    }
    box = Onebox(root, "production")
    try:
        for domain in catalog.domains:
            box.serve(domain)
        box.start_ui()
        box.wait_loaded(*catalog.domains)
        box.catalog, box.bucket, box.store = catalog, bucket, store
        yield box
    finally:
        box.close()


def mesh(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """A `mesh` command in a process of its own, in the test's environment (or `env`)."""
    result = subprocess.run(
        [sys.executable, "-m", "mesh_platform.cli.main", *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert not check or result.returncode == 0, f"mesh {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


@contextlib.contextmanager
def holding_key_of(principal: str) -> Iterator[dict[str, str]]:
    """This process with `principal`'s store key (the one `mesh deploy access --apply` wrote) instead of the operator's."""
    key = MeshSettings.from_env().principal_environment(principal)
    assert key, f"no key was made for {principal}"
    before = {name: os.environ[name] for name in key}
    os.environ.update(key)
    try:
        yield key
    finally:
        os.environ.update(before)


def test_the_demo_mesh_runs_on_postgres_code_servers_and_an_object_store_each_domain_with_its_own_key(
    production, postgres, iam_s3
):
    catalog = production.catalog
    runs, backfills = build_every_product(production)

    # Every product is published to the bucket, and its own domain reads it with its own key (the principal is the key's).
    keys = set(iam_s3.keys(production.bucket, "mesh/ports/"))
    for address, product in catalog.products.items():
        port = product.port_address
        assert f"mesh/ports/{port.domain}/{port.product}/v{port.major}/_delta_log/00000000000000000000.json" in keys, address
        with holding_key_of(address.domain):
            assert len(read_product(str(address))) > 0, address
    settings = MeshSettings.from_env()
    assert not (settings.home / "ports").exists()

    # Each domain's code server holds its own key, and the hashing key only where the domain publishes personal columns.
    for domain, server in production.servers.items():
        grpc = next(p for p in process_tree(server.pid) if "--location-name" in p.cmdline())
        held = grpc.environ()
        assert held["AWS_ACCESS_KEY_ID"] == settings.principal_environment(domain)["AWS_ACCESS_KEY_ID"], domain
        assert ("MESH_SECRET" in held) == (domain in {"customers", "marketing", "web_analytics"}), domain

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

    report = json.loads(mesh("status", "--json").stdout)
    assert report["healthy"], report
    assert all(p["last_materialization"] for p in report["products"])

    the_store_enforces_every_grant(production, iam_s3, settings)


RUN_ENDS = ("SUCCESS", "FAILURE", "CANCELED")


def build_every_product(production: Onebox, timeout: float = 900) -> tuple[list[str], list[str]]:
    """Every product built through the webserver, each launched as soon as its inputs are published: one run per
    domain for its unpartitioned products ready together, one backfill of every partition for each partitioned
    product (one run: its backfill policy). The runs and backfills launched, each of which succeeded."""
    remaining, published = dict(production.catalog.products), set()
    runs, backfills, building = [], [], {}  # building: run or backfill id → the products it builds
    deadline = time.monotonic() + timeout
    while remaining or building:
        ready = [p for p in remaining.values() if all(i.address.unversioned() in published for i in p.inputs)]
        for domain in sorted({p.address.domain for p in ready}):
            plain = [p.address for p in ready if p.address.domain == domain and p.contract.partitioning is None]
            if plain:
                runs.append(production.launch(domain, *(a.product for a in plain)))
                building[runs[-1]] = plain
            for product in [p for p in ready if p.address.domain == domain and p.contract.partitioning]:
                backfills.append(production.backfill(domain, product.address.product))
                building[backfills[-1]] = [product.address]
        for product in ready:
            del remaining[product.address]
        assert building, f"no product of {sorted(map(str, remaining))} has its inputs published"
        time.sleep(1)
        for launched, products in list(building.items()):
            if launched in runs and (state := production.status(launched)) in RUN_ENDS:
                assert state == "SUCCESS", f"the run of {products} failed"
            elif launched in backfills and (state := production.backfill_status(launched)) != "REQUESTED":
                assert state in ("COMPLETED", "COMPLETED_SUCCESS"), f"the backfill of {products} failed: {state}"
            else:
                continue
            published.update(products)
            del building[launched]
        assert production.ui.poll() is None, "the webserver ended"
        assert time.monotonic() < deadline, f"{sorted(map(str, remaining))} were not built in {timeout} s"
    return runs, backfills


def the_store_enforces_every_grant(production: Onebox, iam_s3, settings: MeshSettings) -> None:
    """The issue's cases, on the mesh just built: what each principal's key may do in the bucket."""
    bucket, store, root = production.bucket, production.store, production.root

    # planning's Python reading customers' vault straight from the bucket: the store refuses planning's key.
    folder = root / "domains" / "planning" / "defs" / "vault_peek"
    folder.mkdir()
    (folder / "defs.yaml").write_text(PEEK_RECIPE)
    (folder / "peek.py").write_text(PEEK)
    (folder / "contract.yaml").write_text(contract_yaml("planning", "vault_peek", [column("emails", "integer")]))
    production.stop("planning")  # its code server loads the new product when it starts again
    production.serve("planning")
    peek = launched_once_loaded(production, "planning", "vault_peek")
    assert production.wait_finished(peek) == {peek: "FAILURE"}
    with dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        failures = [
            e.dagster_event.step_failure_data.error.to_string()
            for e in instance.all_logs(peek)
            if e.dagster_event is not None and e.dagster_event.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
    assert failures and any(word in failures[0] for word in DENIED), failures

    # Through the platform, planning reads the profiles it is granted, the e-mails as tokens; marketing in clear.
    with holding_key_of("planning"):
        emails = read_product("mesh://customers/profiles")["email"].dropna()
        assert len(emails) > 0 and emails.str.fullmatch(r"[0-9a-f]{64}").all()
    with holding_key_of("marketing"):
        emails = read_product("mesh://customers/profiles")["email"].dropna()
        assert len(emails) > 0 and emails.str.contains("@").all()  # its unmaskedFor grant

    # sales' key writes no marketing port and deletes no marketing Delta log entry.
    campaigns = production.catalog.products[Address.parse("mesh://marketing/campaigns")].port_address
    first_log = f"mesh/ports/marketing/campaigns/v{campaigns.major}/_delta_log/00000000000000000000.json"
    with holding_key_of("sales") as sales:
        s3_sales = iam_s3.client(sales["AWS_ACCESS_KEY_ID"], sales["AWS_SECRET_ACCESS_KEY"])
        denied(
            lambda: s3_sales.put_object(
                Bucket=bucket, Key=first_log.replace("00000000000000000000", "00000000000000000099"), Body=b"{}"
            )
        )
        denied(lambda: s3_sales.delete_object(Bucket=bucket, Key=first_log))
    assert first_log in iam_s3.keys(bucket, "mesh/ports/marketing/")

    # mesh query with planning's key: --as marketing is refused; without --as it reads as planning.
    planning_env = {**os.environ, **settings.principal_environment("planning")}
    claimed = mesh("query", "--as", "marketing", "SELECT count(*) AS n FROM customers.profiles", env=planning_env, check=False)
    assert claimed.returncode == 1, claimed.stdout
    assert (
        "--as marketing is refused: the port store's credentials in use are planning's (IAM user mesh-planning)" in claimed.stderr
    )
    rows = json.loads(mesh("query", "--json", "SELECT email FROM customers.profiles LIMIT 5", env=planning_env).stdout)
    assert len(rows) == 5 and all(re.fullmatch(r"[0-9a-f]{64}", row["email"]) for row in rows if row["email"])

    # A grant removed from a contract and applied: the store denies planning's next read of that port.
    audience = production.catalog.products[Address.parse("mesh://marketing/campaign_audience")].port_address
    uri = f"s3://{bucket}/mesh/ports/marketing/campaign_audience/v{audience.major}"
    planning = {**store, **settings.principal_environment("planning")}
    assert DeltaTable(uri, storage_options=planning).to_pyarrow_table().num_rows > 0
    contract = root / "domains" / "marketing" / "defs" / "campaign_audience" / "contract.yaml"
    granted = contract.read_text()
    assert "value: [planning, campaign_dashboards]" in granted
    contract.write_text(granted.replace("value: [planning, campaign_dashboards]", "value: [campaign_dashboards]"))
    mesh("deploy", "access", "--apply")
    denied(lambda: DeltaTable(uri, storage_options=planning).to_pyarrow_table())
    with holding_key_of("planning"), pytest.raises(AccessDeniedError) as refused:
        read_product("mesh://marketing/campaign_audience")  # the platform, from the contract: the missing grant, whom to ask
    assert "planning may not read mesh://marketing/campaign_audience" in str(refused.value)
    assert "planning is not in consumers" in str(refused.value) and "ask its owner" in str(refused.value)

    # Granted again in the contract but not applied yet: the store still refuses, and the platform says what to do.
    contract.write_text(granted)
    with holding_key_of("planning"), pytest.raises(StoreRefusedError) as refused:
        read_product("mesh://marketing/campaign_audience")
    assert str(refused.value).startswith(
        f"access denied by the store (AccessDenied): planning may read "
        f"mesh://marketing/campaign_audience@v{audience.major} by its contract"
    )
    assert "mesh deploy access --apply" in str(refused.value)
    mesh("deploy", "access", "--apply")
    with holding_key_of("planning"):
        assert len(read_product("mesh://marketing/campaign_audience")) > 0


def launched_once_loaded(box: Onebox, domain: str, product: str, timeout: float = 180) -> str:
    """A run of `product` launched once the webserver has loaded it from the domain's (restarted) code server."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return box.launch(domain, product)
        except (AssertionError, OSError):
            assert time.monotonic() < deadline, f"the webserver did not load {domain}/{product} from its code server"
            box.reload(domain)
            time.sleep(2)


class Shell:
    """One bash session an operator types into: the README's blocks run in it one after the other, so that
    its variables and background jobs (and SIGINT ignored in them, as in any script) carry over."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.process = subprocess.Popen(
            ["bash"], cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        self.blocks = 0
        self.run("set -e")  # a command that fails ends the session, and the test with what it printed

    def run(self, block: str, timeout: float = 900) -> str:
        """Run `block` in the session; what it printed."""
        self.blocks += 1
        script, output = self.root / f".walkthrough-{self.blocks}.sh", self.root / f".walkthrough-{self.blocks}.out"
        script.write_text(block)
        self.process.stdin.write(f"source {script} > {output} 2>&1; echo done\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else "(still running)"
        printed = output.read_text() if output.exists() else ""
        ended = line.strip() or self.process.poll()
        assert ended == "done", f"the README's block did not end well ({ended}):\n{block}\n---\n{printed}"
        return printed

    def close(self) -> None:
        tree = process_tree(self.process.pid)
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, left = psutil.wait_procs(tree, timeout=30)
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self.process.wait()


def walkthrough() -> list[str]:
    """The bash blocks of the README's one-machine walkthrough, in order."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- readme-onebox:start -->\n(.*?)<!-- readme-onebox:end -->", readme, re.DOTALL)
    assert block, "the README has no one-machine walkthrough"
    return re.findall(r"```bash\n(.*?)```", block.group(1), re.DOTALL)


def test_the_readme_walkthrough_of_the_one_machine_shape_runs_as_written(repo_copy, postgres, iam_s3):
    root = repo_copy.root
    domains = list(Catalog.load(root).domains)
    deployment = yaml.safe_load((REPO / "deploy" / "onebox.yaml").read_text())
    deployment["code_servers"] = {"host": "127.0.0.1", "ports": {d: free_port() for d in domains}}  # 4100… may be taken here
    bucket = f"mesh-{uuid.uuid4().hex[:12]}"  # the walkthrough makes it (the emulator serves every test of this process)
    assert deployment["port_store"]["uri"] == "s3://mesh/onebox"
    deployment["port_store"]["uri"] = f"s3://{bucket}/onebox"
    iam_s3.remove_users("/mesh/")
    (root / "deploy").mkdir()
    (root / "deploy" / "onebox.yaml").write_text(yaml.safe_dump(deployment))
    ui_port = free_port()
    env = {key: value for key, value in repo_copy.env.items() if key not in ("MESH_ENV", "MESH_POSTGRES_URL")}
    env |= {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": USER,
        "PGPASSWORD": postgres.password,  # its superuser
        "MESH_UI_PORT": str(ui_port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # mesh on PATH
        "MESH_S3_ENDPOINT": iam_s3.endpoint,
        "AWS_ACCESS_KEY_ID": iam_s3.key_id,
        "AWS_SECRET_ACCESS_KEY": iam_s3.secret,
    }  # its admin
    ui = Onebox(root, "onebox")  # its GraphQL calls, on the walkthrough's webserver
    ui.port = ui_port
    steps = walkthrough()
    assert len(steps) == 7
    shell = Shell(root, env)
    try:
        shell.run(steps[0])  # 1. the role and the database
        assert postgres.query("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'dagster'")[0][0] == 1
        applied = shell.run(steps[1])  # 2. the store: the bucket, a user, key and policy per principal
        assert f"created the bucket {bucket}" in applied, applied
        users = iam_s3.client(service="iam").list_users(PathPrefix="/mesh/")["Users"]
        assert {u["UserName"] for u in users} == {f"mesh-{p}" for p in [*domains, "campaign_dashboards", "analysts"]}
        shell.run(steps[2])  # 3. the services

        def served() -> dict[str, int]:
            return {d: int((root / "logs" / f"serve-{d}.pid").read_text()) for d in domains}

        def finished(*run_ids: str) -> dict[str, str]:
            def states():
                found = {run_id: ui.status(run_id) for run_id in run_ids}
                return found if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in found.values()) else None

            return wait_for(states, shell.process, f"runs {run_ids} did not finish", timeout=600)

        def serving(wanted: list[str]) -> bool:
            """Whether the webserver has loaded `wanted` from their code servers; every service still running meanwhile."""
            for pid_file in (root / "logs").glob("*.pid"):
                log = pid_file.with_suffix(".log")
                assert psutil.pid_exists(int(pid_file.read_text())), f"{pid_file.stem} ended:\n{log.read_text()[-3000:]}"
            return loaded(ui, wanted)

        wait_for(lambda: serving(domains), shell.process, "the webserver did not load every domain from its server", timeout=300)
        logs = "".join(f.read_text() for f in (root / "logs").glob("*.log"))
        assert "Retrying failed database creation" not in logs  # the tables were created once, before the servers

        built = shell.run(steps[3])  # 4. seed, materialize, status
        assert f"materialized {len(Catalog.load(root).products)} products" in built, built
        assert "0 late, 0 with failing checks" in built, built
        assert any(k.startswith("onebox/ports/sales/daily_revenue/") for k in iam_s3.keys(bucket, "onebox/ports/"))
        assert not (repo_copy.settings.home / "ports").exists()  # the ports are in the store, each domain's under its key

        launched = json.loads(shell.run(steps[4]))["data"]["launchRun"]  # 5. a run through the UI's API
        assert launched["__typename"] == "LaunchRunSuccess", launched
        assert finished(launched["run"]["runId"]) == {launched["run"]["runId"]: "SUCCESS"}

        before, server = served(), server_id(ui, "sales")
        shell.run(steps[5])  # 6. sales restarted alone: the others kept serving, and sales builds again
        after = served()
        assert after.pop("sales") != before.pop("sales") and after == before
        wait_for(
            lambda: serving(["sales"]) and server_id(ui, "sales") not in (None, server),
            shell.process,
            "the webserver did not find sales' new code server by itself",
            timeout=300,
        )
        runs = [ui.launch("sales", "daily_revenue"), ui.launch("customers", "profiles")]
        assert finished(*runs) == dict.fromkeys(runs, "SUCCESS")

        started = [p for p in process_tree(shell.process.pid) if p.pid != shell.process.pid]
        assert len(started) >= 2 * len(domains) + 4  # a mesh command and its Dagster process for each service
        shell.run(steps[6])  # 7. stop: every process the commands started has ended with them
        assert [p.cmdline() for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    finally:
        shell.close()


SERVER_ID = """{ workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { ... on RepositoryLocation { serverId } }
} } } }"""


def server_id(ui: Onebox, domain: str) -> str | None:
    """The id of the code server the webserver has loaded `domain` from (a new one each time a server starts)."""
    entries = graphql(ui.port, SERVER_ID)["workspaceOrError"]["locationEntries"]
    return next(((e["locationOrLoadError"] or {}).get("serverId") for e in entries if e["name"] == domain), None)


def loaded(ui: Onebox, domains: list[str]) -> bool:
    entries = ui.locations()
    return all((entries.get(d, {}).get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation" for d in domains)
