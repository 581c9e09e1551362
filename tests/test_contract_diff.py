"""`mesh contract diff`: every change kind, classified breaking or not; breaking needs a major bump."""

import copy
import dataclasses
import json
import os

import pytest
import yaml

from mesh_platform import load_contract
from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.settings import custom_properties

from .conftest import REPO, run_mesh

BASE = yaml.safe_load((REPO / "domains/sales/defs/orders/contract.yaml").read_text())


def columns(document):
    return document["schema"][0]["properties"]


def column_named(document, name):
    return next(c for c in columns(document) if c["name"] == name)


def remove_column(d):
    columns(d).remove(column_named(d, "status"))


def rename_column(d):
    column_named(d, "status")["name"] = "order_status"


def add_column(d):
    columns(d).append({"name": "channel", "logicalType": "string", "physicalType": "VARCHAR", "classification": "internal"})


def narrow_type(d):
    column_named(d, "amount_usd")["physicalType"] = "DECIMAL(8,2)"


def widen_type(d):
    column_named(d, "amount_usd")["physicalType"] = "DECIMAL(18,2)"


def widen_type_compatibly(d):
    widen_type(d)
    column_named(d, "amount_usd")["customProperties"] = [{"property": "widening", "value": "compatible"}]


def widen_integer(d):
    columns(d).append({"name": "items", "logicalType": "integer", "physicalType": "BIGINT", "classification": "internal"})


def serve_previous_major_longer(d):
    d["customProperties"].append({"property": "servePreviousMajorUntil", "value": "2099-01-01"})


def rebuild_late_partitions(d):
    d["customProperties"].append({"property": "rebuildLatePartitions", "value": True})


def change_type_kind(d):
    for key in ("partitioned", "partitionKeyPosition", "customProperties"):  # a string partitions nothing
        column_named(d, "order_date").pop(key, None)
    column_named(d, "order_date")["physicalType"] = "VARCHAR"
    column_named(d, "order_date")["logicalType"] = "string"


def make_required(d):
    column_named(d, "amount_usd")["required"] = True


def make_optional(d):
    column_named(d, "status")["required"] = False


def reduce_allowed(d):
    column_named(d, "status")["quality"] = [{"metric": "invalidValues", "arguments": {"validValues": ["completed"]}, "mustBe": 0}]


def extend_allowed(d):
    column_named(d, "status")["quality"] = [
        {"metric": "invalidValues", "arguments": {"validValues": ["completed", "cancelled", "refunded", "returned"]}, "mustBe": 0}
    ]


def weaken_sla(d):
    d["slaProperties"][1]["value"] = 12


def strengthen_sla(d):
    d["slaProperties"][1]["value"] = 1


def tighten_access(d):
    d["customProperties"][0]["value"] = "internal"


def describe(d):
    d["description"]["purpose"] = "Every order, one row each."


def more_sensitive(d):
    column_named(d, "country_code")["classification"] = "personal"


def add_rule(d):
    d["schema"][0]["quality"].append({"metric": "rowCount", "name": "at least ten", "mustBeGreaterThan": 10})


def drop_minimum(d):
    del column_named(d, "amount_usd")["logicalTypeOptions"]["minimum"]


def lower_minimum(d):
    column_named(d, "amount_usd")["logicalTypeOptions"]["minimum"] = -100


def add_maximum(d):
    column_named(d, "amount_usd")["logicalTypeOptions"]["maximum"] = 100000


def add_pattern(d):
    column_named(d, "order_id").setdefault("logicalTypeOptions", {})["pattern"] = "^[0-9]+$"


def raise_threshold(d):
    next(q for q in d["schema"][0]["quality"] if q["metric"] == "rowCount")["mustBeGreaterThan"] = 100


def lower_threshold(d):
    next(q for q in d["schema"][0]["quality"] if q["metric"] == "rowCount")["mustBeGreaterThan"] = -1


def change_rule_target(d):
    next(q for q in d["schema"][0]["quality"] if q["metric"] == "duplicateValues")["mustBe"] = 5


def warn_only(d):
    next(q for q in d["schema"][0]["quality"] if q["metric"] == "rowCount")["severity"] = "warning"


def change_term(d):
    column_named(d, "country_code")["customProperties"] = [{"property": "term", "value": "market"}]


def unpartition(d):
    column_named(d, "order_date").pop("partitioned")
    column_named(d, "order_date").pop("partitionKeyPosition")
    column_named(d, "order_date").pop("customProperties")


BASE_ALLOWED = copy.deepcopy(BASE)
column_named(BASE_ALLOWED, "status")["quality"] = [
    {"metric": "invalidValues", "arguments": {"validValues": ["completed", "cancelled", "refunded"]}, "mustBe": 0}
]

