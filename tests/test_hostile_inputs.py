"""Hostile and careless inputs: each is refused with a one-line error naming file and field, nothing is
published or changed, nothing outside its place is read or written, and the other domains still load."""

import contextlib
import gc
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from mesh_platform.governance.access_log import AccessLog

from .conftest import REPO, LabMesh, MeshRun, column, contract_yaml, open_lab, owner_read, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: people.csv\n"
PEOPLE = [column("id", "integer", required=True), column("email", classification="personal")]


@pytest.fixture(scope="module")
def published(tmp_path_factory, empty_instance):
    """crm/people published, with a personal e-mail column that ads may read only hashed; a secret file beside.
    Built once for the module: the tests using it only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = tmp_path_factory.mktemp("published")
        lab = open_lab(root / "lab", monkeypatch, empty_instance)
        lab.add_domain("crm")
        lab.add_domain("ads")
        lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
        lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n2,bob@example.com\n")
        assert lab.materialize("crm").success
        secret = root / "outside" / "secret.csv"
        secret.parent.mkdir()
        secret.write_text("token\ntop-secret\n")
        yield lab, secret


@pytest.fixture
def in_published(published, monkeypatch):
    """The published lab mesh as the environment's mesh, for one test."""
    lab, secret = published
    for name, value in (
        ("MESH_ROOT", lab.root),
        ("MESH_HOME", lab.settings.home),
        ("DAGSTER_HOME", lab.settings.dagster_home),
        ("MESH_GLOSSARY", lab.glossary_file),
    ):
        monkeypatch.setenv(name, str(value))
    monkeypatch.syspath_prepend(str(lab.root))
    return lab, secret


def one_line_error(result, acting_as: str | None = None) -> str:
    """The one-line error a command ended with (`acting_as`: after its one line saying that identity is unverified)."""
    assert result.returncode == 1, result.stdout
    stderr = result.stderr
    if acting_as is not None:
        notice, _, stderr = stderr.partition("\n")
        assert notice.startswith(f"acting as {acting_as}, unverified: "), result.stderr
    assert stderr.startswith("error: ") and stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in stderr
    return stderr


def reads_logged(lab) -> list[str]:
    return [entry.product for entry in AccessLog(lab.settings.access_log_file).entries()]


QUERY_ESCAPES = [
    ("a port's files", "SELECT email FROM read_parquet('{ports}/crm/people/v1/*.parquet')", "no file"),
    (
        "a port's files as text",
        "SELECT * FROM read_text('{ports}/crm/people/v1/_delta_log/00000000000000000000.json')",
        "no file",
    ),
    ("a file of the machine", "SELECT * FROM read_csv('/etc/passwd')", "no file"),
    ("a file beside the mesh", "SELECT * FROM read_csv('{secret}')", "no file"),
    ("listing folders", "SELECT * FROM glob('{home}/*')", "no file"),
    ("a subquery on a file", "SELECT count(*) FROM crm.people WHERE email IN (SELECT * FROM read_csv('{secret}'))", "no file"),
    ("the owner's database", "ATTACH '{home}/domains/crm/crm.duckdb' AS owner", "not a SELECT but ATTACH"),
    ("writing a file", "COPY (SELECT * FROM crm.people) TO '{out}'", "not a SELECT but COPY"),
    ("an extension", "INSTALL httpfs", "not a SELECT"),
    ("loading an extension", "LOAD httpfs", "not a SELECT"),
    ("a setting", "SET enable_external_access = true", "not a SELECT but SET"),
    ("a pragma", "PRAGMA enable_external_access", "not a SELECT"),
    ("exporting the database", "EXPORT DATABASE '{out}'", "not a SELECT"),
    ("a second statement", "SELECT 1; COPY (SELECT 1) TO '{out}'", "2 statements"),
    ("a file as raw bytes", "SELECT * FROM read_blob('/etc/passwd')", "no file"),
    ("a file as JSON", "SELECT * FROM read_json('{ports}/crm/people/v1/_delta_log/00000000000000000000.json')", "no file"),
    ("a file named in FROM", "FROM '/etc/passwd'", "Table with name /etc/passwd does not exist"),
    ("a port's Parquet metadata", "SELECT * FROM parquet_metadata('{ports}/crm/people/v1/*.parquet')", "no file"),
    ("a file inside a CTE", "WITH leak AS (SELECT * FROM read_csv('{secret}')) SELECT * FROM leak", "no file"),
]


@pytest.mark.parametrize(("what", "sql", "message"), QUERY_ESCAPES, ids=[c[0] for c in QUERY_ESCAPES])
def test_mesh_query_reads_only_the_products_it_names(in_published, tmp_path, what, sql, message):
    lab, secret = in_published
    out = tmp_path / "written.csv"
    sql = sql.format(ports=lab.settings.ports_root, home=lab.settings.home, secret=secret, out=out)
    logged = reads_logged(lab)
    error = one_line_error(run_mesh("query", "--as", "ads", sql), acting_as="ads")
    assert message in error
    assert not out.exists() and not (Path.cwd() / "x.csv").exists()
    assert set(reads_logged(lab)[len(logged) :]) <= {"mesh://crm/people"}  # only the product the query names was opened


def test_mesh_query_still_reads_granted_products_masked_and_writes_output(in_published, tmp_path):
    lab, _ = in_published
    result = run_mesh("query", "--as", "ads", "SELECT id, email FROM crm.people ORDER BY id", "--output", str(tmp_path / "r.csv"))
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0] == "id,email" and len(rows) == 3 and all(len(r.split(",")[1]) == 64 for r in rows[1:])


