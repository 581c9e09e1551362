"""The README's generated tables come from the code (policies' docstrings, the change rules), so they cannot drift."""

import re

from .conftest import REPO, run_mesh


def generated_block(name: str) -> str:
    readme = (REPO / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start[^>]*-->\n(.*?)<!-- {name}:end -->", readme, re.DOTALL)
    assert block, f"the README has no generated {name} block"
    return block.group(1)


def test_the_readme_lists_every_mesh_policy_as_its_docstring_says():
    generated = run_mesh("policies", "--markdown", check=True).stdout
    assert generated_block("policies") == generated, "README policies are stale: paste the output of `mesh policies --markdown`"
    assert generated.count("| `mesh.") >= 12


def test_the_readme_lists_every_change_rule():
    generated = run_mesh("contract", "rules", "--markdown", check=True).stdout
    assert generated_block("change-rules") == generated, (
        "README change rules are stale: paste the output of `mesh contract rules --markdown`"
    )
    assert "| `column` | removed | column removed | yes |" in generated


def readme_yaml(name: str) -> str:
    block = generated_block(name)
    return block.removeprefix("```yaml\n").removesuffix("```\n")


def test_the_readme_writes_unmasked_for_where_a_contract_takes_it(tmp_path):
    """The README's column with a clear grant, put into a contract as written, loads with the grant."""
    import yaml

    from mesh_platform import load_contract

    from .conftest import contract_yaml

    document = yaml.safe_load(contract_yaml("crm", "people", []))
    document["schema"][0]["properties"] = yaml.safe_load(readme_yaml("readme-column"))
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    contract = load_contract(tmp_path / "contract.yaml")
    assert contract.column("email").settings.unmasked_for == ("marketing",) and contract.column("email").is_personal


def test_the_readme_shows_mesh_yaml_as_mesh_init_writes_it_with_each_default():
    """The README's mesh.yaml holds every setting (at its default, but for the retention mesh init sets), as mesh init
    writes it."""
    import yaml

    from mesh_platform.core.project import ProjectSettings

    shown = yaml.safe_load(readme_yaml("readme-mesh-yaml"))
    assert ProjectSettings.model_validate(shown) == ProjectSettings(name="acme", retention="90d")  # mesh init bounds storage
    assert set(shown) == set(ProjectSettings.model_fields)
    written = yaml.safe_load((REPO / "templates/mesh/mesh.yaml.jinja").read_text().replace("{{ name | quoted }}", '"acme"'))
    assert written == shown