CASES = [
    (remove_column, "column removed", True),
    (rename_column, "column renamed", True),
    (add_column, "column added", False),
    (narrow_type, "type narrowed", True),
    (widen_type, "type widened", True),  # consumers may newly meet values their DECIMAL(12,2) cannot hold
    (widen_type_compatibly, ["type widened", "widening changed"], False),
    (serve_previous_major_longer, "previous major served until changed", False),  # once judged as nothing at all
    (rebuild_late_partitions, "rebuilding late partitions changed", False),
    (change_type_kind, ["type narrowed", "partitioning changed"], True),
    (make_required, "made required", False),
    (make_optional, "made optional", True),
    (reduce_allowed, "allowed values reduced", False),
    (extend_allowed, "allowed values extended", True),
    (weaken_sla, "SLA weakened", True),
    (strengthen_sla, "SLA strengthened", False),
    (tighten_access, "access tightened", True),
    (describe, "description changed", False),
    (more_sensitive, "classification changed", True),
    (add_rule, "quality rule added", False),
    (drop_minimum, "bound loosened", True),
    (lower_minimum, "bound loosened", True),
    (add_maximum, "bound tightened", False),
    (add_pattern, "format changed", True),
    (raise_threshold, "quality threshold tightened", False),
    (lower_threshold, "quality threshold loosened", True),
    (change_rule_target, "quality rule changed", True),
    (warn_only, "rule no longer blocking", True),
    (change_term, "term changed", True),
    (unpartition, "partitioning changed", True),
]
# The producer's verdict of each kind above (datacontract-cli grades changes both ways too).
PRODUCER_BREAKING = {
    "column removed": False,
    "column renamed": True,
    "column added": True,
    "type narrowed": True,
    "type widened": False,
    "widening changed": False,
    "previous major served until changed": False,
    "rebuilding late partitions changed": False,
    "made required": True,
    "made optional": False,
    "allowed values reduced": True,
    "allowed values extended": False,
    "SLA weakened": False,
    "SLA strengthened": True,
    "access tightened": False,
    "description changed": False,
    "classification changed": False,
    "quality rule added": True,
    "bound loosened": False,
    "bound tightened": True,
    "format changed": True,
    "quality threshold tightened": True,
    "quality threshold loosened": False,
    "quality rule changed": True,
    "rule no longer blocking": False,
    "term changed": True,
    "partitioning changed": True,
}


def write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize(("change", "kind", "breaking"), CASES, ids=[c[0].__name__ for c in CASES])
def test_each_change_kind_is_classified(tmp_path, change, kind, breaking):
    base = BASE_ALLOWED if change in (reduce_allowed, extend_allowed) else BASE
    new = copy.deepcopy(base)
    change(new)
    new["version"] = "1.2.0"
    result = diff_contracts(load_contract(write(tmp_path, "old.yaml", base)), load_contract(write(tmp_path, "new.yaml", new)))
    kinds = kind if isinstance(kind, list) else [kind]
    assert [(c.kind, c.breaking) for c in result.changes] == [(k, breaking) for k in kinds]
    assert [c.producer_breaking for c in result.changes] == [PRODUCER_BREAKING[k] for k in kinds]
    assert (result.problem is not None) == breaking


def test_an_integer_widened_breaks_consumers_unless_the_column_says_compatible(tmp_path):
    old = copy.deepcopy(BASE)
    widen_integer(old)
    column_named(old, "items")["physicalType"] = "INTEGER"
    new = copy.deepcopy(old)
    column_named(new, "items")["physicalType"] = "BIGINT"
    new["version"] = "1.2.0"
    result = diff_contracts(load_contract(write(tmp_path, "old.yaml", old)), load_contract(write(tmp_path, "new.yaml", new)))
    assert [(c.kind, c.breaking, c.producer_breaking) for c in result.changes] == [("type widened", True, False)]
    for document in (old, new):
        column_named(document, "items")["customProperties"] = [{"property": "widening", "value": "compatible"}]
    result = diff_contracts(load_contract(write(tmp_path, "old.yaml", old)), load_contract(write(tmp_path, "new.yaml", new)))
    assert [(c.kind, c.breaking, c.producer_breaking) for c in result.changes] == [("type widened", False, False)]


