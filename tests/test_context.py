"""One context per command and per code location: each sees its own mesh's files as they are when it reads them,
and nothing read for one context is served to another (no module-level cache of the catalog, glossary or policies)."""

import os
import textwrap

import dagster as dg
from typer.testing import CliRunner

from mesh_platform import MeshContext, domain_definitions
from mesh_platform.cli.main import cli
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.check import mesh_policies

from .conftest import LabMesh, open_lab
from .test_governance import SOURCE, good_contract


def test_two_contexts_on_two_meshes_in_one_process_see_their_own_catalogs_and_definitions(tmp_path, monkeypatch, empty_instance):
    meshes = []
    for name, products in (("one", ["things"]), ("two", ["widgets", "gadgets"])):
        lab = open_lab(tmp_path / name, monkeypatch, empty_instance)
        lab.add_domain("shop")
        for product in products:
            lab.add_product("shop", product, SOURCE, good_contract("shop", product))
        meshes.append(lab)
    contexts = [MeshContext(MeshSettings(root=lab.root, home=lab.settings.home, glossary=lab.glossary_file)) for lab in meshes]

    assert [sorted(p.product for p in c.catalog.products) for c in contexts] == [["things"], ["gadgets", "widgets"]]
    for lab, context, keys in zip(meshes, contexts, (["things"], ["gadgets", "widgets"]), strict=True):
        defs = domain_definitions(lab.root / lab.package / "shop" / "definitions.py", context=context)
        assert sorted(s.key for s in defs.resolve_all_asset_specs()) == [dg.AssetKey(["shop", k]) for k in keys]
    assert contexts[0].ports.root != contexts[1].ports.root  # and each its own state


def test_a_new_context_reads_a_changed_glossary_and_policy_file_though_their_times_did_not_change(lab: LabMesh):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE, good_contract("shop", "things"))
    policies = lab.root / "governance" / "policies.py"
    policies.parent.mkdir()
    rule = textwrap.dedent('''\
        from mesh_platform.governance import policy


        @policy("governance.{name}", severity="warning")
        def rule(product, mesh):
            """A rule of the governance group."""
            return []
    ''')
    policies.write_text(rule.format(name="first"))
    first = MeshContext.from_env()
    assert "status" in first.view.glossary.terms
    assert "governance.first" in {p.id for p in mesh_policies(first.view)[0]}

    # The same size and modification time, other contents: what an mtime-keyed cache would serve stale.
    times = [(f, f.stat().st_atime_ns, f.stat().st_mtime_ns) for f in (lab.glossary_file, policies)]
    lab.glossary_file.write_text(lab.glossary_file.read_text().replace("  status:", "  stage:"))
    policies.write_text(rule.format(name="other"))
    for file, accessed, modified in times:
        os.utime(file, ns=(accessed, modified))

    second = MeshContext.from_env()
    assert "stage" in second.view.glossary.terms and "status" not in second.view.glossary.terms
    assert {"governance.other"} == {p.id for p in mesh_policies(second.view)[0] if p.id.startswith("governance.")}
    # The first context keeps what it read: one command sees one state of the files throughout.
    assert "status" in first.view.glossary.terms
    assert "governance.first" in {p.id for p in mesh_policies(first.view)[0]}


def test_mesh_env_is_handed_to_the_command_not_written_into_the_process_environment(lab: LabMesh):
    lab.add_domain("shop")
    deploy = lab.root / "deploy"
    deploy.mkdir()
    (deploy / "staging.yaml").write_text("runs:\n  max_concurrent: 3\n")
    before = dict(os.environ)
    outcome = CliRunner().invoke(cli, ["--env", "staging", "deploy", "show"], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    assert "deployment: staging" in outcome.output and "max_concurrent: 3" in outcome.output
    assert dict(os.environ) == before
