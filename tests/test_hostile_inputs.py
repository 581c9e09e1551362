"""Hostile and careless inputs: each is refused with a one-line error naming file and field, nothing is
published or changed, nothing outside its place is read or written, and the other domains still load."""

import os
from pathlib import Path

import pytest

from mesh_platform.governance.access_log import AccessLog

from .conftest import column, contract_yaml, open_lab, run_mesh

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
    for name, value in (("MESH_ROOT", lab.root), ("MESH_HOME", lab.settings.home), ("DAGSTER_HOME", lab.settings.dagster_home), ("MESH_GLOSSARY", lab.glossary_file)):
        monkeypatch.setenv(name, str(value))
    monkeypatch.syspath_prepend(str(lab.root))
    return lab, secret


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def reads_logged(lab) -> list[str]:
    return [entry.product for entry in AccessLog(lab.settings.access_log_file).entries()]


QUERY_ESCAPES = [
    ("a port's files", "SELECT email FROM read_parquet('{ports}/crm/people/v1/*.parquet')", "no file"),
    ("a port's files as text", "SELECT * FROM read_text('{ports}/crm/people/v1/_delta_log/00000000000000000000.json')", "no file"),
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
    error = one_line_error(run_mesh("query", "--as", "ads", sql))
    assert message in error
    assert not out.exists() and not (Path.cwd() / "x.csv").exists()
    assert set(reads_logged(lab)[len(logged):]) <= {"mesh://crm/people"}  # only the product the query names was opened


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
    ("sql reading another domain's port files",
     "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id, email FROM read_parquet('{ports}/crm/people/v1/*.parquet')\n"),
    ("sql reading a file of the machine",
     "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id, content AS email FROM read_text('{secret}')\n"),
    ("a filter condition reading a file",
     "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n  where: \"email IN (SELECT token FROM read_csv('{secret}'))\"\n"),
    ("sql listing the mesh's folders",
     "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id, file AS email FROM glob('{home}/*')\n"),
    ("sql reading the owner's vault",
     "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id, CAST(content AS VARCHAR) AS email FROM read_blob('{home}/vault/**')\n"),
    ("a filter condition reading the port's log",
     "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n  where: \"EXISTS (SELECT 1 FROM read_json('{ports}/crm/people/v1/_delta_log/*.json'))\"\n"),
]


