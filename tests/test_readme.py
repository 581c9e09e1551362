"""The README's policy table is generated from the policies' docstrings, so it cannot drift."""

import re

from .conftest import REPO, run_mesh


def test_the_readme_lists_every_mesh_policy_as_its_docstring_says():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- policies:start[^>]*-->\n(.*?)<!-- policies:end -->", readme, re.DOTALL)
    assert block, "the README has no generated policies block"
    generated = run_mesh("policies", "--markdown", check=True).stdout
    assert block.group(1) == generated, "README policies are stale: paste the output of `mesh policies --markdown`"
    assert generated.count("| `mesh.") >= 12
