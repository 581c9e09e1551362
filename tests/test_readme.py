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
    assert generated_block("change-rules") == generated, "README change rules are stale: paste the output of `mesh contract rules --markdown`"
    assert "| `column` | removed | column removed | yes |" in generated
