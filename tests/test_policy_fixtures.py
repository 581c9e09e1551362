"""`mesh check` over a lab mesh of violating and broken products: one per policy, plus malformed
contracts and recipes. Each is reported with the right rule, file and line; the rest still loads."""

import json
import os

import dagster as dg
import pytest

from .conftest import column, contract_yaml, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: x.csv\n"
NO_QUALITY = object()


def sql(*inputs: str, select: str = "SELECT 1 AS id") -> str:
    listed = "".join(f"\n    - {i}" for i in inputs)
    return f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs:{listed}\n  sql: {select}\n"


def contract(domain: str, name: str, columns=None, quality=True, **extra) -> str:
    columns = columns or [column("id", "integer")]
    table = {"name": name, "physicalType": "table", "properties": columns}
    if quality:
        table["quality"] = [{"metric": "rowCount", "mustBeGreaterThan": 0}]
    return contract_yaml(domain, name, columns, schema=[table], **extra)


def term(name: str, value: str, logical: str = "string", **extra) -> dict:
    return column(name, logical, customProperties=[{"property": "term", "value": value}], **extra)


def custom(**values) -> list[dict]:
    return [{"property": k, "value": v} for k, v in values.items()]


PEOPLE_COLUMNS = [
    column("id", "integer"),
    column("email", classification="personal", customProperties=custom(unmaskedFor=["shop"])),
]

# domain, product, recipe, contract, and what `mesh check` must report: (policy, "contract" | "recipe", text on the line)
FIXTURES = [
    # supporting products, which violate nothing
    ("crm", "people", SOURCE, contract("crm", "people", PEOPLE_COLUMNS), []),
    ("crm", "notes", SOURCE, contract("crm", "notes", customProperties=custom(access="internal")), []),
    (
        "crm",
        "ledger",
        SOURCE,
        contract(
            "crm", "ledger", version="2.0.0", customProperties=custom(access="public", servePreviousMajorUntil="2099-01-01")
        ),
        [],
    ),
    ("crm", "tmp_other", SOURCE, contract("crm", "tmp_other"), []),
    # one per mesh-wide policy
    (
        "shop",
        "unowned",
        SOURCE,
        contract("shop", "unowned", team={"name": "shop", "members": [{"username": "bob", "role": "owner"}]}),
        [("mesh.owner", "contract", "- username: bob")],
    ),
    (
        "shop",
        "vague",
        SOURCE,
        contract("shop", "vague", description={"purpose": "TODO"}),
        [("mesh.description", "contract", "purpose: TODO")],
    ),
    (
        "shop",
        "unchecked",
        SOURCE,
        contract("shop", "unchecked", quality=False),
        [("mesh.quality-rule", "contract", "- name: unchecked")],
    ),
    (
        "shop",
        "unclassified",
        SOURCE,
        contract("shop", "unclassified", [column("id", "integer"), {"name": "note", "logicalType": "string"}]),
        [("mesh.classified-columns", "contract", "- name: note")],
    ),
    ("shop", "no_sla", SOURCE, contract("shop", "no_sla", slaProperties=[]), [("mesh.sla", "contract", "slaProperties: []")]),
    (
        "shop",
        "badly_named",
        SOURCE,
        contract("shop", "badly_named", [column("id", "integer"), column("select")]),
        [("mesh.names", "contract", "- name: select")],
    ),
    (
        "shop",
        "secret_reader",
        sql("mesh://crm/notes"),
        contract("shop", "secret_reader"),
        [("mesh.granted-inputs", "recipe", "- mesh://crm/notes")],
    ),
    (
        "shop",
        "old_ledger_view",
        sql("mesh://crm/ledger@v1"),
        contract("shop", "old_ledger_view"),
        [("mesh.deprecated-inputs", "recipe", "- mesh://crm/ledger@v1")],
    ),
    (
        "ads",
        "reach",
        sql("mesh://crm/people"),
        contract("ads", "reach"),
        [("mesh.no-domain-cycles", "recipe", "- mesh://crm/people")],
    ),
    (
        "crm",
        "feedback",
        sql("mesh://ads/reach"),
        contract("crm", "feedback"),
        [("mesh.no-domain-cycles", "recipe", "- mesh://ads/reach")],
    ),
    (
        "shop",
        "rewritten",
        SOURCE,
        contract("shop", "rewritten", version="2.0.0"),
        [("mesh.previous-major-served", "contract", "customProperties:")],
    ),
    (
        "shop",
        "unknown_term",
        SOURCE,
        contract("shop", "unknown_term", [column("id", "integer"), term("region", "regionx")]),
        [("mesh.glossary-terms", "contract", "value: regionx")],
    ),
    (
        "ads",
        "vague_activity",
        SOURCE,
        contract("ads", "vague_activity", [column("id", "integer"), term("is_active", "active_user", "boolean")]),
        [("mesh.glossary-terms", "contract", "value: active_user")],
    ),
    (
        "shop",
        "numeric_country",
        SOURCE,
        contract("shop", "numeric_country", [column("id", "integer"), term("country", "country", "integer")]),
        [("mesh.glossary-terms", "contract", "- name: country >> logicalType: integer")],
    ),
    (
        "shop",
        "contacts",
        sql("mesh://crm/people", select="SELECT id, email FROM people"),
        contract("shop", "contacts", [column("id", "integer"), column("email")]),
        [("mesh.personal-data", "contract", "- name: email >> classification: internal")],
    ),
    (
        "crm",
        "diary",
        SOURCE,
        contract(
            "crm",
            "diary",
            [column("id", "integer"), column("entry", classification="personal", customProperties=custom(unmaskedFor=["ads"]))],
            customProperties=custom(access="internal"),
        ),
        [("mesh.personal-data", "contract", "property: unmaskedFor >> value:")],
    ),
    # a domain's own policy applies to its products only
    ("shop", "tmp_scratch", SOURCE, contract("shop", "tmp_scratch"), [("shop.no-scratch", "contract", "\nname: tmp_scratch")]),
]