def test_the_python_api_reads_in_a_sandbox_too(in_published):
    import duckdb

    from mesh_platform import read_product_relation

    lab, secret = in_published
    relation = read_product_relation("mesh://crm/people", consumer="ads")
    with pytest.raises(duckdb.PermissionException):
        relation.query("people", f"SELECT * FROM read_csv('{secret}')").fetchall()


BUILD_ESCAPES = [
    (
        "sql reading another domain's port files",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n"
        "  sql: SELECT 1 AS id, email FROM read_parquet('{ports}/crm/people/v1/*.parquet')\n",
    ),
    (
        "sql reading a file of the machine",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n"
        "  sql: SELECT 1 AS id, content AS email FROM read_text('{secret}')\n",
    ),
    (
        "a filter condition reading a file",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
        "  where: \"email IN (SELECT token FROM read_csv('{secret}'))\"\n",
    ),
    (
        "sql listing the mesh's folders",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id, file AS email FROM glob('{home}/*')\n",
    ),
    (
        "sql reading the owner's vault",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n"
        "  sql: SELECT 1 AS id, CAST(content AS VARCHAR) AS email FROM read_blob('{home}/vault/**')\n",
    ),
    (
        "a filter condition reading the port's log",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
        "  where: \"EXISTS (SELECT 1 FROM read_json('{ports}/crm/people/v1/_delta_log/*.json'))\"\n",
    ),
]


