"""`mesh check`: contract validation and every policy over the mesh, every violation listed at once."""

import datetime as dt
import json
import os

from mesh_platform import MeshContext
from mesh_platform.governance import check_mesh

from .conftest import REPO, column, contract_yaml, mesh_env, run_mesh


def mesh_check():
    """What `mesh check` finds in the environment's mesh, in this process."""
    context = MeshContext.from_env()
    return check_mesh(context.checked_view, context.settings)


SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: x.csv\n"
GOOD_QUALITY = [
    {"name": "x", "properties": [column("id", "integer")], "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}]}
]


def good_contract(domain, name, **extra):
    schema = [
        {
            "name": name,
            "physicalType": "table",
            "properties": [column("id", "integer")],
            "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}],
        }
    ]
    extra.setdefault("description", {"purpose": f"The {name} of the {domain} test domain, one row each."})
    return contract_yaml(domain, name, [], schema=schema, **extra)


def test_the_demo_mesh_passes_every_policy():
    result = run_mesh("check")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("checked 13 products against 18 policies: 0 errors, 0 warnings")


def test_every_violation_is_listed_with_policy_file_line_and_fix(lab):
    lab.add_domain("shop")
    lab.add_domain("crm")
    lab.add_product(
        "crm", "secrets", SOURCE, good_contract("crm", "secrets", customProperties=[{"property": "access", "value": "internal"}])
    )
    lab.add_product(
        "crm",
        "orders_seen",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/things]\n  sql: SELECT 1 AS id\n",
        good_contract("crm", "orders_seen"),
    )
    sloppy = contract_yaml(
        "shop",
        "things",
        [column("id", "integer"), {"name": "select", "logicalType": "string"}],
        description={"purpose": "TODO"},
        team={"name": "shop", "members": [{"username": "bob", "role": "owner"}]},
        slaProperties=[],
        schema=[{"name": "things", "properties": [column("id", "integer"), {"name": "select", "logicalType": "string"}]}],
    )
    lab.add_product(
        "shop",
        "things",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs:\n    - mesh://crm/secrets\n"
        "    - mesh://crm/orders_seen\n  sql: SELECT 1 AS id, 'x' AS select\n",
        sloppy,
    )
    lab.add_product("shop", "broken", SOURCE, "apiVersion: v3.1.0\nkind: DataContract\nversion: [\n")

    result = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    contract = lab.root / lab.package / "shop/defs/things/contract.yaml"
    recipe = lab.root / lab.package / "shop/defs/things/defs.yaml"
    text = sloppy.splitlines()

    def line_of(needle):
        return text.index(needle) + 1

    expected = [
        f"error mesh.owner mesh://shop/things {contract}:{line_of('  - username: bob')}: owner 'bob' is not an e-mail address",
        f"error mesh.description mesh://shop/things {contract}:{line_of('  purpose: TODO')}: description.purpose "
        "'TODO' does not say what the product holds",
        f"error mesh.quality-rule mesh://shop/things {contract}:",
        "error mesh.classified-columns mesh://shop/things "
        f"{contract}:{line_of('    - name: select') if '    - name: select' in text else ''}",
        "error mesh.sla mesh://shop/things",
        "error mesh.names mesh://shop/things",
        f"error mesh.granted-inputs mesh://shop/things {recipe}:4: mesh://crm/secrets is internal; shop may not read "
        "it — ask its owner (owner@example.com) to grant shop access",
        f"error mesh.no-domain-cycles mesh://shop/things {recipe}:4: shop reads crm, which already depends on shop (crm → shop)",
        "error mesh.contract (broken)",
        f"error mesh.no-product-cycles mesh://shop/things {recipe}:5: mesh://shop/things reads "
        "mesh://crm/orders_seen, which reads it back",
        "error mesh.no-product-cycles mesh://crm/orders_seen",
        # 'AS select' is a keyword DuckDB takes as a name but sqlglot refuses: the column lineage is not known.
        f"warning mesh.column-lineage mesh://shop/things {recipe}:2: column lineage is not known: sqlglot could not "
        "follow the query",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), f"{start}\n---\n{result.stdout}"
    assert lines[-1] == "checked 3 products against 18 policies: 13 errors, 1 warnings", result.stdout

    as_json = json.loads(run_mesh("check", "--json", "--domain", "crm", env={**os.environ}, cwd=lab.root).stdout)
    assert {v["address"] for v in as_json["violations"]} == {"mesh://crm/orders_seen"}
    assert [v["policy"] for v in as_json["violations"]] == ["mesh.no-domain-cycles", "mesh.no-product-cycles"]