@pytest.mark.parametrize(("what", "recipe"), BUILD_ESCAPES, ids=[c[0] for c in BUILD_ESCAPES])
def test_a_build_reads_only_its_inputs_and_its_landing_folder(in_published, what, recipe):
    lab, secret = in_published
    name = f"leak_{[c[0] for c in BUILD_ESCAPES].index(what)}"
    recipe = recipe.format(ports=lab.settings.ports_root, home=lab.settings.home, secret=secret)
    # email stays personal (mesh.personal-data follows a filter's columns): governance lets the build run, the sandbox stops it.
    lab.add_product("ads", name, recipe, contract_yaml("ads", name, [column("id", "integer"), column("email", classification="personal")]))
    result = lab.materialize("ads", name, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "file system operations are disabled" in str(failure.step_failure_data.error)
    assert not (lab.settings.ports_root / "ads" / name).exists()  # nothing published


def test_a_quality_rule_reading_a_file_fails_the_build_and_publishes_nothing(in_published):
    lab, secret = in_published
    rule = {"type": "sql", "name": "peek", "query": f"SELECT count(*) FROM read_csv('{secret}')", "mustBe": 0}
    columns = [column("id", "integer")]
    lab.add_product("ads", "peeking", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n",
                    contract_yaml("ads", "peeking", columns, schema=[{"name": "peeking", "properties": columns, "quality": [rule]}]))
    result = lab.materialize("ads", "peeking", raise_on_error=False)
    assert not result.success
    [peek] = [e for e in result.get_asset_check_evaluations() if e.check_name == "peek"]
    assert not peek.passed and "file system operations are disabled" in str(peek.metadata), peek
    assert not (lab.settings.ports_root / "ads" / "peeking").exists()  # nothing published


@pytest.mark.parametrize(
    ("recipe", "files", "line", "message"),
    [
        ("type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: /etc/passwd\n", {}, 3, "String should match pattern"),
        ("type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: ../../crm/defs/people/q.sql\n", {}, 3, "String should match pattern"),
        ("type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: \"SELECT 1 AS id; COPY (SELECT 1) TO 'x.csv'\"\n", {}, 3, "the query must be one SELECT: it holds 2 statements"),
        ("type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n", {"q.sql": "ATTACH 'x.duckdb'"}, 3, "q.sql must hold one SELECT: it is not a SELECT but ATTACH"),
        ("type: mesh_platform.recipes.PythonProduct\nattributes:\n  function: ../../x.py:build\n", {}, 3, "String should match pattern"),
        ("type: mesh_platform.recipes.PythonProduct\nattributes:\n  function: /tmp/x.py:build\n", {}, 3, "String should match pattern"),
        ("type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://crm/people]\n  where: \"id > 1) UNION SELECT 1 --\"\n", {}, 4, "is not one SQL expression"),
        ("type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: /etc/*.conf\n", {}, 3, "must stay inside the landing folder"),
    ],
    ids=["sql_file absolute", "sql_file climbing out", "two statements", "sql_file not a SELECT", "python file climbing out",
         "python file absolute", "a condition closing its parenthesis", "source path absolute"],
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
    ("an unknown recipe type", "type: mesh_platform.recipes.NoSuchProduct\nattributes:\n  sql: SELECT 1 AS id\n", {}, 1, "is no recipe type of the mesh"),
    ("an unknown setting", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n  sqll: SELECT 2\n", {}, 4, "unknown setting 'sqll' (a typo?)"),
    ("a setting of the wrong type", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: [SELECT 1]\n", {}, 3, "valid string"),
    ("a missing SQL file", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n", {}, 3, "sql_file 'q.sql' does not exist"),
    ("no recipe type", "attributes:\n  sql: SELECT 1 AS id\n", {}, 1, "the recipe names no type"),
    ("a recipe that is a list", "- type: mesh_platform.recipes.SqlProduct\n", {}, 1, "must hold a YAML mapping"),
]


@pytest.mark.parametrize(("what", "recipe", "files", "line", "message"), UNLOADABLE_RECIPES, ids=[c[0] for c in UNLOADABLE_RECIPES])
def test_mesh_check_refuses_every_recipe_its_domain_could_not_load(lab, what, recipe, files, line, message):
    """What a code location would refuse, `mesh check` refuses first, at the same file and line;
    the domain still loads, the product broken and saying why, and nothing of it builds."""
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.add_product("ads", "fine", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql: SELECT 1 AS id\n", contract_yaml("ads", "fine", [column("id", "integer")]))
    lab.add_product("ads", "odd", recipe, ODD_CONTRACT, files=files)
    reported = checked_error(lab, "odd")
    assert f"ads/defs/odd/defs.yaml:{line}:" in reported and message in reported, reported
    broken = lab.broken_products("ads")
    assert set(broken) == {"odd"} and f"ads/defs/odd/defs.yaml:{line}" in broken["odd"] and message in broken["odd"], broken
    result = lab.materialize("ads", raise_on_error=False)  # the domain's batch: the good product builds, the broken one fails
    assert {key.path[-1] for key in result.get_asset_materialization_events() and [e.asset_key for e in result.get_asset_materialization_events()]} == {"fine"}
    assert lab.definitions("crm") is not None


CYCLES = [
    ("a product reading itself", {"loop": ["mesh://ads/loop"]}, "mesh://ads/loop → itself"),
    ("two products reading each other", {"ping": ["mesh://ads/pong"], "pong": ["mesh://ads/ping"]}, "mesh://ads/ping → mesh://ads/pong → mesh://ads/ping"),
    ("a loop across domains", {"ping": ["mesh://crm/pang"]}, "mesh://ads/ping → mesh://crm/pang → mesh://ads/ping"),
]


@pytest.mark.parametrize(("what", "reads", "loop"), CYCLES, ids=[c[0] for c in CYCLES])
def test_a_dependency_loop_is_refused_by_mesh_check_and_builds_nothing(lab, what, reads, loop):
    lab.add_domain("crm")
    lab.add_domain("ads")
    lab.add_product("crm", "people", SOURCE, contract_yaml("crm", "people", PEOPLE))
    lab.land("crm", "people.csv", "id,email\n1,ann@example.com\n")
    if what == "a loop across domains":
        lab.add_product("crm", "pang", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://ads/ping]\n  sql: SELECT id FROM ping\n", contract_yaml("crm", "pang", [column("id", "integer")]))
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
    folder = lab.add_product("ads", "odd", "type: mesh_platform.recipes.SqlProduct\nattributes:\n  sql_file: q.sql\n", contract_yaml("ads", "odd", [column("id", "integer")]))
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
    assert "leads outside the landing folder" in str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)


def test_a_quality_rule_with_a_second_statement_is_a_contract_error(tmp_path):
    from mesh_platform import ContractError, load_contract
    from mesh_platform.quality import rules_for_contract

    rule = {"type": "sql", "name": "sneaky", "query": "SELECT count(*) FROM {object}; COPY (SELECT 1) TO 'pwned.csv'", "mustBe": 0}
    text = contract_yaml("lab", "things", [column("a")], schema=[{"name": "things", "properties": [column("a")], "quality": [rule]}])
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    line = next(number for number, text_line in enumerate(text.splitlines(), 1) if "type: sql" in text_line)
    with pytest.raises(ContractError, match=rf"contract.yaml:{line}: schema\[0\]\.quality\[0\]: the rule's query must be one SELECT: it holds 2 statements"):
        rules_for_contract(load_contract(path))
    assert not (Path.cwd() / "pwned.csv").exists()


HOSTILE_CONTRACTS = [
    ("nested 3,000 levels", lambda text: text + "extra: " + "[" * 3000 + "]" * 3000 + "\n", "nests 3000 levels deep"),
    ("Latin-1 encoded", lambda text: (text + "notes: Les gens du café\n").encode("latin-1"), "is not UTF-8 text"),
    ("an alias bomb", lambda text: text + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(9)), "more than 100,000 values"),
    ("binary", lambda text: b"\x00\x01\x02" + text.encode(), "not text"),
    ("too large", lambda text: text + "notes: " + "x" * 1_100_000 + "\n", "the mesh reads YAML files of at most"),
    ("a key twice", lambda text: text + text.splitlines()[0] + "\n", "appears twice in this mapping"),
    ("a Python object tag", lambda text: text + "notes: !!python/object/apply:os.system ['touch pwned']\n", "is not plain YAML"),
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
