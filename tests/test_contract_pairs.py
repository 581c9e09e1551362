"""The held-back contract pairs: `mesh contract diff --json` lists each pair's change with the kind and both
verdicts the table (tests/fixtures/contract_pairs/pairs.yaml) expects, and exits 1 exactly when a change breaks
consumers (the new version only raises the minor number); and, given datacontract-cli ($DATACONTRACT), mesh lists a
change wherever datacontract-cli's `breaking` lists one."""

import json
import os

import pytest

from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.loading import load_contract
from mesh_platform.lineage.impact import diff_impact

from .conftest import run_mesh
from .contract_pairs import load_pairs, write_pair
from .contract_pairs_report import compare

PAIRS = load_pairs()

# The categories the issue names, and the extra ones asked for: each has at least one pair.
CATEGORIES = {
    "column removed",
    "column renamed",
    "column added",
    "type narrowed",
    "type widened",
    "made required",
    "made optional",
    "bound tightened",
    "bound loosened",
    "allowed values reduced",
    "allowed values extended",
    "quality threshold tightened",
    "quality threshold loosened",
    "quality rule changed",
    "rule no longer blocking",
    "SLA weakened",
    "SLA strengthened",
    "access tightened",
    "access widened",
    "classification changed",
    "uniqueness added",
    "uniqueness dropped",
    "primary key changed",
    "format changed",
    "description changed",
    "term changed",
    "partitioning changed",
    "owner changed",
    "tags changed",
}


def test_the_pairs_cover_every_category():
    assert len(PAIRS) >= 30
    assert {v.kind for pair in PAIRS for v in pair.expect} >= CATEGORIES
    assert len({pair.base.split("/")[0] for pair in PAIRS}) >= 4  # demo contracts of several domains


@pytest.mark.parametrize("pair", PAIRS, ids=[p.slug for p in PAIRS])
def test_mesh_lists_the_change_with_both_verdicts(tmp_path, pair):
    old, new = write_pair(pair, tmp_path)
    result = run_mesh("contract", "diff", str(old), str(new), "--json")
    report = json.loads(result.stdout)
    listed = [(c["kind"], c["breaking"], c["producer_breaking"]) for c in report["changes"]]
    assert listed == [(v.kind, v.consumer, v.producer) for v in pair.expect], report["changes"]
    # In the demo mesh the exit code counts only the breaking changes some product reads (the change's impact) …
    impacts = [c["impact"] for c in report["changes"]]
    for change, impact in zip(report["changes"], impacts, strict=True):
        assert impact["breaks_consumers"] == (change["breaking"] and bool(impact["read_by"] or impact["read_ad_hoc_by"])), change
    assert result.returncode == (1 if any(i["breaks_consumers"] for i in impacts) else 0), result.stderr
    # … outside any mesh nobody's reads are known, and the rules' consumer verdict alone decides.
    old_contract, new_contract = load_contract(old), load_contract(new)
    alone = diff_impact(old_contract, new_contract, diff_contracts(old_contract, new_contract), catalog=None)
    assert (alone.problem is not None) == any(v.consumer for v in pair.expect), alone.problem


# datacontract-cli cannot join the test extra (tests/contract_pairs_report.py says why): it runs from its own venv.
DATACONTRACT = os.environ.get("DATACONTRACT")


@pytest.mark.skipif(not DATACONTRACT, reason="set DATACONTRACT to datacontract-cli's executable (it has its own venv)")
@pytest.mark.parametrize("pair", PAIRS, ids=[p.slug for p in PAIRS])
def test_mesh_lists_a_change_wherever_datacontract_cli_does(tmp_path, pair):
    result = compare(pair, tmp_path, str(DATACONTRACT))
    assert result.error is None
    assert result.mesh or not result.findings, [f.summary for f in result.findings]