@pytest.mark.parametrize(("what", "recipe"), BUILD_ESCAPES, ids=[c[0] for c in BUILD_ESCAPES])
def test_a_build_reads_only_its_inputs_and_its_landing_folder(in_published, what, recipe):
    lab, secret = in_published
    name = f"leak_{[c[0] for c in BUILD_ESCAPES].index(what)}"
    recipe = recipe.format(ports=lab.settings.ports_root, home=lab.settings.home, secret=secret)
    # email stays personal (mesh.personal-data follows a filter's columns): governance lets the build run, the sandbox stops it.
    lab.add_product(
        "ads", name, recipe, contract_yaml("ads", name, [column("id", "integer"), column("email", classification="personal")])
    )
    result = lab.materialize("ads", name, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "file system operations are disabled" in str(failure.step_failure_data.error)
    assert not (lab.settings.ports_root / "ads" / name).exists()  # nothing published


def test_a_quality_rule_reading_a_file_fails_the_build_and_publishes_nothing(in_published):
    lab, secret = in_published
    rule = {"type": "sql", "name": "peek", "query": f"SELECT count(*) FROM read_csv('{secret}')", "mustBe": 0}
    columns = [column("id", "integer")]
    lab.add_product(
        "ads",
        "peeking",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n",
        contract_yaml("ads", "peeking", columns, schema=[{"name": "peeking", "properties": columns, "quality": [rule]}]),
    )
    result = lab.materialize("ads", "peeking", raise_on_error=False)
    assert not result.success
    [peek] = [e for e in result.get_asset_check_evaluations() if e.check_name == "peek"]
    assert not peek.passed and "file system operations are disabled" in str(peek.metadata), peek
    assert not (lab.settings.ports_root / "ads" / "peeking").exists()  # nothing published


@pytest.mark.parametrize(
    ("recipe", "files", "line", "message"),
    [
        ("type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: /etc/passwd\n", {}, 3, "String should match pattern"),
        (
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: ../../crm/defs/people/q.sql\n",
            {},
            3,
            "String should match pattern",
        ),
        (
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: \"SELECT 1 AS id; COPY (SELECT 1) TO 'x.csv'\"\n",
            {},
            3,
            "the query must be one SELECT: it holds 2 statements",
        ),
        (
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n",
            {"q.sql": "ATTACH 'x.duckdb'"},
            3,
            "q.sql must hold one SELECT: it is not a SELECT but ATTACH",
        ),
        (
            "type: mesh_platform.recipes.PythonProduct\nattributes:\n  function: ../../x.py:build\n",
            {},
            3,
            "String should match pattern",
        ),
        (
            "type: mesh_platform.recipes.PythonProduct\nattributes:\n  function: /tmp/x.py:build\n",
            {},
            3,
            "String should match pattern",
        ),
        (
            "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
            '  where: "id > 1) UNION SELECT 1 --"\n',
            {},
            4,
            "is not one SQL expression",
        ),
        (
            "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: /etc/*.conf\n",
            {},
            3,
            "must stay inside the landing folder",
        ),
    ],
    ids=[
        "sql_file absolute",
        "sql_file climbing out",
        "two statements",
        "sql_file not a SELECT",
        "python file climbing out",
        "python file absolute",
        "a condition closing its parenthesis",
        "source path absolute",
    ],
)
def test_a_recipe_that_would_escape_is_refused_with_its_line(lab, recipe, files, line, message):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.add_product("ads", "odd", recipe, contract_yaml("ads", "odd", [column("id", "integer")]), files=files)
    broken = lab.broken_products("ads")  # the domain loads: only this product is broken, and says why
    assert f"ads/defs/odd/defs.yaml:{line}" in broken["odd"] and message in broken["odd"], broken
    assert lab.definitions("crm") is not None  # the other domain loads too
    assert f"ads/defs/odd/defs.yaml:{line}" in checked_error(lab, "odd")  # and mesh check says so first


def checked_error(lab, name: str) -> str:
    """The one line `mesh check` prints about product folder `name` (it must exit 1)."""
    checked = run_mesh("check")
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    lines = [line for line in checked.stdout.splitlines() if f"/defs/{name}/" in line and line.startswith("error ")]
    assert lines, checked.stdout
    return "\n".join(lines)


ODD_CONTRACT = contract_yaml("ads", "odd", [column("id", "integer")])
UNLOADABLE_RECIPES = [
    (
        "an unknown recipe type",
        "type: mesh_platform.recipes.NoSuchProduct\nattributes:\n  sql: SELECT 1 AS id\n",
        {},
        1,
        "is no recipe type of the mesh",
    ),
    (
        "an unknown setting",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n  sqll: SELECT 2\n",
        {},
        4,
        "unknown setting 'sqll' (a typo?)",
    ),
    (
        "a setting of the wrong type",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: [SELECT 1]\n",
        {},
        3,
        "valid string",
    ),
    (
        "a missing SQL file",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n",
        {},
        3,
        "sql_file 'q.sql' does not exist",
    ),
    ("no recipe type", "attributes:\n  sql: SELECT 1 AS id\n", {}, 1, "the recipe names no type"),
    ("a recipe that is a list", "- type: mesh_platform.recipes.SqlProduct\n", {}, 1, "must hold a YAML mapping"),
]


@pytest.mark.parametrize(
    ("what", "recipe", "files", "line", "message"), UNLOADABLE_RECIPES, ids=[c[0] for c in UNLOADABLE_RECIPES]
)
def test_mesh_check_refuses_every_recipe_its_domain_could_not_load(lab, what, recipe, files, line, message):
    """What a code location would refuse, `mesh check` refuses first, at the same file and line;
    the domain still loads, the product broken and saying why, and nothing of it builds."""
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.add_product(
        "ads",
        "fine",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n",
        contract_yaml("ads", "fine", [column("id", "integer")]),
    )
    lab.add_product("ads", "odd", recipe, ODD_CONTRACT, files=files)
    reported = checked_error(lab, "odd")
    assert f"ads/defs/odd/defs.yaml:{line}:" in reported and message in reported, reported
    broken = lab.broken_products("ads")
    assert set(broken) == {"odd"} and f"ads/defs/odd/defs.yaml:{line}" in broken["odd"] and message in broken["odd"], broken
    result = lab.materialize("ads", raise_on_error=False)  # the domain's batch: the good product builds, the broken one fails
    assert {
        key.path[-1]
        for key in result.get_asset_materialization_events() and [e.asset_key for e in result.get_asset_materialization_events()]
    } == {"fine"}
    assert lab.definitions("crm") is not None


CYCLES = [
    ("a product reading itself", {"loop": ["mesh://ads/loop"]}, "mesh://ads/loop → itself"),
    (
        "two products reading each other",
        {"ping": ["mesh://ads/pong"], "pong": ["mesh://ads/ping"]},
        "mesh://ads/ping → mesh://ads/pong → mesh://ads/ping",
    ),
    ("a loop across domains", {"ping": ["mesh://crm/pang"]}, "mesh://ads/ping → mesh://crm/pang → mesh://ads/ping"),
]


@pytest.mark.parametrize(("what", "reads", "loop"), CYCLES, ids=[c[0] for c in CYCLES])
def test_a_dependency_loop_is_refused_by_mesh_check_and_builds_nothing(lab, what, reads, loop):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n")
    if what == "a loop across domains":
        lab.add_product(
            "crm",
            "pang",
            "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://ads/ping]\n  sql: SELECT id FROM ping\n",
            contract_yaml("crm", "pang", [column("id", "integer")]),
        )
    for name, inputs in reads.items():
        alias = inputs[0].rsplit("/", 1)[1]
        recipe = f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [{inputs[0]}]\n  sql: SELECT id FROM {alias}\n"
        lab.add_product("ads", name, recipe, contract_yaml("ads", name, [column("id", "integer")]))
    checked = run_mesh("check")
    assert checked.returncode == 1 and "error mesh.no-product-cycles" in checked.stdout and loop in checked.stdout, checked.stdout
    assert "defs.yaml:3:" in next(line for line in checked.stdout.splitlines() if "no-product-cycles" in line)
    result = lab.materialize("ads", raise_on_error=False)
    assert not result.success and not result.get_asset_materialization_events()
    assert not (lab.settings.ports_root / "ads").exists()  # nothing published
    broken = lab.broken_products("ads")  # Dagster cannot order a loop: its products load broken, saying why
    assert set(broken) == set(reads) and all(loop in text or "reads it back" in text for text in broken.values()), broken
    assert lab.materialize("crm", "people").success  # the rest of the mesh builds


def test_a_domain_named_by_a_reserved_word_is_refused_by_mesh_check(lab):
    lab.add_domain("order")
    lab.add_product("order", "things", SOURCE, contract_yaml("order", "things", [column("id", "integer")]))
    checked = run_mesh("check")
    assert checked.returncode == 1, checked.stdout
    [line] = [line for line in checked.stdout.splitlines() if line.startswith("error mesh.names")]
    assert "order/defs/things/contract.yaml:" in line and "domain name 'order' is a reserved word" in line, line
    [spec] = lab.definitions("order").resolve_all_asset_specs()  # it loads, refused by governance: it will not build
    assert spec.tags.get("mesh/governance") == "violation" and "domain name 'order' is a reserved word" in spec.description


def test_a_file_linked_from_outside_the_product_folder_is_refused(lab, tmp_path):
    lab.add_domain("ads")
    outside = tmp_path / "elsewhere.sql"
    outside.write_text("SELECT 1 AS id")
    folder = lab.add_product(
        "ads",
        "odd",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n",
        contract_yaml("ads", "odd", [column("id", "integer")]),
    )
    (folder / "q.sql").symlink_to(outside)
    broken = lab.broken_products("ads")["odd"]
    assert "leads outside the product's folder" in broken and "odd/defs.yaml:3" in broken


def test_a_landing_file_linked_from_outside_is_not_read(lab, tmp_path):
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    outside = tmp_path / "outside.csv"
    outside.write_text("id,email\n1,stolen@example.com\n")
    landing = lab.settings.landing_dir("crm")
    landing.mkdir(parents=True)
    (landing / "people.csv").symlink_to(outside)
    result = lab.materialize("crm", raise_on_error=False)
    assert not result.success
    assert "leads outside the landing folder" in str(
        next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    )


def test_a_quality_rule_with_a_second_statement_is_a_contract_error(tmp_path):
    from mesh_platform import ContractError, load_contract
    from mesh_platform.quality import rules_for_contract

    rule = {
        "type": "sql",
        "name": "sneaky",
        "query": "SELECT count(*) FROM {object}; COPY (SELECT 1) TO 'pwned.csv'",
        "mustBe": 0,
    }
    text = contract_yaml(
        "lab", "things", [column("a")], schema=[{"name": "things", "properties": [column("a")], "quality": [rule]}]
    )
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    line = next(number for number, text_line in enumerate(text.splitlines(), 1) if "type: sql" in text_line)
    with pytest.raises(
        ContractError,
        match=rf"contract.yaml:{line}: schema\[0\]\.quality\[0\]: the rule's query must be one SELECT: it holds 2 statements",
    ):
        rules_for_contract(load_contract(path))
    assert not (Path.cwd() / "pwned.csv").exists()


HOSTILE_CONTRACTS = [
    ("nested 3,000 levels", lambda text: text + "extra: " + "[" * 3000 + "]" * 3000 + "\n", "nests 3000 levels deep"),
    ("Latin-1 encoded", lambda text: (text + "notes: Les gens du café\n").encode("latin-1"), "is not UTF-8 text"),
    (
        "an alias bomb",
        lambda text: text + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(9)),
        "more than 100,000 values",
    ),
    ("binary", lambda text: b"\x00\x01\x02" + text.encode(), "not text"),
    ("too large", lambda text: text + "notes: " + "x" * 1_100_000 + "\n", "the mesh reads YAML files of at most"),
    ("a key twice", lambda text: text + text.splitlines()[0] + "\n", "appears twice in this mapping"),
    ("a Python object tag", lambda text: text + "notes: !!python/object/apply:os.system ['touch pwned']\n", "is not plain YAML"),
    (
        "an anchor merging itself",
        lambda text: text + "x-loop: &loop\n  <<: *loop\n  k: 1\n",
        "inside the value of its own anchor",
    ),
    (
        "a crosswalk merging itself",
        lambda text: text + "x-term:\n  crosswalk: &cw\n    <<: *cw\n",
        "inside the value of its own anchor",
    ),
    ("a list holding itself", lambda text: text + "x-list: &items [1, *items]\n", "inside the value of its own anchor &items"),
]


