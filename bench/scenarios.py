"""The scenarios: what the mesh does, and the same work done by the reference, on generated data.

Every scenario works in one folder (`--workdir`): the orders data, a bench mesh with its
own MESH_HOME, the reference's outputs. Setup (data, first publishes) is not timed.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.data import ORDER_COLUMNS, STATUSES, wide_column_names, write_daily_orders, write_orders, write_wide
from bench.harness import Run, measure
from bench.meshes import BenchMesh, column, contract, mesh_command, mesh_env, source_recipe, sql_recipe

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOMAIN = "bench"

ENRICH_SQL = "SELECT *, round(amount * 1.19, 2) AS gross, year(order_date) AS order_year FROM orders"
AGGREGATE_SQL = "SELECT order_date, country, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY ALL"
# The four typical rules, as the contract states them and as plain SQL over the staged table.
ORDER_RULES = [
    "SELECT count(*) FROM staged WHERE order_id IS NULL",
    "SELECT count(*) - count(DISTINCT order_id) FROM staged",
    "SELECT count(*) FROM staged WHERE amount < 0 OR amount > 10000",
    f"SELECT count(*) FROM staged WHERE status NOT IN ({', '.join(repr(s) for s in STATUSES)})",
    "SELECT count(*) FROM staged",
]
AGGREGATE_RULES = [
    "SELECT count(*) FROM staged WHERE order_date IS NULL OR country IS NULL",
    "SELECT count(*) FROM staged WHERE revenue < 0",
    "SELECT count(*) FROM staged",
]


@dataclass
class Scenario:
    name: str
    what: str
    reference_what: str | None
    goal: str | None
    mesh: Callable[[], Run]
    reference: Callable[[], Run] | None = None
    before_each: Callable[[], None] = field(default=lambda: None)
    in_turn_with: str | None = None  # scenarios naming the same group are measured in turn, round by round


def _order_columns(with_rules: bool) -> list[dict]:
    columns = []
    for name, logical, physical in ORDER_COLUMNS:
        extra: dict = {}
        if with_rules and name == "order_id":
            extra = {"required": True, "unique": True}
        if with_rules and name == "amount":
            extra = {"logicalTypeOptions": {"minimum": 0, "maximum": 10000}}
        if with_rules and name == "status":
            extra = {"quality": [{"metric": "invalidValues", "arguments": {"validValues": STATUSES}, "mustBe": 0}]}
        columns.append(column(name, logical, physical, **extra))
    return columns


def _enriched_columns(with_rules: bool) -> list[dict]:
    return [*_order_columns(with_rules), column("gross", "number", "DOUBLE"), column("order_year", "integer", "BIGINT")]


ROW_COUNT = [{"metric": "rowCount", "mustBeGreaterThan": 0}]


class Workbench:
    """The folder the scenarios share, set up once."""

    def __init__(self, workdir: Path, rows: int, log: Path):
        self.workdir = workdir
        self.rows = rows
        self.log = log
        self.orders = write_orders(workdir / "data" / "orders.parquet", rows)
        self._mesh: BenchMesh | None = None

    def run(self, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
        return measure(command, env or self.bench_mesh().env(), cwd or self.bench_mesh().root, self.log)

    def timed_read(self, script: list[str]) -> Callable[[], Run]:
        """A read script run as a process, with the time it says its read took after its imports (`build_s`)."""
        said = self.workdir / "read_seconds"

        def run() -> Run:
            said.unlink(missing_ok=True)
            ran = self.run([sys.executable, *script, str(said)])
            return Run(ran.wall_s, ran.peak_mb, float(said.read_text()))

        return run

    def bench_mesh(self) -> BenchMesh:
        """One domain: orders (source, rules), events (source, published once, for reads), loaded (source, row count),
        enriched / enriched_plain (SQL N → N with four rules, and with the row count only), daily (SQL aggregate, rules)."""
        if self._mesh is not None:
            return self._mesh
        root = self.workdir / "mesh"
        shutil.rmtree(root, ignore_errors=True)
        mesh = BenchMesh(root)
        mesh.add_domain(DOMAIN)
        mesh.add_product(
            DOMAIN, "orders", source_recipe("orders.parquet"), contract(DOMAIN, "orders", _order_columns(True), ROW_COUNT)
        )
        mesh.add_product(
            DOMAIN, "events", source_recipe("orders.parquet"), contract(DOMAIN, "events", _order_columns(False), ROW_COUNT)
        )
        mesh.add_product(  # the source scenario's product: a contract's one required rule only, as COPY checks nothing
            DOMAIN, "loaded", source_recipe("orders.parquet"), contract(DOMAIN, "loaded", _order_columns(False), ROW_COUNT)
        )
        inputs = [f"mesh://{DOMAIN}/orders"]
        mesh.add_product(
            DOMAIN, "enriched", sql_recipe(inputs, ENRICH_SQL), contract(DOMAIN, "enriched", _enriched_columns(True), ROW_COUNT)
        )
        mesh.add_product(
            DOMAIN,
            "enriched_plain",
            sql_recipe(inputs, ENRICH_SQL),
            contract(DOMAIN, "enriched_plain", _enriched_columns(False), ROW_COUNT),
        )
        daily = [
            column("order_date", "date", "DATE", required=True),
            column("country", "string", "VARCHAR", required=True),
            column("orders", "integer", "BIGINT"),
            column("revenue", "number", "DOUBLE", logicalTypeOptions={"minimum": 0}),
        ]
        mesh.add_product(DOMAIN, "daily", sql_recipe(inputs, AGGREGATE_SQL), contract(DOMAIN, "daily", daily, ROW_COUNT))
        mesh.land(DOMAIN, self.orders)
        # The inputs every timed build reads, published once.
        subprocess.run(
            mesh_command("materialize", f"mesh://{DOMAIN}/orders", f"mesh://{DOMAIN}/events"),
            env=mesh.env(),
            cwd=root,
            check=True,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self._mesh = mesh
        return mesh

    def materialize(self, product: str) -> Callable[[], Run]:
        return lambda: self.run(mesh_command("materialize", f"mesh://{DOMAIN}/{product}"))

    def duckdb_build(self, sql: str | None = None, checks: list[str] | None = None) -> Callable[[], Run]:
        command = [
            sys.executable,
            str(BENCH / "reference" / "duckdb_build.py"),
            "--input",
            str(self.orders),
            "--output",
            str(self.workdir / "reference.parquet"),
        ]
        if sql is not None:
            command += ["--sql", sql, "--database", str(self.workdir / "reference.duckdb")]
        for check in checks or []:
            command += ["--check", check]
        return lambda: self.run(command)

    def remove_reference_outputs(self) -> None:
        for name in ("reference.parquet", "reference.duckdb", "reference.duckdb.wal"):
            (self.workdir / name).unlink(missing_ok=True)


def build_scenarios(bench: Workbench) -> list[Scenario]:
    rows = f"{bench.rows:,}"
    condition = "status = 'shipped'"
    events_port = bench.workdir / "mesh" / ".mesh" / "ports" / DOMAIN / "events" / "v1"
    return [
        Scenario(
            "source",
            f"source product, {rows} rows, Parquet in → port (row count, the one rule a contract must have)",
            "DuckDB COPY Parquet → Parquet",
            "≤ 1.3× wall, ≤ 1.5× peak memory (issue 27)",
            bench.materialize("loaded"),
            bench.duckdb_build(),
            bench.remove_reference_outputs,
        ),
        Scenario(
            "source_rules",
            f"source product, {rows} rows, Parquet in → port, 4 rules (unique order_id) + row count",
            "DuckDB COPY, then the same checks on the written file",
            "≤ 1.3× wall, ≤ 1.5× peak memory",
            bench.materialize("orders"),
            bench.duckdb_build(checks=ORDER_RULES),
            bench.remove_reference_outputs,
        ),
        Scenario(
            "sql_rules",
            f"SQL product {rows} → {rows} rows, 4 rules + row count",
            "same SQL + same checks in DuckDB",
            "≤ 1.3× wall, ≤ 1.5× peak memory",
            bench.materialize("enriched"),
            bench.duckdb_build(ENRICH_SQL, ORDER_RULES),
            bench.remove_reference_outputs,
        ),
        Scenario(
            "sql_plain",
            f"SQL product {rows} → {rows} rows, row count only (the mesh requires one rule)",
            "same SQL + row count in DuckDB",
            None,
            bench.materialize("enriched_plain"),
            bench.duckdb_build(ENRICH_SQL, ORDER_RULES[-1:]),
            bench.remove_reference_outputs,
        ),
        Scenario(
            "sql_aggregate",
            f"SQL aggregate {rows} → ~7k rows, rules",
            "same SQL + same checks in DuckDB",
            None,
            bench.materialize("daily"),
            bench.duckdb_build(AGGREGATE_SQL, AGGREGATE_RULES),
            bench.remove_reference_outputs,
        ),
        Scenario(
            "read",
            f"consumer read of a {rows}-row port, filtered count (read_product_relation; inside: the read after the imports)",
            "DuckDB read_parquet over the port's files",
            "≤ 1.2× (inside the process)",
            bench.timed_read([str(BENCH / "mesh_read.py"), f"mesh://{DOMAIN}/events", condition]),
            bench.timed_read([str(BENCH / "reference" / "duckdb_read.py"), f"{events_port}/*.parquet", condition]),
        ),
    ]


def partition_scenario(bench: Workbench, rows: int) -> Scenario:
    """One new day of a daily partitioned product holding 365 days (up to yesterday), against rebuilding it
    whole: the same product (a source over one Parquet folder per day, four rules), both through `mesh materialize`.

    Its size is its own (`rows`, by default 100 million: ~274,000 rows a day, event data of the size partitioning
    is for). Besides each command's wall time, each run's build time is read from Dagster: the duration of the run's
    step, what building the product took inside the run, without the process start, the imports and the run's
    bookkeeping around it (the same for a day as for a year)."""
    import datetime as dt

    mesh = bench.bench_mesh()
    newest = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    start = newest - dt.timedelta(days=364)
    days = write_daily_orders(bench.workdir / "data" / "daily", rows, start.isoformat())
    columns = _order_columns(True)
    for spec in columns:
        if spec["name"] == "order_date":
            spec.update(
                required=True,
                partitioned=True,
                partitionKeyPosition=1,
                customProperties=[{"property": "partitionStart", "value": start.isoformat()}],
            )
    mesh.add_product(
        DOMAIN,
        "daily_orders",
        source_recipe("daily/*/*.parquet", hive_partitioning=True),
        contract(DOMAIN, "daily_orders", columns, ROW_COUNT),
    )
    mesh.land_folder(DOMAIN, days)
    address = f"mesh://{DOMAIN}/daily_orders"
    subprocess.run(
        mesh_command("materialize", address),
        env=mesh.env(),
        cwd=mesh.root,
        check=True,  # published whole once
        stdout=bench.log.open("ab"),
        stderr=subprocess.STDOUT,
    )

    def timed(*args: str) -> Callable[[], Run]:
        def run() -> Run:
            ran = bench.run(mesh_command("materialize", *args))
            return Run(ran.wall_s, ran.peak_mb, newest_build_seconds(mesh.home / "dagster"))

        return run

    return Scenario(
        "partition",
        f"one new day of a daily product holding 365 days ({rows:,} rows; mesh materialize --partition {newest})",
        "the same product rebuilt whole (mesh materialize: 365 partitions)",
        "≤ 1/20 of the full rebuild (ratio ≤ 0.05)",
        timed(address, "--partition", newest.isoformat()),
        timed(address),
    )


def newest_build_seconds(dagster_home: Path) -> float:
    """How long the newest run of the instance at `dagster_home` spent building: the durations of its steps
    (Dagster's step statistics: a step's start to its success, the checks and the publish included)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        newest = instance.get_runs(limit=1)[0]
        return sum(
            step.end_time - step.start_time
            for step in instance.get_run_step_stats(newest.run_id)
            if step.end_time and step.start_time
        )


