"""The dbt reference: jaffle-shop's models built by `dbt build` (dbt-duckdb) and as mesh products, in turn.

For each size: the raw tables generated once (bench/jaffle/data.py), the mesh made from the dbt project's files
(bench/jaffle/project.py) with its sources published, both sides built once (untimed: dbt parses its project and
writes its partial-parse file, the mesh creates its instance and ports), and every model's output compared, row for
row — a difference stops the benchmark before anything is timed. Then two scenarios, each a whole process a side:
- the whole project: `dbt build` (13 models, 35 data tests; dbt's default of one thread) against
  `mesh materialize --domain jaffle` (the 13 products with the same tests as contract rules; the raw tables are
  source products of another domain, published in the setup, as dbt's sources are files it only reads);
- one model rebuilt: `dbt build -s orders` (the model and its tests, and the relationship test of order_items that
  refers to it: dbt's default eager selection) against `mesh materialize mesh://jaffle/orders`.
Wall time, and CPU time of the process and every process it waited for. The mesh builds as it does by default,
through the models' domain's warm worker (started by the setup's build, as by a team's earlier builds): its CPU time
since the previous mesh command (its own, idle work included, and that of the runs it forked) is the command's too,
and its memory (PSS) is added to the command's peak (bench/harness.py, `Helpers`); the sources' domain's worker, idle,
is left out. A third scenario builds the whole project without warm workers (MESH_WARM_SECONDS=0: each run a new
process, as the first build after the workers ended).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Helpers, measure
from bench.jaffle.compare import differing
from bench.jaffle.data import SIZES, write
from bench.jaffle.dbt_env import DbtUnavailable, dbt_env, dbt_executable
from bench.jaffle.project import MODELS, SOURCES, dbt_project, jaffle_mesh, models
from bench.meshes import BenchMesh, mesh_command
from bench.scenarios import Scenario

ONE_MODEL = "orders"
GOAL_FULL = "≤ 1.0× wall and CPU"
GOAL_ONE = "≤ 1.0×"


@dataclass
class JaffleShop:
    """One size of the shop set up on both sides, in `folder`."""

    size: str
    folder: Path
    raw: Path
    mesh: BenchMesh
    dbt: Path  # the executable
    project: Path  # the dbt project's copy it runs in
    log: Path
    threads: int | None = None  # dbt's --threads; without it, the profile's default (1)

    @property
    def database(self) -> Path:
        return self.folder / "jaffle.duckdb"

    def dbt_env(self) -> dict[str, str]:
        return dbt_env(self.project, self.raw, self.database)

    def dbt_build(self, *selection: str) -> list[str]:
        threads = ["--threads", str(self.threads)] if self.threads else []
        return [str(self.dbt), "build", *threads, *(["--select", *selection] if selection else [])]

    def mesh_build(self, *addresses: str) -> list[str]:
        return mesh_command("materialize", *(addresses or ("--domain", MODELS)))

    def run_dbt(self, *args: str) -> None:
        self._run([str(self.dbt), *args], self.dbt_env(), self.project)

    def run_mesh(self, *args: str) -> None:
        self._run(mesh_command(*args), self.mesh.env(warm=True), self.mesh.root)

    def _run(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        with self.log.open("ab") as output:
            subprocess.run(command, env=env, cwd=cwd, check=True, stdout=output, stderr=subprocess.STDOUT)

    def compare(self) -> dict[str, dict]:
        """Every model's output on both sides (bench/jaffle/compare.py, in a process of its own)."""
        ports = self.mesh.home / "ports" / MODELS
        compared = subprocess.run(
            [sys.executable, "-m", "bench.jaffle.compare", str(self.database), str(ports), *[m.name for m in models()]],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        if compared.returncode not in (0, 1):
            raise RuntimeError(f"comparing the outputs failed: {compared.stderr.strip()}")
        return json.loads(compared.stdout)


def set_up(workdir: Path, size: str, log: Path, orders: int | None = None, dbt_venv: Path | None = None) -> JaffleShop:
    """The shop of `size` (or of `orders` orders) on both sides in `workdir`, each built once; dbt's environment in
    `dbt_venv` (default: `workdir/dbt-venv`); `DbtUnavailable` when it cannot be made."""
    dbt = dbt_executable(dbt_venv or workdir / "dbt-venv")
    count = orders or SIZES[size]
    raw = write(workdir / "data" / "jaffle" / f"{size}-{count}", count)
    folder = workdir / f"jaffle_{size}"
    folder.mkdir(parents=True, exist_ok=True)
    mesh = jaffle_mesh(folder / "mesh", raw)
    (mesh.home / "dagster").mkdir(parents=True, exist_ok=True)
    shop = JaffleShop(size, folder, raw, mesh, dbt, dbt_project(folder), log)
    for stale in (shop.database, shop.database.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    shop.run_dbt("deps")
    shop.run_dbt("build")
    shop.run_mesh("materialize", "--domain", SOURCES)
    shop.run_mesh("materialize", "--domain", MODELS)
    return shop


def dbt_scenarios(workdir: Path, sizes: list[str], log: Path, threads: int | None = None) -> list[Scenario]:
    """Both scenarios at each size (dbt on `threads`, else its default of one); none, with the reason printed, where
    dbt's environment cannot be made."""
    scenarios: list[Scenario] = []
    for size in sizes:
        print(f"  dbt: setting up the jaffle shop, {size} ({SIZES[size]:,} orders)", flush=True)
        try:
            shop = set_up(workdir, size, log)
        except DbtUnavailable as error:
            print(f"  dbt: skipped, {error}", flush=True)
            return []
        compared = shop.compare()
        if wrong := differing(compared):
            raise RuntimeError(f"the mesh's output differs from dbt's for {', '.join(wrong)}: {json.dumps(compared)}")
        rows = sum(figures["dbt_rows"] for figures in compared.values())
        print(f"  dbt: every model's output equal on both sides ({len(compared)} models, {rows:,} rows)", flush=True)
        shop.threads = threads
        scenarios += shop_scenarios(shop)
    return scenarios


def shop_scenarios(shop: JaffleShop) -> list[Scenario]:
    orders = f"{SIZES.get(shop.size, 0):,} orders"

    workers = Helpers(lambda: shop.mesh.warm_workers([MODELS]))  # not the sources' domain's: idle

    def mesh(*addresses: str, warm: bool = True):
        counted = workers if warm else None
        return lambda: measure(shop.mesh_build(*addresses), shop.mesh.env(warm), shop.mesh.root, shop.log, True, counted)

    def dbt(*selection: str):
        return lambda: measure(shop.dbt_build(*selection), shop.dbt_env(), shop.project, shop.log, cpu=True)

    count = len(models())
    suffix = f"_threads{shop.threads}" if shop.threads else ""
    return [
        Scenario(
            f"dbt_full_{shop.size}{suffix}",
            f"jaffle shop, {count} SQL models with their tests, {orders}: mesh materialize --domain {MODELS}",
            f"dbt build (dbt-duckdb, {shop.threads or 1} thread{'s' if (shop.threads or 1) > 1 else ''})",
            GOAL_FULL,
            mesh(),
            dbt(),
        ),
        Scenario(
            f"dbt_one_{shop.size}{suffix}",
            f"jaffle shop, one model rebuilt ({ONE_MODEL}), {orders}: mesh materialize mesh://{MODELS}/{ONE_MODEL}",
            f"dbt build -s {ONE_MODEL}" + (f" --threads {shop.threads}" if shop.threads else ""),
            GOAL_ONE,
            mesh(f"mesh://{MODELS}/{ONE_MODEL}"),
            dbt(ONE_MODEL),
        ),
        Scenario(
            f"dbt_full_cold_{shop.size}{suffix}",
            f"the same, without warm workers (MESH_WARM_SECONDS=0), {orders}: mesh materialize --domain {MODELS}",
            f"dbt build (dbt-duckdb, {shop.threads or 1} thread{'s' if (shop.threads or 1) > 1 else ''})",
            None,
            mesh(warm=False),
            dbt(),
        ),
    ]