@pytest.mark.parametrize(("what", "spoil", "message"), HOSTILE_CONTRACTS, ids=[c[0] for c in HOSTILE_CONTRACTS])
def test_a_hostile_contract_breaks_only_its_product(lab, what, spoil, message):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    folder = lab.add_product("ads", "odd", SOURCE, "")
    spoiled = spoil(contract_yaml("ads", "odd", PEOPLE))
    (folder / "contract.yaml").write_bytes(spoiled if isinstance(spoiled, bytes) else spoiled.encode())
    checked = run_mesh("check")
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr
    [line] = [line for line in checked.stdout.splitlines() if "odd/contract.yaml" in line]
    assert line.startswith("error mesh.contract (odd)") and message in line, line
    assert lab.definitions("crm") is not None  # another domain loads, its catalog holding the broken product


@pytest.mark.parametrize(("what", "spoil", "message"), HOSTILE_CONTRACTS, ids=[c[0] for c in HOSTILE_CONTRACTS])
def test_a_hostile_glossary_is_a_located_error_and_every_domain_loads(lab, what, spoil, message):
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    spoiled = spoil(lab.glossary_file.read_text())
    lab.glossary_file.write_bytes(spoiled if isinstance(spoiled, bytes) else spoiled.encode())
    checked = run_mesh("check")
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr
    [line] = [line for line in checked.stdout.splitlines() if line.startswith("error mesh.glossary")]
    assert f"{lab.glossary_file}" in line and message in line, line
    assert lab.broken_products("crm") == {}  # the domain loads, its product whole (it carries no glossary term)


def test_a_domain_description_stays_text_in_its_python_package(repo_copy):
    marker = repo_copy.root / "pwned"
    description = f'"""\nimport pathlib; pathlib.Path({str(marker)!r}).touch()\n"""'
    created = repo_copy.mesh("new", "domain", "evil", "--owner", "team:evil", "--description", description)
    assert created.returncode == 0, created.stderr
    package = (repo_copy.root / "domains/evil/__init__.py").read_text()
    namespace: dict = {}
    exec(compile(package, "__init__.py", "exec"), namespace)  # what importing the package runs
    assert not marker.exists() and namespace["__doc__"] == description