def tiny_product_mesh(root: Path, domain: str) -> BenchMesh:
    """A new bench mesh at `root` with one product, `mesh://<domain>/tiny`: 10 rows from `root/tiny.csv`, one rule."""
    shutil.rmtree(root, ignore_errors=True)
    mesh = BenchMesh(root)
    mesh.add_domain(domain)
    columns = [column("id", "integer", "BIGINT", required=True), column("label", "string", "VARCHAR")]
    mesh.add_product(domain, "tiny", source_recipe("tiny.csv"), contract(domain, "tiny", columns, ROW_COUNT))
    (root / "tiny.csv").write_text("id,label\n" + "".join(f"{i},row {i}\n" for i in range(10)))
    mesh.land(domain, root / "tiny.csv")
    return mesh


def launch_scenario(workdir: Path, log: Path) -> Scenario | None:
    """A run of a 10-row product with Dagster's state in PostgreSQL (a throwaway server on 127.0.0.1, the
    deployment file's instance.postgres_url) against the same run on the embedded SQLite instance: what a
    run costs to launch and record on each, both through `mesh materialize`."""
    import atexit

    from tests.postgres_server import PostgresServer, server_binaries

    binaries = server_binaries()
    if binaries is None:
        print("  launch: skipped, PostgreSQL's server is not installed (make postgres installs Debian's package)", flush=True)
        return None
    server = PostgresServer(binaries).start()
    atexit.register(server.stop)
    root = workdir / "launch"
    mesh = tiny_product_mesh(root, "launch")
    (root / "deploy").mkdir()
    (root / "deploy" / "postgres.yaml").write_text("instance:\n  postgres_url: {env: BENCH_POSTGRES_URL}\n")
    sqlite_env = mesh.env()
    postgres_env = {**sqlite_env, "MESH_ENV": "postgres", "BENCH_POSTGRES_URL": server.new_database("launch")}
    command = mesh_command("materialize", "mesh://launch/tiny")
    for env in (sqlite_env, postgres_env):  # each instance created (its schema) before the timed runs
        subprocess.run(command, env=env, cwd=root, check=True, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return Scenario(
        "launch",
        "run launch: mesh materialize of a 10-row product, Dagster's state in PostgreSQL (127.0.0.1)",
        "the same run on the embedded SQLite instance",
        None,
        lambda: measure(command, postgres_env, root, log),
        lambda: measure(command, sqlite_env, root, log),
    )


PLAIN_DAGSTER_ASSET = """\
import dagster as dg
from dagster_duckdb import DuckDBResource

CSV = {csv!r}


@dg.asset(check_specs=[dg.AssetCheckSpec("row_count", asset="tiny")])
def tiny(duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as connection:
        connection.execute(f"CREATE OR REPLACE TABLE tiny AS SELECT * FROM read_csv('{{CSV}}')")
        rows = connection.execute("SELECT count(*) FROM tiny").fetchone()[0]
    return dg.MaterializeResult(
        metadata={{"dagster/row_count": rows}}, check_results=[dg.AssetCheckResult(check_name="row_count", passed=rows == 10)]
    )


defs = dg.Definitions(assets=[tiny], resources={{"duckdb": DuckDBResource(database={database!r})}})
"""


def start_scenario(workdir: Path, log: Path) -> Scenario:
    """What a small build costs to start: `mesh materialize` of a 10-row product (warm: its domain's worker is up,
    as after any earlier build) against plain Dagster's `dagster asset materialize` of one DuckDB asset with a
    check, both on a SQLite instance of their own."""
    root = workdir / "start"
    mesh = tiny_product_mesh(root, "start")
    csv = root / "tiny.csv"
    plain = root / "plain"
    (plain / "dagster_home").mkdir(parents=True)
    (plain / "definitions.py").write_text(PLAIN_DAGSTER_ASSET.format(csv=str(csv), database=str(plain / "plain.duckdb")))
    plain_env = {**mesh.env(warm=True), "DAGSTER_HOME": str(plain / "dagster_home")}
    plain_command = [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-f",
        str(plain / "definitions.py"),
        "--select",
        "tiny",
    ]
    command = mesh_command("materialize", "mesh://start/tiny")
    for what, env in ((command, mesh.env(warm=True)), (plain_command, plain_env)):  # instances created, the worker started
        subprocess.run(what, env=env, cwd=root, check=True, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    return Scenario(
        "start",
        "a small build: mesh materialize of a 10-row product with a rule (warm; memory: the command, not the forked run)",
        "dagster asset materialize of one DuckDB asset with a check",
        "≤ 0.25×",
        lambda: measure(command, mesh.env(warm=True), root, log),
        lambda: measure(plain_command, plain_env, root, log),
    )


def definitions_scenario(workdir: Path, domains: int, products: int, log: Path) -> Scenario:
    """Loading a mesh of `domains` × `products` (chains of SQL products, each domain reading the one before)
    against the same asset graph as plain Dagster assets, both with `dagster definitions validate`."""
    mesh_root, plain_root = workdir / f"defs_mesh_{domains}x{products}", workdir / f"defs_plain_{domains}x{products}"
    for folder in (mesh_root, plain_root):
        shutil.rmtree(folder, ignore_errors=True)
    mesh = BenchMesh(mesh_root)
    plain_locations = []
    (plain_root / "plainmesh").mkdir(parents=True)
    (plain_root / "plainmesh" / "__init__.py").write_text("")
    for d in range(domains):
        domain = f"d{d:02d}"
        mesh.add_domain(domain)
        assets = []
        for p in range(products):
            name = f"p{p:02d}"
            reads = ([(domain, f"p{p - 1:02d}", None)] if p else []) + (
                [(f"d{d - 1:02d}", "p00", "upstream")] if p == 1 and d else []
            )
            inputs = [f"mesh://{dom}/{prod}" + (f" as {alias}" if alias else "") for dom, prod, alias in reads]
            columns = [column("id", "integer", "BIGINT", required=True), column("label", "string", "VARCHAR")]
            recipe = sql_recipe(inputs, f"SELECT id, label FROM p{p - 1:02d}") if p else source_recipe(f"{name}.csv")
            mesh.add_product(domain, name, recipe, contract(domain, name, columns, ROW_COUNT))
            deps = ", ".join(f'dg.AssetKey(["{dom}", "{prod}"])' for dom, prod, _ in reads)
            assets.append(
                f'@dg.asset(key=dg.AssetKey(["{domain}", "{name}"]), deps=[{deps}], group_name="{domain}")\n'
                f"def {domain}_{name}():\n    return None\n"
            )
        package = plain_root / "plainmesh" / domain
        package.mkdir()
        (package / "__init__.py").write_text("")
        names = ", ".join(f"{domain}_p{p:02d}" for p in range(products))
        (package / "definitions.py").write_text(
            "import dagster as dg\n\n\n" + "\n\n".join(assets) + f"\n\ndefs = dg.Definitions(assets=[{names}])\n"
        )
        plain_locations.append(
            {
                "python_module": {
                    "module_name": f"plainmesh.{domain}.definitions",
                    "working_directory": ".",
                    "location_name": domain,
                }
            }
        )
    (plain_root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": plain_locations}, sort_keys=False))
    dagster = str(Path(sys.executable).with_name("dagster"))
    plain_env = {**mesh.env(), "DAGSTER_HOME": str(plain_root / "dagster_home")}
    (plain_root / "dagster_home").mkdir()
    (mesh.home / "dagster").mkdir(parents=True, exist_ok=True)
    validate = [dagster, "definitions", "validate", "-w", "workspace.yaml"]
    return Scenario(
        "definitions",
        f"definitions load, {domains} domains × {products} products (dagster definitions validate)",
        "the same graph as plain Dagster assets",
        "≤ 1.25×",
        lambda: measure(validate, mesh.env(), mesh_root, log),
        lambda: measure(validate, plain_env, plain_root, log),
    )


def demo_scenario(workdir: Path, log: Path) -> Scenario:
    """`mesh materialize --all` of the demo mesh on seeded data (a fresh MESH_HOME each time), the domains' workers
    warm as after any earlier build (its memory figure is the command's alone: the runs are the workers' children)."""
    home = workdir / "demo_home"
    env = mesh_env(REPO, home, warm=True)

    def fresh() -> None:
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run(mesh_command("seed"), env=env, cwd=REPO, check=True, stdout=log.open("ab"), stderr=subprocess.STDOUT)

    return Scenario(
        "demo",
        "the demo mesh: mesh materialize --all (13 products, 5 domains; warm)",
        None,
        "≤ 10 s",
        lambda: measure(mesh_command("materialize", "--all"), env, REPO, log),
        None,
        fresh,
    )


WIDE_SQL = "SELECT * FROM wide_source"
WIDE_MEASURES = ("check", "load", "build")


def wide_scenarios(workdir: Path, widths: list[int], rows: int, log: Path) -> list[Scenario]:
    """One product of N BIGINT columns, for each N of `widths`: `mesh check` of its mesh, its code location's
    definitions load (`dagster definitions validate`), and its build (`mesh materialize`, a SQL product over a
    source of `rows` rows) against the same SQL in raw DuckDB writing the same rows to Parquet.

    Each width has a mesh of its own (one domain: the source, published once, and the SQL product); check and
    load have no reference: what they show is how they grow with the width (`wide_linearity`). The widths of
    one measure run in turn, round by round, so that a machine's drift does not pass for growth."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    measured: dict[str, list[Scenario]] = {name: [] for name in WIDE_MEASURES}
    for width in widths:
        data = write_wide(workdir / "data" / f"wide_{width}.parquet", width, rows)
        root = workdir / f"wide_{width}"
        shutil.rmtree(root, ignore_errors=True)
        mesh = BenchMesh(root)
        mesh.add_domain("wide")
        names = wide_column_names(width)
        columns = [
            column(name, "integer", "BIGINT", **({"required": True} if index == 0 else {})) for index, name in enumerate(names)
        ]
        mesh.add_product("wide", "wide_source", source_recipe(data.name), contract("wide", "wide_source", columns, ROW_COUNT))
        recipe = sql_recipe(["mesh://wide/wide_source"], WIDE_SQL)
        mesh.add_product("wide", "wide", recipe, contract("wide", "wide", columns, ROW_COUNT))
        mesh.land("wide", data)
        (mesh.home / "dagster").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            mesh_command("materialize", "mesh://wide/wide_source"),
            env=mesh.env(),
            cwd=root,
            check=True,  # published once
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        output = workdir / f"wide_{width}_reference.parquet"
        reference = [
            sys.executable,
            str(BENCH / "reference" / "duckdb_build.py"),
            "--input",
            str(data),
            "--output",
            str(output),
            "--name",
            "wide_source",
            "--sql",
            WIDE_SQL,
        ]

        def run(command: list[str], mesh: BenchMesh = mesh) -> Callable[[], Run]:
            return lambda: measure(command, mesh.env(), mesh.root, log)

        linear = "grows no worse than linearly"
        measured["check"].append(
            Scenario(
                f"wide_check_{width}",
                f"mesh check, one product of {width:,} BIGINT columns (and its source)",
                None,
                linear,
                run(mesh_command("check")),
                in_turn_with="wide_check",
            )
        )
        measured["load"].append(
            Scenario(
                f"wide_load_{width}",
                f"definitions load, one product of {width:,} columns (dagster definitions validate)",
                None,
                linear,
                run([dagster, "definitions", "validate", "-w", "workspace.yaml"]),
                in_turn_with="wide_load",
            )
        )
        measured["build"].append(
            Scenario(
                f"wide_build_{width}",
                f"SQL product of {width:,} BIGINT columns, {rows:,} rows (mesh materialize)",
                "the same SQL in DuckDB, COPY to Parquet",
                "peak memory ratio does not grow with the width",
                run(mesh_command("materialize", "mesh://wide/wide")),
                run(reference),
                lambda output=output: output.unlink(missing_ok=True),
                in_turn_with="wide_build",
            )
        )
    return [scenario for name in WIDE_MEASURES for scenario in measured[name]]


def wide_linearity(results: dict[str, dict], widths: list[int]) -> dict | None:
    """How each wide figure grows from one width to the next (median over median), beside how much wider it got:
    a growth at or under the widths' own ratio is linear or better."""
    steps = list(itertools.pairwise(widths))
    growth: dict[str, dict[str, float]] = {}
    for label, measured, side, figure in (
        ("mesh check", "check", "mesh", "wall_s_median"),
        ("definitions load", "load", "mesh", "wall_s_median"),
        ("mesh materialize", "build", "mesh", "wall_s_median"),
        ("DuckDB, the same SQL", "build", "reference", "wall_s_median"),
        ("mesh materialize, peak memory", "build", "mesh", "peak_mb_median"),
        ("DuckDB, peak memory", "build", "reference", "peak_mb_median"),
    ):
        found = [results.get(f"wide_{measured}_{width}", {}).get(side) for width in widths]
        if steps and all(found):
            by_width = dict(zip(widths, found, strict=True))
            growth[label] = {f"{wider}/{narrow}": by_width[wider][figure] / by_width[narrow][figure] for narrow, wider in steps}
    if not growth:
        return None
    return {
        "what": "wide tables: how each figure grows from one width to the next (median over median)",
        "goal": "no more than the width: " + ", ".join(f"{b}/{a} columns = {b / a:.3g}×" for a, b in steps),
        "growth": growth,
    }
