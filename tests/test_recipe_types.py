"""Recipe types: one module and one template folder each, registered by the package itself.

The README's "Add a recipe type" section is taken literally: its module and its
template files are added to a copy of the platform, and nothing else is changed.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from mesh_platform import recipes
from mesh_platform.recipes import recipe_types

from .conftest import REPO, MeshCopy, owner_read, run_mesh

EXPECTED = {"cdc", "filter", "join", "projection", "python", "source", "sql", "union"}


def test_every_recipe_type_is_registered_with_its_template_folder():
    types = recipe_types()
    assert set(types) == EXPECTED
    for name, recipe in types.items():
        assert (REPO / "templates" / name / "defs.yaml.jinja").is_file(), name
        assert recipe.summary() and recipe.type_name() == f"mesh_platform.recipes.{recipe.__name__}"
        assert getattr(recipes, recipe.__name__) is recipe  # what `type:` in a defs.yaml names
    assert types["filter"].input_range() == (1, 1) and types["join"].input_range() == (2, None)


def readme_files() -> dict[str, str]:
    """The files the README's "Add a recipe type" section shows: each code block opening with its path."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Add a recipe type") :]
    section = section[: section.index("\n## ")]
    files = {}
    for block in re.findall(r"```\w*\n(.*?)```", section, re.DOTALL):
        first, _, body = block.partition("\n")
        if path := re.fullmatch(r"(?:# |\{# )(\S+)(?: #\})?", first.strip()):
            files[path.group(1)] = body if first.startswith("{#") else block
    return files


def tree(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
    }


@pytest.mark.slow
def test_a_new_recipe_type_is_one_module_and_one_template_folder(mesh_copy: MeshCopy):
    files = readme_files()
    assert set(files) == {
        "mesh_platform/recipes/latest.py",
        "templates/latest/defs.yaml.jinja",
        "templates/latest/contract.yaml.jinja",
    }
    shutil.copytree(REPO / "mesh_platform", mesh_copy.root / "mesh_platform", ignore=shutil.ignore_patterns("__pycache__"))
    before = tree(mesh_copy.root)
    for path, text in files.items():
        (mesh_copy.root / path).parent.mkdir(parents=True, exist_ok=True)
        (mesh_copy.root / path).write_text(text)
    assert set(tree(mesh_copy.root)) - set(before) == set(files) and all(tree(mesh_copy.root)[f] == h for f, h in before.items())

    # The copy's platform, in its own processes, as a user of that checkout would run it.
    env = {**mesh_copy.env, "PYTHONPATH": str(mesh_copy.root)}

    def mesh(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mesh_platform.cli.main", *args],
            cwd=mesh_copy.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    listed = {t["name"]: t for t in json.loads(mesh("templates", "--json").stdout)}
    assert listed["latest"]["description"] == "The newest row of each key of one input (by an ordering column); no code."
    assert [p["name"] for p in listed["latest"]["parameters"]] == ["key", "order_by"] and listed["latest"]["inputs"] == "1 input"
    mesh(
        "new",
        "product",
        "sales/latest_orders",
        "--template",
        "latest",
        "--input",
        "mesh://sales/orders",
        "--set",
        "key=customer_number",
    )
    recipe = (mesh_copy.root / "domains/sales/defs/latest_orders/defs.yaml").read_text()
    assert "type: mesh_platform.recipes.LatestProduct" in recipe and "order_by: order_date" in recipe
    mesh("materialize", "mesh://sales/latest_orders")
    mesh("check")

    orders = owner_read("mesh://sales/orders", settings=mesh_copy.settings)
    latest = owner_read("mesh://sales/latest_orders", settings=mesh_copy.settings)
    assert len(latest) == orders["customer_number"].nunique()
    newest = orders.groupby("customer_number")["order_date"].max()
    assert (latest.set_index("customer_number")["order_date"] == newest.reindex(latest["customer_number"]).values).all()
    assert os.environ.get("PYTHONPATH") != env["PYTHONPATH"]  # the repository's own platform was not touched


SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"


@pytest.mark.parametrize(
    ("recipe", "line", "message"),
    [
        # Checked against the recipe type's schema (what `dg check yaml` checks too).
        (
            "type: mesh_platform.recipes.FilterProduct\nattributes:\n"
            "  inputs: [mesh://shop/things, mesh://shop/more]\n  where: id > 1\n",
            3,
            "List should have at most 1 item",
        ),
        (
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [shop/things]\n  sql: SELECT 1\n",
            3,
            "'shop/things' is not a product address",
        ),
        (
            "type: mesh_platform.recipes.CdcProduct\nattributes:\n  inputs: [mesh://shop/things]\n  key: [id]\n  sequence: id\n",
            2,
            "operation",
        ),
        # Checked by the recipe type's own validators.
        (
            "type: mesh_platform.recipes.JoinProduct\nattributes:\n"
            "  inputs: [mesh://shop/things, mesh://shop/more]\n  joins:\n    - {input: others, keys: [id]}\n",
            2,
            "joins must name each input after the first once: expected more, got others",
        ),
        (
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n  sql_file: query.sql\n",
            2,
            "give exactly one of sql (inline query) or sql_file",
        ),
        (
            "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: ../../elsewhere/*.csv\n",
            3,
            "must stay inside the landing folder",
        ),
        (
            "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://shop/things]\n  where: ['  ']\n",
            4,
            "give at least one condition",
        ),
        # Checked against the files beside the recipe.
        (
            "type: mesh_platform.recipes.PythonProduct\nattributes:\n  function: missing.py:build\n",
            3,
            "function file 'missing.py' does not exist",
        ),
    ],
    ids=[
        "too many inputs",
        "not an address",
        "missing setting",
        "join names another input",
        "two queries",
        "path escapes",
        "empty condition",
        "missing file",
    ],
)
def test_a_recipe_setting_its_type_refuses_names_the_file_and_line(lab, recipe, line, message):
    from .conftest import column, contract_yaml

    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", [column("id", "integer")]))
    lab.add_product("shop", "more", SOURCE, contract_yaml("shop", "more", [column("id", "integer")]))
    lab.add_product("shop", "odd", recipe, contract_yaml("shop", "odd", [column("id", "integer")]))
    broken = lab.broken_products("shop")
    assert set(broken) == {"odd"}, broken  # things and more load
    assert f"shop/defs/odd/defs.yaml:{line}" in broken["odd"] and message in broken["odd"], broken["odd"]
    checked = run_mesh("check")  # mesh check refuses it first, at the same line
    [reported] = [text for text in checked.stdout.splitlines() if "/defs/odd/" in text]
    assert checked.returncode == 1 and f"shop/defs/odd/defs.yaml:{line}:" in reported and message in reported, reported
