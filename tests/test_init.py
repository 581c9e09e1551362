"""A mesh of one's own: `mesh init`, the settings in mesh.yaml, the governance group's policies, `mesh reset`."""

import os
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, run_mesh


def own_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a user working in the mesh at `root`: no test settings pointing elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MESH_ROOT", "MESH_HOME", "MESH_LANDING", "MESH_GLOSSARY", "MESH_ENV", "DAGSTER_HOME")
    }
    return {**env, **extra}


def mesh_in(root: Path, *args: str, check: bool = False):
    return run_mesh(*args, env=own_env(root), cwd=root, check=check)


def new_mesh(folder: Path, *domains: str) -> Path:
    """A new mesh `acme` in `folder`, with a domain and a `things` source product (its example delivery) per domain."""
    root = folder / "acme"
    run_mesh("init", str(root), env=own_env(folder), cwd=folder, check=True)
    for domain in domains:
        mesh_in(root, "new", "domain", domain, "--owner", f"team:{domain}", check=True)
        mesh_in(root, "new", "product", f"{domain}/things", "--template", "source", check=True)
    return root


def test_mesh_init_makes_an_empty_mesh_that_passes_check_and_builds_nothing(tmp_path):
    root = tmp_path / "acme"
    created = run_mesh("init", str(root), env=own_env(tmp_path), cwd=tmp_path, check=True)
    assert "the mesh 'acme' created in" in created.stdout and "mesh new domain NAME --owner team:NAME" in created.stdout
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "dg.toml",
        "domains/__init__.py",
        "governance/glossary.yaml",
        "governance/policies.py",
        "governance/principals.yaml",
        "macros.sql",
        "mesh.yaml",
        "workspace.yaml",
    ]
    assert yaml.safe_load((root / "mesh.yaml").read_text())["name"] == "acme"
    assert (
        "/landing/" in (root / ".gitignore").read_text().splitlines()
        and "/.mesh/" in (root / ".gitignore").read_text().splitlines()
    )

    check = mesh_in(root, "check")
    assert check.returncode == 0 and "checked 0 products against" in check.stdout and "0 errors" in check.stdout, (
        check.stdout + check.stderr
    )
    built = mesh_in(root, "materialize", "--all")
    assert built.returncode == 0 and "the mesh has no products yet: nothing to build" in built.stdout, built.stderr
    assert "the glossary has no terms yet" in mesh_in(root, "glossary", check=True).stdout
    assert mesh_in(root, "list", check=True).stdout.split() == ["ADDRESS", "OWNER", "ACCESS", "STATUS", "VERSION", "INPUTS"]
    assert "mesh.owner" in mesh_in(root, "policies", check=True).stdout


def test_a_new_mesh_names_nothing_of_the_demo(tmp_path):
    """The platform's own files no longer carry the demo's glossary: a new mesh's files name no demo domain or product."""
    root = new_mesh(tmp_path)
    text = "\n".join(p.read_text() for p in root.rglob("*") if p.is_file())
    for demo in ("customers", "web_analytics", "marketing", "planning", "mesh://sales", "customer_keys"):
        assert demo not in text, demo
    assert not (REPO / "mesh_platform/governance/glossary.yaml").exists()


def test_a_domain_gets_its_settings_from_mesh_yaml_not_the_environment(tmp_path):
    """mesh.yaml says where state, sources and glossary are; no environment variable is needed on any command."""
    root = new_mesh(tmp_path)
    settings = yaml.safe_load((root / "mesh.yaml").read_text())
    settings.update(home="../state", landing="../sources", glossary="terms.yaml")
    (root / "mesh.yaml").write_text(yaml.safe_dump(settings))
    (root / "terms.yaml").write_text("terms:\n  colour:\n    definition: A colour.\n    logicalType: string\n")
    mesh_in(root, "new", "domain", "shop", "--owner", "team:shop", check=True)
    mesh_in(root, "new", "product", "shop/things", "--template", "source", check=True)
    assert (tmp_path / "sources/shop/things/example.csv").is_file() and not (root / "landing").exists()
    assert "colour" in mesh_in(root, "glossary", check=True).stdout
    from mesh_platform.core.settings import MeshSettings

    os.chdir(root)
    try:
        for name in ("MESH_ROOT", "MESH_HOME", "MESH_LANDING", "MESH_GLOSSARY", "MESH_ENV"):
            os.environ.pop(name, None)
        found = MeshSettings.from_env()
    finally:
        os.chdir(REPO)
    assert (found.home, found.landing_root, found.glossary_file) == (
        (tmp_path / "state").resolve(),
        (tmp_path / "sources").resolve(),
        (root / "terms.yaml").resolve(),
    )