def test_a_template_parameter_cannot_write_outside_the_landing_folder(repo_copy):
    before = repo_copy.tree()
    result = repo_copy.mesh("new", "product", "sales/escaped", "--template", "source", "--set", "path=../../../escaped/*.csv")
    assert "must stay inside the landing folder" in one_line_error(result)
    assert repo_copy.tree() == before and not repo_copy.settings.home.exists()
    assert not (repo_copy.root.parent / "escaped").exists()


def test_contract_diff_of_a_binary_file_is_a_one_line_error(tmp_path):
    binary = tmp_path / "old.yaml"
    binary.write_bytes(os.urandom(64) + b"\x00")
    assert "is not text" in one_line_error(run_mesh("contract", "diff", str(binary), str(binary)))


# One file never takes a domain down. A mesh holding every hostile product folder at once (each in a folder of
# its own, in crm) and a glossary whose crosswalk merges itself: each folder is a broken product saying why,
# crm/people, crm/names (reads people) and ads/fine load and build, and Dagster validates every location.
NAMES_SQL = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n  sql: SELECT id FROM people\n"
SQL_FILE_RECIPE = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n  sql_file: q.sql\n"
PYTHON_RECIPE = "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: [mesh://crm/people]\n  function: f.py:build\n"
FINE = "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n"
LOOPING_CROSSWALK = "  looping:\n    definition: A term.\n    crosswalk: &cw\n      <<: *cw\n"  # a term of the glossary


def copied(name: str):
    """crm/people copied to a folder `name` without renaming its product (the case's own folder is not used)."""

    def spoil(lab, folder: Path):
        shutil.rmtree(folder)
        people = folder.parent / "people"
        shutil.copytree(people, people.parent / name)

    return spoil


def replaced(file_name: str, how: str, recipe: str | None = None):
    """The folder's `file_name` made a link to /dev/null (a device a regression reads as nothing, never endlessly) or a FIFO."""

    def spoil(lab, folder: Path):
        if recipe is not None:
            (folder / "defs.yaml").write_text(recipe)
        target = folder / file_name
        target.unlink(missing_ok=True)
        if how == "device":
            target.symlink_to("/dev/null")
        else:
            os.mkfifo(target)

    return spoil


def rewritten(file_name: str, change):
    def spoil(lab, folder: Path):
        target = folder / file_name
        target.write_text(change(target.read_text()))

    return spoil


def properties_as_mapping(text: str) -> str:
    """The columns as a mapping of name → column, with long descriptions: an error echoing the value would be long."""
    document = yaml.safe_load(text)
    table = document["schema"][0]
    table["properties"] = {c["name"]: {**c, "description": "x" * 400} for c in table["properties"]}
    return yaml.safe_dump(document, sort_keys=False)


def inputs_as_text(text: str) -> str:
    return text.replace("[mesh://crm/people]", '"mesh://crm/people"')


def attributes_as_list(text: str) -> str:
    return "type: mesh_platform.recipes.SqlProduct\nattributes: [1, 2]\n"


FIFO = "it is a FIFO (named pipe), not a regular file"
COPY = "mesh://crm/people is already the product of"
# (what, spoil, the broken product's asset name, its file as mesh check and its page name it, the message)
HOSTILE_FOLDERS = [
    ("a copied product folder", copied("people_copy"), "people_copy", "people_copy/contract.yaml:", COPY),
    ("a copy sorted before its original", copied("a_people"), "a_people", "a_people/contract.yaml:", COPY),
    ("a copy named as a file manager names it", copied("people (copy)"), "people__copy_", "people (copy)/contract.yaml:", COPY),
    (
        "a contract anchor merging itself",
        rewritten("contract.yaml", lambda t: t + "x-loop: &loop\n  <<: *loop\n  k: 1\n"),
        "looping",
        "looping/contract.yaml:",
        "the YAML alias *loop (line",
    ),
    (
        "a contract that is a link to a device",
        replaced("contract.yaml", "device"),
        "device",
        "device/contract.yaml",
        "it is a link to /dev/null, a character device, not a regular file",
    ),
    ("a contract that is a FIFO", replaced("contract.yaml", "fifo"), "piped", "piped/contract.yaml", FIFO),
    ("a recipe that is a FIFO", replaced("defs.yaml", "fifo"), "piped_recipe", "piped_recipe/defs.yaml", FIFO),
    (
        "a SQL file that is a FIFO",
        replaced("q.sql", "fifo", SQL_FILE_RECIPE),
        "piped_sql",
        "piped_sql/defs.yaml:4",
        f"sql_file 'q.sql': {FIFO}",
    ),
    (
        "a Python file that is a FIFO",
        replaced("f.py", "fifo", PYTHON_RECIPE),
        "piped_python",
        "piped_python/defs.yaml:4",
        f"function file 'f.py': {FIFO}",
    ),
    (
        "properties written as a mapping",
        rewritten("contract.yaml", properties_as_mapping),
        "mapped",
        "mapped/contract.yaml:",
        "schema[0].properties: a mapping where a list is expected",
    ),
    (
        "inputs written as a text",
        rewritten("defs.yaml", inputs_as_text),
        "texted",
        "texted/defs.yaml:3",
        "inputs must be a list of product addresses, not the text 'mesh://crm/people'",
    ),
    (
        "attributes that are no mapping",
        rewritten("defs.yaml", attributes_as_list),
        "listed",
        "listed/defs.yaml:2",
        "attributes must be a mapping of settings, not a list",
    ),
]
HOSTILE_FOLDER_IDS = [case[0] for case in HOSTILE_FOLDERS]