# Malformed contracts and recipes: their domain cannot load, the others do.
BROKEN = [
    ("yaml_syntax", SOURCE, "apiVersion: v3.1.0\nkind: DataContract\nid: a: b\nversion: 1.0.0\n", "id: a: b"),
    ("no_kind", SOURCE, contract("broken", "no_kind").replace("kind: DataContract\n", ""), "apiVersion: v3.1.0"),
    (
        "bad_classification",
        SOURCE,
        contract("broken", "bad_classification", [column("id", "integer", classification="secret")]),
        "classification: secret",
    ),
    ("bad_type", SOURCE, contract("broken", "bad_type", [column("id", "integer", physical="INTEGRR")]), "physicalType: INTEGRR"),
    (
        "bad_unit",
        SOURCE,
        contract("broken", "bad_unit", slaProperties=[{"property": "frequency", "value": 1, "unit": "fortnight"}]),
        "unit: fortnight",
    ),
    (
        "bad_masking",
        SOURCE,
        contract(
            "broken",
            "bad_masking",
            [column("id", "integer", classification="personal", customProperties=custom(masking="encrypt"))],
        ),
        "value: encrypt",
    ),
    ("wrong_domain", SOURCE, contract("sales", "wrong_domain"), "domain: sales"),
    (
        "no_consumers",
        SOURCE,
        contract("broken", "no_consumers", customProperties=custom(access="restricted")),
        "value: restricted",
    ),
    ("bad_metric", SOURCE, contract("broken", "bad_metric").replace("metric: rowCount", "metric: rowCnt"), "metric: rowCnt"),
    ("bad_input", sql("sales/orders"), contract("broken", "bad_input"), "- sales/orders"),
]

DOMAIN_POLICY = '''\
from mesh_platform.governance import Finding, policy


@policy("shop.no-scratch")
def no_scratch(product, mesh):
    """Shop products are not scratch tables (names starting tmp_)."""
    if product.contract.name.startswith("tmp_"):
        yield Finding("scratch products are not published", "rename the product", ("name",))
'''


def line_of(text: str, needle: str) -> int:
    """The line of `needle` in `text`; `anchor >> needle` finds the first needle after the anchor."""
    anchor, _, needle = needle.rpartition(" >> ")
    start = text.index(anchor) if anchor else 0
    if not anchor:
        assert text.count(needle) == 1, f"{needle!r} is not unique"
    return text[: text.index(needle, start) + (needle[0] == "\n")].count("\n") + 1