def test_a_broken_mesh_yaml_is_a_located_error_on_every_command(tmp_path):
    root = new_mesh(tmp_path)
    (root / "mesh.yaml").write_text("name: acme\nhomme: state\ndeployment: on prod\n")
    for command in (["check"], ["list"], ["materialize", "--all"]):
        result = mesh_in(root, *command)
        assert result.returncode == 1 and result.stderr.count("\n") == 2, result.stderr
        assert f"{root / 'mesh.yaml'}:2: homme: unknown setting 'homme' (a typo?)" in result.stderr
        assert f"{root / 'mesh.yaml'}:3: deployment: 'on prod' is not a deployment name" in result.stderr


def test_mesh_init_never_overwrites(tmp_path):
    root = new_mesh(tmp_path)
    again = run_mesh("init", str(root), env=own_env(tmp_path), cwd=tmp_path)
    assert again.returncode == 1 and "is a mesh already (workspace.yaml exists); mesh init never overwrites" in again.stderr
    other = tmp_path / "repo"
    other.mkdir()
    (other / "README.md").write_text("ours\n")
    refused = run_mesh("init", str(other), env=own_env(tmp_path), cwd=tmp_path)
    assert refused.returncode == 1 and "already holds README.md; mesh init never overwrites" in refused.stderr
    assert sorted(p.name for p in other.iterdir()) == ["README.md"] and (other / "README.md").read_text() == "ours\n"


def test_mesh_init_demo_copies_the_demo_mesh_which_passes_check(tmp_path):
    root = tmp_path / "demo"
    created = run_mesh("init", "--demo", str(root), env=own_env(tmp_path), cwd=tmp_path, check=True)
    assert "a copy of the demo mesh created in" in created.stdout and "mesh demo" in created.stdout
    assert (root / "domains/sales/defs/orders/contract.yaml").is_file() and (root / "governance/glossary.yaml").read_text() == (
        REPO / "governance/glossary.yaml"
    ).read_text()
    assert not list(root.rglob("__pycache__"))
    check = mesh_in(root, "check")
    assert check.returncode == 0 and "checked 13 products" in check.stdout, check.stdout


def test_mesh_seed_refuses_a_mesh_without_the_demo_domains(tmp_path):
    root = new_mesh(tmp_path)
    result = mesh_in(root, "seed")
    assert (
        result.returncode == 1
        and "mesh seed writes the demo mesh's source files, and this mesh has no domain customers" in result.stderr
    )
    assert "mesh init --demo DIR" in result.stderr and not (root / "landing").exists()


GOVERNANCE_POLICY = '''
from mesh_platform.governance import Finding, policy


@policy("governance.steward")
def named_steward(product, mesh):
    """Every product names a data steward among its team members."""
    if not any("steward" in (m.role or "") for m in product.contract.members):
        yield Finding("the product has no data steward", "add a team member with role: steward", ("team", "members"))


@policy("mesh.mine")
def not_ours_to_name(product, mesh):
    """A policy the governance group may not name mesh.…"""
    return []
'''