@contextlib.contextmanager
def no_fifo_opened(root: Path) -> Iterator[list[Path]]:
    """Watches every FIFO under `root`: each time a reader opens one it is recorded, fed a line and closed (so a
    regression fails its test instead of hanging it)."""
    opened: list[Path] = []
    done = threading.Event()

    def watch():
        while not done.wait(0.01):
            for fifo in (p for p in root.rglob("*") if p.is_fifo()):
                try:
                    descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader has it open
                except OSError:
                    continue
                opened.append(fifo)
                with os.fdopen(descriptor, "wb") as writer:
                    writer.write(b"opened: true\n")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield opened
    finally:
        done.set()
        watcher.join()


@dataclass
class HostileMesh:
    lab: LabMesh
    checked: MeshRun
    listed: MeshRun
    broken: dict[str, str]  # crm's broken products: name → what its asset says
    loaded: dict[str, set[str]]  # each domain's products that load whole
    fifos_opened: list[Path]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, empty_instance) -> Iterator[HostileMesh]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        lab = open_lab(tmp_path_factory.mktemp("hostile") / "lab", monkeypatch, empty_instance)
        lab.add_domain("crm")
        lab.add_domain("ads")
        lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
        lab.add_product("crm", "names", NAMES_SQL, contract_yaml("crm", "names", [column("id", "integer")]))
        lab.add_product("ads", "fine", FINE, contract_yaml("ads", "fine", [column("id", "integer")]))
        lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n2,bob@example.com\n")
        for _, spoil, name, _, _ in HOSTILE_FOLDERS:
            spoil(lab, lab.add_product("crm", name, NAMES_SQL, contract_yaml("crm", name, [column("id", "integer")])))
        lab.glossary_file.write_text(lab.glossary_file.read_text() + LOOPING_CROSSWALK)
        with no_fifo_opened(lab.root) as opened:
            checked, listed = run_mesh("check"), run_mesh("list")
            broken = lab.broken_products("crm")
            loaded = {
                d: {s.key.path[-1] for s in lab.definitions(d).resolve_all_asset_specs() if not s.tags.get("mesh/broken")}
                for d in ("crm", "ads")
            }
        yield HostileMesh(lab, checked, listed, broken, loaded, opened)


@pytest.mark.parametrize(("what", "spoil", "name", "file", "message"), HOSTILE_FOLDERS, ids=HOSTILE_FOLDER_IDS)
def test_a_hostile_product_folder_breaks_only_its_product(hostile, what, spoil, name, file, message):
    checked = hostile.checked
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    [line] = [line for line in checked.stdout.splitlines() if line.startswith("error ") and file in line]
    assert message in line and len(line.replace(str(hostile.lab.root), "")) < 300, line  # what kind of value, never the value
    assert file in hostile.broken[name] and message in hostile.broken[name], hostile.broken


def test_every_other_product_and_domain_loads_beside_the_hostile_files(hostile):
    assert not hostile.fifos_opened, f"a FIFO was opened: {hostile.fifos_opened}"
    assert set(hostile.broken) == {name for _, _, name, _, _ in HOSTILE_FOLDERS}
    assert hostile.loaded == {"crm": {"people", "names"}, "ads": {"fine"}}
    [line] = [line for line in hostile.checked.stdout.splitlines() if line.startswith("error mesh.glossary")]
    assert f"{hostile.lab.glossary_file}:" in line and "its own anchor &cw" in line, line
    listed = hostile.listed  # lists every product it can read, and each folder it cannot
    assert {"mesh://ads/fine", "mesh://crm/people", "mesh://crm/names"} <= set(listed.stdout.split()), listed.stdout
    assert listed.returncode == 1 and "Traceback" not in listed.stderr and "piped/contract.yaml" in listed.stderr, listed.stderr


@pytest.fixture(scope="module")
def hostile_builds(hostile) -> tuple[dg.ExecuteInProcessResult, dg.ExecuteInProcessResult, dict[str, str]]:
    """The healthy products of crm and ads built beside every hostile file, and why each broken one failed."""
    lab = hostile.lab
    with pytest.MonkeyPatch.context() as monkeypatch, no_fifo_opened(lab.root) as opened:
        settings = {
            "MESH_ROOT": lab.root,
            "MESH_HOME": lab.settings.home,
            "DAGSTER_HOME": lab.settings.dagster_home,
            "MESH_GLOSSARY": lab.glossary_file,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, str(value))
        monkeypatch.delenv("MESH_LANDING", raising=False)
        monkeypatch.syspath_prepend(str(lab.root))
        built, other = lab.materialize("crm", "people", "names"), lab.materialize("ads")
        refused = lab.materialize("crm", *hostile.broken, raise_on_error=False)
    assert not opened, f"a FIFO was opened: {opened}"
    failures = {e.step_key: str(e.step_failure_data.error) for e in refused.all_events if e.is_step_failure}
    return built, other, failures


@pytest.mark.slow
def test_beside_every_hostile_file_the_rest_of_the_mesh_builds(hostile_builds):
    built, other, _ = hostile_builds
    assert built.success and other.success
    assert {e.asset_key.path[-1] for e in built.get_asset_materialization_events()} == {"people", "names"}


@pytest.mark.slow
@pytest.mark.parametrize(("what", "spoil", "name", "file", "message"), HOSTILE_FOLDERS, ids=HOSTILE_FOLDER_IDS)
def test_a_hostile_product_folder_refuses_to_build_saying_why(hostile, hostile_builds, what, spoil, name, file, message):
    [failure] = [text for step, text in hostile_builds[2].items() if step.endswith(name)]
    assert message in failure and file in failure, failure
    assert not (hostile.lab.settings.ports_root / "crm" / name).exists()  # it published nothing