def test_deprecated_input_warns_and_a_new_major_must_serve_the_old_one(lab):
    lab.add_domain("shop")
    lab.add_product(
        "shop",
        "things",
        SOURCE,
        good_contract(
            "shop",
            "things",
            version="2.0.0",
            customProperties=[
                {"property": "access", "value": "public"},
                {"property": "servePreviousMajorUntil", "value": (dt.date.today() + dt.timedelta(days=5)).isoformat()},
            ],
        ),
    )
    lab.add_product(
        "shop",
        "names",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: ['mesh://shop/things@v1 as things']\n"
        "  sql: SELECT 1 AS id\n",
        good_contract("shop", "names"),
    )
    report = mesh_check()
    found = {(v.policy, v.severity, v.address) for v in report.violations}
    assert ("mesh.deprecated-inputs", "warning", "mesh://shop/names") in found
    assert ("mesh.previous-major-served", "error", "mesh://shop/things") in found
    served = next(v for v in report.violations if v.policy == "mesh.previous-major-served")
    assert "at least 30 days are required" in served.message and "servePreviousMajorUntil" in served.fix


def test_a_domain_adds_its_own_policies_for_its_products_only(lab):
    lab.add_domain("shop")
    lab.add_domain("crm")
    for domain in ("shop", "crm"):
        lab.add_product(domain, "things", SOURCE, good_contract(domain, "things"))
    (lab.root / lab.package / "shop" / "policies.py").write_text(
        "from mesh_platform.governance import Finding, policy\n\n\n"
        "@policy('shop.tier', severity='warning')\n"
        "def has_tier(product, mesh):\n"
        '    """Shop products say their tier."""\n'
        "    if product.contract.settings.tier is None:\n"
        "        yield Finding('no tier', 'add customProperties tier', ('customProperties',))\n"
    )
    report = mesh_check()
    assert [(v.policy, v.address) for v in report.violations] == [("shop.tier", "mesh://shop/things")]
    assert report.ok  # a warning does not fail the check
    assert {p.id for p in report.policies} >= {"mesh.owner", "shop.tier"}


def test_a_domain_cannot_replace_or_switch_off_a_mesh_wide_policy(lab):
    lab.add_domain("shop")
    sloppy = good_contract("shop", "things", team={"name": "shop", "members": [{"username": "bob", "role": "owner"}]})
    lab.add_product("shop", "things", SOURCE, sloppy)
    policies = lab.root / lab.package / "shop" / "policies.py"
    policies.write_text(
        "from mesh_platform.governance import policy\n\n\n"
        "@policy('mesh.owner')\n"
        "def anyone_may_own(product, mesh):\n"
        '    """Every owner is fine in shop."""\n'
        "    return []\n"
    )
    report = mesh_check()
    found = {(v.policy, v.address, v.line) for v in report.violations}
    assert ("mesh.owner", "mesh://shop/things", sloppy.splitlines().index("  - username: bob") + 1) in found  # still runs
    [refused] = [v for v in report.violations if v.policy == "mesh.policy-file"]
    assert (refused.file, refused.line) == (policies, 4)
    assert "policy id 'mesh.owner' is not the domain's" in refused.message and refused.fix == "name it shop.<rule>"

    policies.write_text("from mesh_platform.governance import policy\n\nraise RuntimeError('half-written')\n")
    [broken] = [v for v in mesh_check().violations if v.policy == "mesh.policy-file"]
    assert broken.line == 3 and "RuntimeError: half-written" in broken.message
    # Its products load but are refused: the domain's own rules would otherwise silently not apply.
    spec = lab.definitions("shop").resolve_all_asset_specs()[0]
    assert spec.tags["mesh/governance"] == "violation"


def test_check_needs_no_dagster_instance(tmp_path):
    """mesh check reads the repository's files (and published versions, when there are any): it runs
    where no Dagster instance was ever created, and creates none."""
    home = tmp_path / "never_created"
    result = run_mesh("check", env=mesh_env(home), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not home.exists()


def test_a_violating_product_loads_shows_why_and_is_refused_at_materialization(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "fine", SOURCE, good_contract("shop", "fine"))
    sloppy = good_contract("shop", "sloppy", description={"purpose": "TODO"})
    lab.add_product("shop", "sloppy", SOURCE, sloppy)
    lab.land("shop", "x.csv", "id\n1\n")

    defs = lab.definitions("shop")  # the domain still loads, with both products
    specs = {a.key.path[1]: next(iter(a.specs)) for a in defs.assets}
    assert set(specs) == {"fine", "sloppy"}
    assert specs["sloppy"].description.startswith("**Refused by governance")
    assert "mesh.description" in specs["sloppy"].description and specs["sloppy"].tags["mesh/governance"] == "violation"
    assert "mesh/governance" not in specs["fine"].tags

    result = lab.materialize("shop", raise_on_error=False)
    governance = {e.asset_key.path[1]: e for e in result.get_asset_check_evaluations() if e.check_name == "governance"}
    assert governance["fine"].passed and not governance["sloppy"].passed
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "sloppy"
    assert "refused by governance" in str(failure.step_failure_data.error) and "mesh.description" in str(
        failure.step_failure_data.error
    )
    from mesh_platform import PortError, read_product

    assert len(read_product("mesh://shop/fine")) == 1
    import pytest

    with pytest.raises(PortError):
        read_product("mesh://shop/sloppy")