def test_a_setting_added_to_the_model_is_diffed_without_a_rule(tmp_path):
    """A setting nobody taught the diff: listed as `<setting> changed`, breaking both sides, at its customProperties."""
    from mesh_platform.contract.settings import ColumnSettings, ContractSettings, RelationshipSettings

    class WithSupport(ContractSettings):
        support_channel: str | None = None

    class WithUnit(ColumnSettings):
        unit: str | None = None

    class WithNote(RelationshipSettings):
        note: str | None = None

    old, new = copy.deepcopy(BASE), copy.deepcopy(BASE)
    new["version"] = "1.2.0"
    new["customProperties"].append({"property": "supportChannel", "value": "#sales"})
    column_named(new, "amount_usd")["customProperties"] = [{"property": "unit", "value": "USD"}]
    for document, note in ((old, "old"), (new, "new")):
        column_named(document, "customer_number")["relationships"] = [
            {
                "to": "profiles.customer_number",
                "customProperties": [
                    {"property": "product", "value": "mesh://customers/profiles"},
                    {"property": "note", "value": note},
                ],
            }
        ]
    contracts = [load_contract(write(tmp_path, f"{name}.yaml", d)) for name, d in (("old", old), ("new", new))]

    def extend(contract, document):
        """The contract as the extended models read it (a column's or a relationship's settings from its entry)."""
        [entry] = column_named(document, "customer_number")["relationships"]
        return dataclasses.replace(
            contract,
            settings=WithSupport.model_validate(custom_properties(contract.odcs.customProperties)),
            columns=tuple(
                dataclasses.replace(c, settings=WithUnit.model_validate(custom_properties(c.spec.customProperties)))
                for c in contract.columns
            ),
            relationships=tuple(
                dataclasses.replace(r, settings=WithNote.model_validate(custom_properties(entry["customProperties"])))
                for r in contract.relationships
            ),
        )

    extended = [extend(c, d) for c, d in zip(contracts, (old, new), strict=True)]
    result = diff_contracts(*extended)
    listed = [(c.kind, c.field, c.message, c.breaking, c.producer_breaking) for c in result.changes]
    assert listed == [
        (
            "unit changed",
            "schema[0].properties.amount_usd.customProperties.unit",
            "column 'amount_usd' unit (none) → USD",
            True,
            True,
        ),
        ("supportChannel changed", "customProperties.supportChannel", "supportChannel (none) → #sales", True, True),
        (
            "note changed",
            "schema[0].properties.customer_number.relationships.customProperties.note",
            "relationship customer_number → mesh://customers/profiles.customer_number note old → new",
            True,
            True,
        ),
    ]
    assert result.changes[0].column == "amount_usd"


def test_every_setting_the_diff_judges_itself_is_a_field_of_its_model():
    from mesh_platform.contract.diff import JUDGED

    for model, names in JUDGED.items():
        assert names <= model.model_fields.keys(), (model.__name__, names - model.model_fields.keys())


def test_an_exported_contract_diffs_by_its_usage_agreements_only_when_they_differ(tmp_path):
    from mesh_platform.contract.export import export_contract

    contract = load_contract(REPO / "domains/sales/defs/orders/contract.yaml")
    agreement = {"id": "planning-orders-3f2a9c", "consumer": "planning", "purpose": "forecasts", "columns": ["amount_usd"]}
    exported = export_contract(contract, "file:///ports/sales/orders/v1", [agreement])
    again = export_contract(contract, "file:///ports/sales/orders/v1", [dict(agreement)])
    assert (
        diff_contracts(*(load_contract(write(tmp_path, f"{n}.yaml", d)) for n, d in (("a", exported), ("b", again)))).changes
        == ()
    )
    other = export_contract(contract, "file:///ports/sales/orders/v1", [{**agreement, "purpose": "budgets"}])
    other["version"] = "1.1.1"
    changes = diff_contracts(
        load_contract(write(tmp_path, "a.yaml", exported)), load_contract(write(tmp_path, "c.yaml", other))
    ).changes
    assert [(c.kind, c.breaking, c.producer_breaking) for c in changes] == [("usage agreements changed", False, False)]


def test_cli_exits_1_on_a_breaking_change_without_a_major_bump(tmp_path):
    new = copy.deepcopy(BASE)
    remove_column(new)
    add_column(new)
    new["version"] = "1.2.0"
    old_file, new_file = write(tmp_path, "old.yaml", BASE), write(tmp_path, "new.yaml", new)
    result = run_mesh("contract", "diff", str(old_file), str(new_file))
    assert result.returncode == 1
    assert "BREAKING  column removed" in result.stdout and "ok        column added" in result.stdout
    assert result.stderr.strip() == "error: 1 breaking change(s) need a new major version: set version to 2.0.0 (now 1.2.0)"

    new["version"] = "2.0.0"
    write(tmp_path, "new.yaml", new)
    result = run_mesh("contract", "diff", str(old_file), str(new_file), "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["problem"] is None and [c["kind"] for c in report["changes"]] == ["column removed", "column added"]


def test_unchanged_version_with_changes_is_refused(tmp_path):
    new = copy.deepcopy(BASE)
    describe(new)
    result = run_mesh("contract", "diff", str(write(tmp_path, "old.yaml", BASE)), str(write(tmp_path, "new.yaml", new)))
    assert result.returncode == 1 and "the contract changed but its version did not (1.1.0)" in result.stderr


@pytest.mark.slow
def test_diff_against_the_last_published_contract(demo_mesh, tmp_path):
    new = copy.deepcopy(BASE)
    tighten_access(new)
    new["version"] = "1.1.1"
    env = {**os.environ, "MESH_HOME": str(demo_mesh.settings.home)}
    result = run_mesh("contract", "diff", "mesh://sales/orders", str(write(tmp_path, "contract.yaml", new)), env=env)
    assert result.returncode == 1
    assert "mesh://sales/orders: 1.1.0 → 1.1.1" in result.stdout and "access public → internal" in result.stdout
