"""The package's shape: one sub-package per concept, imports pointing one way, no cycles, every import declared."""

import graphlib
import shutil
import subprocess
import sys

import grimp
import pytest

from .conftest import REPO

# Top to bottom: a layer may import the layers below it, never those above. Packages sharing a
# line are independent of each other. Function-local imports count: a local import that dodges a
# cycle is a layering bug all the same.
LAYERS = (
    "cli",
    ("runtime", "demo"),
    "consume",
    "context",
    "recipes",
    ("product", "scaffold"),
    "notify",
    "governance",
    ("quality", "lineage"),
    ("catalog", "storage"),
    "contract",
    "core",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("mesh_platform", cache_dir=None)


def test_every_module_belongs_to_a_layer(graph):
    layered = {name for layer in LAYERS for name in ((layer,) if isinstance(layer, str) else layer)}
    packages = {module.split(".")[1] for module in graph.modules if module.count(".") >= 1}
    assert packages == layered


def test_imports_point_down_the_layers(graph):
    layers = [grimp.Layer(layer) if isinstance(layer, str) else grimp.Layer(*layer, independent=True) for layer in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"mesh_platform"})
    described = sorted(
        f"{dependency.importer} → {dependency.imported}: "
        + "; ".join(" → ".join(route.heads | route.tails) for route in dependency.routes)
        for dependency in illegal
    )
    assert not described, "imports against the layers:\n" + "\n".join(described)


def test_no_module_imports_itself_back(graph):
    """No cycle between modules, not even inside one package (type-checking imports aside)."""
    runtime = grimp.build_graph("mesh_platform", exclude_type_checking_imports=True, cache_dir=None)
    sorter = graphlib.TopologicalSorter({m: runtime.find_modules_directly_imported_by(m) for m in runtime.modules})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' → '.join(error.args[1])}")


@pytest.mark.skipif(
    shutil.which("deptry", path=str(REPO / ".venv/bin")) is None and shutil.which("deptry") is None,
    reason="deptry is a test dependency",
)
def test_every_imported_package_is_declared():
    deptry = shutil.which("deptry", path=str(__import__("pathlib").Path(sys.executable).parent)) or shutil.which("deptry")
    result = subprocess.run([deptry, "mesh_platform", "domains"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter(graph):
    """Each module imports first thing in a new process: no import order hides a cycle.

    The processes are forked from one that has imported the third-party packages the platform imports (Dagster,
    pandas, DuckDB…) and nothing of the platform: each still meets the platform's modules first, without paying
    seconds of Dagster's import each."""
    external = grimp.build_graph("mesh_platform", include_external_packages=True, cache_dir=None)
    third_party = sorted(m for m in external.modules if "." not in m and m not in graph.modules and m != "mesh_platform")
    script = (
        "import importlib, os, sys, traceback\n"
        "for package in sys.argv[1].split(','):\n"
        "    try:\n"
        "        importlib.import_module(package)\n"
        "    except Exception:\n"
        "        pass  # an optional package (or one only a deployment installs): the module imports it itself\n"
        "mine = [m for m in sys.modules if m.split('.')[0] in ('mesh_platform', 'domains')]\n"
        "assert not mine, f'the parent imported {mine[:3]}'\n"
        "def alone(module):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(module)\n"
        "        except BaseException:\n"
        "            print(module, traceback.format_exc().strip().splitlines()[-1], flush=True)\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    return pid\n"
        "running, failed = [], 0\n"
        "for module in [*sys.argv[2:], None]:\n"
        "    if module is not None:\n"
        "        running.append(alone(module))\n"
        "    while running and (len(running) >= 2 or module is None):\n"
        "        failed += os.waitstatus_to_exitcode(os.waitpid(running.pop(0), 0)[1]) != 0\n"
        "sys.exit(1 if failed else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, ",".join(third_party), *sorted(graph.modules)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    assert result.stdout == "", result.stdout