@pytest.fixture
def violating_mesh(lab):
    for domain in ("crm", "shop", "ads", "broken"):
        lab.add_domain(domain)
    (lab.root / lab.package / "shop" / "policies.py").write_text(DOMAIN_POLICY)
    for domain, name, recipe, text, _ in FIXTURES:
        lab.add_product(domain, name, recipe, text)
    for name, recipe, text, _ in BROKEN:
        lab.add_product("broken", name, recipe, text)
    return lab


def test_check_reports_every_violation_with_rule_file_and_line(violating_mesh):
    lab = violating_mesh
    assert len([f for f in FIXTURES if f[4]]) + len(BROKEN) >= 20
    result = run_mesh("check", "--json", env={**os.environ}, cwd=lab.root)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(v["policy"], v["address"], v["file"], v["line"]) for v in report["violations"]}

    expected = set()
    for domain, name, recipe, text, wanted in FIXTURES:
        folder = lab.root / lab.package / domain / "defs" / name
        for policy_id, which, needle in wanted:
            file, source = (folder / "contract.yaml", text) if which == "contract" else (folder / "defs.yaml", recipe)
            expected.add((policy_id, f"mesh://{domain}/{name}", str(file), line_of(source, needle)))
    for name, recipe, text, needle in BROKEN:
        folder = lab.root / lab.package / "broken" / "defs" / name
        file, source = (folder / "defs.yaml", recipe) if name == "bad_input" else (folder / "contract.yaml", text)
        expected.add(("mesh.contract", f"({name})", str(file), line_of(source, needle)))
    assert expected - found == set(), "\n".join(map(str, sorted(found)))
    assert {(p, a) for p, a, _, _ in found} == {(p, a) for p, a, _, _ in expected}, "unexpected violations"

    severities = {v["policy"]: v["severity"] for v in report["violations"]}
    assert severities["mesh.deprecated-inputs"] == "warning" and severities["mesh.owner"] == "error"
    # The domain's policy ran for shop's products only.
    scopes = {(p["id"], p["scope"]) for p in report["policies"]}
    assert {("shop.no-scratch", "shop"), ("mesh.owner", "mesh")} <= scopes
    assert ("shop.no-scratch", "mesh://crm/tmp_other") not in {(p, a) for p, a, _, _ in found}

    text = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert text.returncode == 1
    assert any(
        line.startswith("error mesh.glossary-terms mesh://ads/vague_activity")
        and "name the meaning the column has: active_user/shop or active_user/crm" in line
        for line in text.stdout.splitlines()
    ), text.stdout


# Policies that look at published state: definitions load from files alone, so they are the
# governance check's to enforce when the product runs (and mesh check's).
READS_STATE = {"mesh.previous-major-served"}


def test_the_rest_of_the_mesh_still_loads_in_dagster(violating_mesh):
    lab = violating_mesh
    for domain in ("crm", "shop", "ads"):
        defs = lab.definitions(domain)
        names = {spec.key.path[-1]: spec for spec in defs.resolve_all_asset_specs()}
        for fixture_domain, name, _, _, wanted in FIXTURES:
            if fixture_domain != domain:
                continue
            assert name in names, f"{domain}/{name} did not load"
            errors = [w for w in wanted if w[0] != "mesh.deprecated-inputs" and w[0] not in READS_STATE]
            assert (names[name].tags.get("mesh/governance") == "violation") == bool(errors), name
    # The domain of the malformed ones loads too: each is a broken product naming its file and line.
    broken = lab.broken_products("broken")
    assert set(broken) == {name for name, *_ in BROKEN}
    for name, recipe, text, needle in BROKEN:
        file, source = ("defs.yaml", recipe) if name == "bad_input" else ("contract.yaml", text)
        assert f"broken/defs/{name}/{file}:{line_of(source, needle)}" in broken[name], (name, broken[name])
    assert "classification 'secret' is unknown" in broken["bad_classification"]
    assert "'sales/orders' is not a product address" in broken["bad_input"]
    assert isinstance(lab.definitions("shop"), dg.Definitions)


def test_policies_reading_published_state_refuse_the_run(violating_mesh):
    result = violating_mesh.materialize("shop", "rewritten", raise_on_error=False)
    [governance] = [e for e in result.get_asset_check_evaluations() if e.check_name == "governance"]
    assert not governance.passed and "mesh.previous-major-served" in governance.description
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "refused by governance" in str(failure.step_failure_data.error)