def test_the_governance_groups_own_policies_apply_to_every_domain(tmp_path):
    root = new_mesh(tmp_path, "shop", "crm")
    (root / "governance/policies.py").write_text(GOVERNANCE_POLICY)
    check = mesh_in(root, "check")
    assert check.returncode == 1
    lines = check.stdout.splitlines()
    for domain in ("shop", "crm"):
        assert any(
            line.startswith(f"error governance.steward mesh://{domain}/things ") and "the product has no data steward" in line
            for line in lines
        ), check.stdout
    assert any(
        "mesh.policy-file" in line
        and "policy id 'mesh.mine' is not the governance group's" in line
        and "name it governance.<rule>" in line
        for line in lines
    )
    assert "governance.steward" in mesh_in(root, "policies", check=True).stdout
    again = mesh_in(root, "check").stdout  # the file is read once per process: its problems are reported once per check
    assert again.count("policy id 'mesh.mine'") == check.stdout.count("policy id 'mesh.mine'") == 1
    (root / "governance/policies.py").write_text("raise RuntimeError('half written')\n")
    broken = mesh_in(root, "check")
    assert any(
        "mesh.policy-file" in line
        and "the governance group's policies cannot be loaded: RuntimeError: half written" in line
        and "until then every product is refused" in line
        for line in broken.stdout.splitlines()
    ), broken.stdout


@pytest.mark.slow
def test_a_governance_policy_refuses_the_build_of_a_violating_product(tmp_path):
    root = new_mesh(tmp_path, "shop")
    (root / "governance/policies.py").write_text(GOVERNANCE_POLICY.split('\n\n@policy("mesh.mine")')[0] + "\n")
    built = mesh_in(root, "materialize", "--all")
    assert built.returncode == 1 and "governance.steward" in built.stdout + built.stderr, built.stdout + built.stderr
    assert not (root / ".mesh/ports/shop/things").exists()


@pytest.mark.slow
def test_mesh_reset_empties_the_state_and_keeps_the_sources(tmp_path):
    root = new_mesh(tmp_path, "shop")
    mesh_in(root, "materialize", "--all", check=True)
    home = root / ".mesh"
    (home / "notes.txt").write_text("not the mesh's\n")
    assert (home / "ports/shop/things/v1").is_dir() and (home / "dagster").is_dir()
    sources = sorted((root / "landing").rglob("*"))

    dry = mesh_in(root, "reset", "--dry-run", check=True)
    assert f"remove {home / 'ports'}" in dry.stdout and f"keep   {home / 'notes.txt'}  (not the mesh's state)" in dry.stdout
    assert "would remove" in dry.stdout and (home / "ports").is_dir()
    unasked = mesh_in(root, "reset")
    assert unasked.returncode == 1 and "pass --yes to confirm" in unasked.stderr and (home / "ports").is_dir()

    done = mesh_in(root, "reset", "--yes", check=True)
    assert "the source files are kept" in done.stdout
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]
    assert sorted((root / "landing").rglob("*")) == sources and sources
    assert "nothing to reset" in mesh_in(root, "reset", "--yes", check=True).stdout
    rebuilt = mesh_in(root, "materialize", "--all", check=True)
    assert "materialized 1 products" in rebuilt.stdout and (home / "ports/shop/things/v1").is_dir()


def test_mesh_reset_refuses_a_deployment_and_a_home_holding_the_mesh(tmp_path):
    root = new_mesh(tmp_path)
    (root / "deploy").mkdir()
    (root / "deploy/onebox.yaml").write_text("runs: {per_domain: 1}\n")
    deployed = run_mesh("reset", "--yes", env=own_env(root, MESH_ENV="onebox"), cwd=root)
    assert deployed.returncode == 1 and "the deployment 'onebox' keeps its state in its database and store" in deployed.stderr
    own_root = run_mesh("reset", "--yes", env=own_env(root, MESH_HOME=str(tmp_path)), cwd=root)
    assert own_root.returncode == 1 and "holds the mesh's own files" in own_root.stderr
    assert (root / "mesh.yaml").is_file()


def test_mesh_yaml_s_retention_is_the_meshs_default_and_a_bad_one_is_located(tmp_path):
    import datetime as dt

    from mesh_platform.core.settings import MeshSettings

    root = new_mesh(tmp_path)
    assert MeshSettings.from_env(root=root).default_retention == dt.timedelta(days=90)  # what mesh init writes
    (root / "mesh.yaml").write_text((root / "mesh.yaml").read_text().replace("retention: 90d", "retention: 2 fortnights"))
    result = mesh_in(root, "check")
    assert (
        result.returncode == 1
        and "retention: '2 fortnights' is not a duration: write a count and a unit, e.g. 30d, 12w or 1y" in result.stderr
    )