@pytest.mark.slow
def test_dagster_validates_every_code_location_beside_every_hostile_file(hostile, tmp_path):
    lab = hostile.lab
    environment = {**lab_environment(lab), "DAGSTER_HOME": str(tmp_path)}
    with no_fifo_opened(lab.root) as opened:
        result = subprocess.run(
            [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
            cwd=lab.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "All code locations passed validation." in output, output
    assert not opened, f"a FIFO was opened: {opened}"


def test_materializing_a_broken_product_names_its_problem_not_a_missing_product(lab):
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE, properties_as_mapping(contract_yaml("crm", "people", PEOPLE)))
    error = one_line_error(run_mesh("materialize", "mesh://crm/people"))
    assert "has no product" not in error and "schema[0].properties: a mapping where a list is expected" in error, error
    assert len(error) < 500, error


def lab_environment(lab: LabMesh) -> dict[str, str]:
    """This environment pointed at the lab mesh, for a process of its own."""
    environment = {
        **os.environ,
        "MESH_ROOT": str(lab.root),
        "MESH_HOME": str(lab.settings.home),
        "MESH_GLOSSARY": str(lab.glossary_file),
        "PYTHONPATH": str(lab.root),
    }
    environment.pop("MESH_LANDING", None)
    return environment


def limited_mesh(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`mesh ARGS` in a process of at most 3 GiB of address space (it needs about 2): a regression reading a device
    endlessly ends in MemoryError there, never in the machine's memory."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    command = [sys.executable, "-m", "mesh_platform.cli.main", *args]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, preexec_fn=limit, timeout=600)


def test_contract_diff_of_a_fifo_is_a_one_line_error_and_never_waits_for_it(tmp_path):
    fifo = tmp_path / "contract.yaml"
    os.mkfifo(fifo)
    contract = str(REPO / "domains/sales/defs/orders/contract.yaml")
    with no_fifo_opened(tmp_path) as opened:
        errors = [one_line_error(run_mesh("contract", "diff", *pair)) for pair in ((str(fifo), contract), (contract, str(fifo)))]
    assert not opened and all(f"error: {fifo}: " in e and "it is a FIFO (named pipe), not a regular file" in e for e in errors), (
        errors
    )


@pytest.mark.slow
def test_contract_diff_of_dev_zero_is_a_one_line_error():
    result = limited_mesh(
        "contract", "diff", str(REPO / "domains/sales/defs/orders/contract.yaml"), "/dev/zero", env=dict(os.environ)
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "error: /dev/zero: (document): it is a character device, not a regular file" in result.stderr, result.stderr


@pytest.mark.slow
def test_a_contract_linked_to_dev_zero_is_refused_by_mesh_check_without_reading_it(lab):
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.add_product("crm", "zeros", NAMES_SQL, "")
    (lab.root / lab.package / "crm" / "defs" / "zeros" / "contract.yaml").unlink()
    (lab.root / lab.package / "crm" / "defs" / "zeros" / "contract.yaml").symlink_to("/dev/zero")
    checked = limited_mesh("check", env=lab_environment(lab))
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    [line] = [line for line in checked.stdout.splitlines() if "zeros/contract.yaml" in line]
    assert "it is a link to /dev/zero, a character device, not a regular file" in line, line


def setting_line(recipe: str) -> int:
    """The line of the recipe's setting holding SQL (sql, where or a cast)."""
    settings = ("sql:", "where:", "- {")
    return next(number for number, line in enumerate(recipe.splitlines(), 1) if line.strip().startswith(settings))


CHECK_ESCAPES = [
    *BUILD_ESCAPES,
    (
        "a projection's cast reading a file",
        "type: mesh_platform.recipes.ProjectionProduct\nattributes:\n  inputs: [mesh://crm/people]\n  columns:\n"
        "    - {{name: id, cast: \"BIGINT) AS id, (SELECT content FROM read_text('{secret}')) AS leaked, CAST(1 AS BIGINT\"}}\n",
    ),
]


@pytest.mark.parametrize(("what", "recipe"), CHECK_ESCAPES, ids=[c[0] for c in CHECK_ESCAPES])
def test_mesh_check_refuses_sql_that_reads_a_file_at_its_line(lab, tmp_path, what, recipe):
    """The build's sandbox refuses these (test_a_build_reads_only_its_inputs_and_its_landing_folder); mesh check refuses
    them first, by the same decision: the recipe's relation composed in that sandbox, on inputs of no rows."""
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    recipe = recipe.format(ports=lab.settings.ports_root, home=lab.settings.home, secret=tmp_path / "secret.csv")
    columns = [column("id", "integer"), column("email", classification="personal")]
    lab.add_product("ads", "leak", recipe, contract_yaml("ads", "leak", columns))
    reported = checked_error(lab, "leak")
    assert f"ads/defs/leak/defs.yaml:{setting_line(recipe)}: attributes." in reported, reported
    assert "the SQL reads the file" in reported and "file system operations are disabled" in reported, reported
    assert lab.broken_products("ads") == {}  # definitions load as before: the build refuses it as it always did


def test_mesh_check_refuses_a_sql_file_that_reads_a_file_at_its_line(lab):
    lab.add_domain("ads")
    query = "SELECT 1 AS id\nFROM range(1)\nWHERE 1 NOT IN (SELECT * FROM read_csv('/etc/passwd'))\n"
    lab.add_product(
        "ads",
        "leak",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n",
        contract_yaml("ads", "leak", [column("id", "integer")]),
        files={"q.sql": query},
    )
    reported = checked_error(lab, "leak")
    assert "ads/defs/leak/q.sql:3: document: the SQL reads the file /etc/passwd" in reported, reported


def test_mesh_check_lets_sql_read_what_a_build_lets_it_read(lab):
    """A build's SQL may read its domain's landing folder (the sandbox allows it): mesh check does not refuse that."""
    lab.add_domain("crm")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    landing = lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n")
    recipe = f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT id FROM read_csv('{landing}')\n"
    lab.add_product("crm", "direct", recipe, contract_yaml("crm", "direct", [column("id", "integer")]))
    checked = run_mesh("check")
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("readable", [False, True], ids=["a file elsewhere", "the domain's landing folder"])
def test_mesh_check_refuses_a_quality_rule_that_reads_a_file_at_its_line(lab, tmp_path, readable):
    lab.add_domain("ads")
    target = lab.land("ads", "list.csv", "token\n1\n") if readable else tmp_path / "secret.csv"
    rule = {"type": "sql", "name": "peek", "query": f"SELECT count(*) FROM read_csv('{target}')", "mustBe": 0}
    columns = [column("id", "integer")]
    text = contract_yaml("ads", "peeking", columns, schema=[{"name": "peeking", "properties": columns, "quality": [rule]}])
    lab.add_product("ads", "peeking", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n", text)
    checked = run_mesh("check")
    if readable:
        assert checked.returncode == 0, checked.stdout
        return
    line = next(number for number, text_line in enumerate(text.splitlines(), 1) if "query:" in text_line)
    reported = checked_error(lab, "peeking")
    assert f"peeking/contract.yaml:{line}: schema[0].quality[0].query: the rule's query reads the file {target}" in reported


EMPTY_DELIVERIES = [
    ("a 0-byte CSV", "csv", {"late.csv": ""}),
    ("a CSV of its header only", "csv", {"late.csv": "id,email\n"}),
    ("a CSV of a header naming other columns", "csv", {"late.csv": "order_id,total\n"}),
    ("a CSV of blank lines", "csv", {"late.csv": "\n\n  \n"}),
    ("a 0-byte JSON lines file", "jsonl", {"late.jsonl": ""}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("what", "format_", "empty"), EMPTY_DELIVERIES, ids=[c[0] for c in EMPTY_DELIVERIES])
def test_an_empty_landing_file_is_no_rows_not_a_shape(lab, what, format_, empty):
    lab.add_domain("crm")
    source = f"type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: '*.{format_}'\n"
    lab.add_product("crm", "people", source, contract_yaml("crm", "people", PEOPLE))
    lab.land(
        "crm",
        f"people.{format_}",
        "id,email\n1,ann@example.com\n2,bob@example.com\n"
        if format_ == "csv"
        else '{"id": 1, "email": "ann@example.com"}\n{"id": 2, "email": "bob@example.com"}\n',
    )
    for name, text in empty.items():
        (lab.settings.landing_dir("crm") / name).write_text(text)
    assert lab.materialize("crm").success
    assert sorted(owner_read("mesh://crm/people")["id"]) == [1, 2]


@pytest.mark.slow
def test_a_delivery_of_only_empty_files_is_no_rows_and_the_contract_decides(lab):
    """Only an empty file delivered: the product has no rows, in its contract's columns. A contract promising rows
    (rowCount > 0) keeps its published version; one that does not publishes the empty table."""
    lab.add_domain("crm")
    source = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: 'people/*.csv'\n"
    ids = {"type": "sql", "name": "ids", "query": "SELECT count(*) FROM {object} WHERE id IS NULL", "mustBe": 0}
    any_rows = [{"name": "people", "properties": PEOPLE, "quality": [ids]}]
    lab.add_product("crm", "people", source, contract_yaml("crm", "people", PEOPLE, schema=any_rows))
    lab.add_product("crm", "promised", source, contract_yaml("crm", "promised", PEOPLE))  # rowCount > 0
    lab.land("crm", "people/first.csv", "id,email\n1,ann@example.com\n")
    assert lab.materialize("crm").success
    (lab.settings.landing_dir("crm") / "people" / "first.csv").write_text("")
    result = lab.materialize("crm", raise_on_error=False)
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == {"people"}
    emptied = owner_read("mesh://crm/people")
    assert len(emptied) == 0 and list(emptied.columns) == ["id", "email"]
    assert list(owner_read("mesh://crm/promised")["id"]) == [1]  # the promise of rows kept the version before


def test_mesh_check_binds_sql_calling_the_builds_functions_in_every_check(lab):
    """SQL may call the functions a build gives it (term_parameter, country_code): binding meets them, in the first
    check and in those after it, so a file read after a call to them is still found."""
    lab.add_domain("ads")
    sql = (
        "WITH c AS (SELECT term_parameter('active_user', 'window') AS w, country_code('U.S.') AS k) "
        "SELECT 1 AS id FROM c, read_csv('/etc/passwd')"
    )
    for index in range(3):
        lab.add_product(
            "ads",
            f"calls_{index}",
            f'type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: "{sql}"\n',
            contract_yaml("ads", f"calls_{index}", [column("id", "integer")]),
        )
        reported = checked_error(lab, f"calls_{index}")
        gc.collect()  # the check's connections are gone: the functions must not have gone with them
        assert "the SQL reads the file /etc/passwd" in reported, reported
