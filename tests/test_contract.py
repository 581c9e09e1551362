"""Contracts: ODCS v3.1 files load into typed models; bad ones name file, field and line."""

import copy
import datetime as dt
import functools
from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from mesh_platform import ContractError, load_contract
from mesh_platform.contract.schedule import cron_for_interval, is_valid_cron

from .conftest import REPO, column, contract_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    return path


def test_demo_contract_loads_into_a_typed_model():
    contract = load_contract(REPO / "domains/sales/defs/orders/contract.yaml")
    assert str(contract.address) == "mesh://sales/orders"
    assert contract.version == "1.1.0" and contract.major == 1
    assert contract.owners == ["team:sales", "ana.ruiz@example.com"]
    assert contract.settings.access == "public"
    assert contract.settings.tier == "gold"
    order_id = contract.column("order_id")
    assert (order_id.physical_type, order_id.primary_key, order_id.required, order_id.unique) == ("VARCHAR", True, True, True)
    assert contract.column("amount_usd").physical_type == "DECIMAL(12,2)"
    assert contract.column("country_code").settings.term == "country"
    assert contract.frequency.duration == dt.timedelta(days=1)
    assert contract.latency.duration == dt.timedelta(hours=4)
    assert contract.cron_schedule == "0 2 * * *"
    assert contract.quality[0].metric == "rowCount"
    # The standard's own pydantic model holds what the contract says.
    assert isinstance(contract.odcs, OpenDataContractStandard) and contract.odcs.schema_[0].name == "orders"
    assert order_id.spec.primaryKeyPosition == 1


def test_personal_data_and_classification_come_from_columns():
    contract = load_contract(REPO / "domains/customers/defs/profiles/contract.yaml")
    assert contract.has_personal_data
    assert contract.classification == "sensitive"


def test_physical_type_defaults_from_logical_type(tmp_path):
    contract = load_contract(write(tmp_path, contract_yaml("lab", "things", [column("n", "integer"), column("d", "date")])))
    assert [c.physical_type for c in contract.columns] == ["BIGINT", "DATE"]


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "apiVersion: v3.1.0\nkind: DataContract\nschema: [\n  - name: x\n")
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    problem = raised.value.problems[0]
    assert problem.file == path and problem.line is not None
    assert str(path) in str(raised.value) and "invalid YAML" in str(raised.value)


def test_missing_required_field_names_field(tmp_path):
    text = contract_yaml("lab", "things", [column("a")]).replace("id: urn:mesh:lab:things\n", "")
    with pytest.raises(ContractError, match=r"'id' is a required property"):
        load_contract(write(tmp_path, text))


def test_invalid_logical_type_names_field_and_line(tmp_path):
    text = contract_yaml("lab", "things", [column("a"), column("b", "text", "VARCHAR")])
    path = write(tmp_path, text)
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    problem = raised.value.problems[0]
    assert problem.field == "schema[0].properties[1].logicalType"
    assert problem.line == text.splitlines().index("    logicalType: text") + 1
    assert "'text' is not allowed" in problem.message
    assert f"{path}:{problem.line}: schema[0].properties[1].logicalType" in str(raised.value)


def test_every_problem_is_listed_at_once(tmp_path):
    text = contract_yaml(
        "lab",
        "things",
        [column("a", "string", "NOT_A_TYPE"), column("b", classification="secret"), column("a")],
        customProperties=[{"property": "access", "value": "everyone"}],
    )
    with pytest.raises(ContractError) as raised:
        load_contract(write(tmp_path, text))
    fields = [p.field for p in raised.value.problems]
    assert fields == [
        "schema[0].properties[0].physicalType",
        "schema[0].properties[1].classification",
        "schema[0].properties[2].name",
        "customProperties[0].value",
    ]
    assert "NOT_A_TYPE' is not a DuckDB type" in str(raised.value)
    assert "use one of: public, restricted, internal" in str(raised.value)


def test_sla_problems_name_the_sla_entry(tmp_path):
    text = contract_yaml(
        "lab", "things", [column("a")], slaProperties=[{"property": "frequency", "value": 1, "unit": "fortnight"}]
    )
    with pytest.raises(ContractError, match=r"slaProperties\[0\]\.unit: frequency unit 'fortnight' is unknown"):
        load_contract(write(tmp_path, text))


def test_table_must_be_named_like_the_product(tmp_path):
    text = contract_yaml("lab", "things", [column("a")]).replace("- name: things", "- name: stuff")
    with pytest.raises(ContractError, match=r"schema\[0\]\.name: the table is named 'stuff', the product 'things'"):
        load_contract(write(tmp_path, text))


def test_restricted_product_needs_consumers(tmp_path):
    text = contract_yaml("lab", "things", [column("a")], customProperties=[{"property": "access", "value": "restricted"}])
    with pytest.raises(ContractError, match="a restricted product names no consumers"):
        load_contract(write(tmp_path, text))


def test_refused_settings_name_their_customproperties_entry_and_the_fix(tmp_path):
    """Each setting of contract.settings is checked by its model; a refused value is a problem at its entry's value."""
    custom = [
        {"property": "access", "value": "public"},
        {"property": "servePreviousMajorUntil", "value": "soon"},
        {"property": "rebuildLatePartitions", "value": "yes"},
        {"property": "consumers", "value": ["planning", "Not A Name"]},
    ]
    widened = column("a", customProperties=[{"property": "widening", "value": "maybe"}])
    text = contract_yaml("lab", "things", [widened], customProperties=custom)
    with pytest.raises(ContractError) as raised:
        load_contract(write(tmp_path, text))
    found = [(p.field, p.message, p.fix) for p in raised.value.problems]
    assert found == [
        (
            "schema[0].properties[0].customProperties[0].value",
            "widening 'maybe' is unknown",
            "use compatible (consumers read the column into a type wide enough for a widened physicalType) or breaking",
        ),
        (
            "customProperties[3].value",
            "consumers must be a list of principal names (domains, or consumers of the principals file)",
            "e.g. [marketing, planning]",
        ),
        ("customProperties[1].value", "'soon' is not a date", "write YYYY-MM-DD"),
        ("customProperties[2].value", "rebuildLatePartitions must be true or false, not 'yes'", "write true or false"),
    ]
    assert raised.value.problems[0].line == text.splitlines().index("    - property: widening") + 2


def test_a_rule_scope_is_read_from_its_settings(tmp_path):
    rule = {"metric": "rowCount", "mustBeGreaterThan": 0, "customProperties": [{"property": "scope", "value": "all"}]}
    contract = load_contract(write(tmp_path, contract_yaml("lab", "things", [column("a")])))
    document = copy.deepcopy(contract.document)
    document["schema"][0]["quality"] = [rule]
    from mesh_platform.contract.loading import contract_from_document
    from mesh_platform.quality import rules_for_contract

    with pytest.raises(ContractError) as raised:
        rules_for_contract(contract_from_document(document, "lab.yaml"))
    [problem] = raised.value.problems
    assert (problem.field, problem.message) == ("schema[0].quality[0].customProperties[0].value", "scope 'all' is unknown")
    assert problem.fix == "use partition (the partitions a build writes) or table (the whole table)"


CRONS = [
    "0 2 * * *",
    "*/15 * * * *",
    "0 0 * * 1-5",
    "@daily",
    "0 6 L * *",
    "99 99 99 99 99",
    "0 0 30 2 *",
    "0 0 1 1 * 5",
    "0 25 * * *",
    "every day",
    "",
]


@pytest.mark.parametrize("cron", CRONS)
def test_a_schedule_is_valid_exactly_when_dagster_accepts_it(cron):
    """mesh check judges cron strings without Dagster; a code location judges them with it: the two agree."""
    import dagster as dg

    @dg.asset
    def thing(): ...

    try:
        dg.ScheduleDefinition(name="probe", cron_schedule=cron, target=[thing])
        accepted = True
    except dg.DagsterInvalidDefinitionError:
        accepted = False
    assert is_valid_cron(cron) == accepted


def test_an_impossible_schedule_names_its_line(tmp_path):
    text = contract_yaml(
        "lab",
        "things",
        [column("a")],
        slaProperties=[{"property": "frequency", "value": 1, "unit": "d", "schedule": "99 99 99 99 99"}],
    )
    with pytest.raises(
        ContractError, match=r"contract.yaml:\d+: slaProperties\[0\]\.schedule: '99 99 99 99 99' is not a cron schedule"
    ):
        load_contract(write(tmp_path, text))


@pytest.mark.parametrize(
    ("interval", "cron"),
    [
        (dt.timedelta(minutes=15), "*/15 * * * *"),
        (dt.timedelta(hours=1), "0 * * * *"),
        (dt.timedelta(hours=6), "0 */6 * * *"),
        (dt.timedelta(days=1), "0 0 * * *"),
        (dt.timedelta(weeks=1), "0 0 * * 1"),
    ],
)
def test_frequency_becomes_a_cron_schedule(interval, cron):
    assert cron_for_interval(interval) == cron


def test_every_repository_contract_is_valid():
    contracts = sorted(REPO.glob("domains/*/defs/*/contract.yaml"))
    assert len(contracts) >= 12
    for path in contracts:
        load_contract(path)


def _mutations(value, path=()):
    """Every way to break one field of a document: drop it, or give it a value of the wrong shape."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), "drop"
            yield from _mutations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _mutations(child, (*path, index))
    for wrong in (12345, "text", ["a"], {"unexpected": 1}, None, True):
        if type(wrong) is not type(value):
            yield path, wrong


def _mutated(document, path, change):
    document = copy.deepcopy(document)
    if not path:
        return change
    parent = functools.reduce(lambda node, key: node[key], path[:-1], document)
    if change == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = change
    return document


SCHEMA_SLICES = 4  # the ~800 mutations in slices, so that test workers share the explaining validator's seconds


@pytest.mark.parametrize("part", range(SCHEMA_SLICES))
def test_the_fast_schema_check_agrees_with_the_explaining_one(part):
    # Contracts are checked by jsonschema-rs and explained by jsonschema only when invalid:
    # the two must agree on every document, or a broken contract would pass unexplained.
    from mesh_platform.contract.loading import _fast_schema_validator, _schema_validator

    fast, explaining = _fast_schema_validator(), _schema_validator()
    checked = disagreements = 0
    richest = max(REPO.glob("domains/*/defs/*/contract.yaml"), key=lambda path: len(path.read_text()))
    document = yaml.safe_load(richest.read_text())
    for index, (field, change) in enumerate(_mutations(document)):
        if index % SCHEMA_SLICES != part:
            continue
        candidate = _mutated(document, field, change)
        expected_valid = next(explaining.iter_errors(candidate), None) is None
        checked += 1
        if fast.is_valid(candidate) != expected_valid:
            disagreements += 1
            print(richest.name, field, change, "explaining validator says valid:", expected_valid)
    assert checked > 500 // SCHEMA_SLICES
    assert disagreements == 0


def test_a_mesh_setting_written_as_a_column_field_says_where_it_goes_once(tmp_path):
    """`unmaskedFor: [marketing]` on a column (as an old README wrote it) names its line and the customProperties entry
    to write instead, once (the standard's schema reports it from two of its branches)."""
    text = contract_yaml("lab", "people", [column("email", classification="personal", unmaskedFor=["marketing"])])
    path = write(tmp_path, text)
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    [problem] = raised.value.problems
    assert problem.field == "schema[0].properties[0].unmaskedFor"
    assert problem.line == text.splitlines().index("    unmaskedFor:") + 1
    assert problem.message == "'unmaskedFor' is a mesh setting, not a field of the ODCS standard"
    assert problem.fix == 'write it under this column\'s customProperties: - property: unmaskedFor / value: ["marketing"]'


def test_a_contract_setting_written_as_a_field_says_where_it_goes(tmp_path):
    text = contract_yaml("lab", "things", [column("a")]) + "access: public\n"
    with pytest.raises(ContractError) as raised:
        load_contract(write(tmp_path, text))
    [problem] = raised.value.problems
    assert problem.field == "access" and "'access' is a mesh setting" in problem.message
    assert problem.fix == 'write it under the contract\'s customProperties: - property: access / value: "public"'


# DuckDB types a port cannot serve as written, with what readers would get (None: no Delta table holds it).
PORT_TYPES = {
    "HUGEINT": "DECIMAL(38,0)",
    "UTINYINT": "TINYINT",
    "USMALLINT": "SMALLINT",
    "UINTEGER": "INTEGER",
    "UBIGINT": "BIGINT",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "UUID": "VARCHAR",
    "JSON": "VARCHAR",
    "ENUM('a', 'b')": "VARCHAR",
    "INTEGER[3]": "INTEGER[]",
    "STRUCT(a HUGEINT, b VARCHAR[])": "STRUCT(a DECIMAL(38,0), b VARCHAR[])",
    "MAP(VARCHAR, UINTEGER)": "MAP(VARCHAR, INTEGER)",
    "TIME": None,
    "INTERVAL": None,
    "UNION(a INTEGER, b VARCHAR)": None,
    "STRUCT(a INTEGER, t TIME)": None,
}
SERVED_AS_WRITTEN = (
    "BIGINT",
    "DECIMAL(12,2)",
    "VARCHAR",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "BOOLEAN",
    "BLOB",
    "VARCHAR[]",
    "STRUCT(a INTEGER, b VARCHAR)",
    "MAP(VARCHAR, BIGINT)",
    "DOUBLE",
    "FLOAT",
)


@pytest.mark.parametrize("physical", [*PORT_TYPES, *SERVED_AS_WRITTEN])
def test_the_types_a_port_serves_are_what_a_real_delta_table_gives_back(tmp_path, physical):
    """The table behind `port_type_problem` agrees with Delta Lake itself: each type written to a real Delta table and
    read back by DuckDB, as consumers read ports."""
    import duckdb
    from deltalake import DeltaTable, write_deltalake

    from mesh_platform.contract.types import port_type_problem

    with duckdb.connect() as connection:
        table = connection.sql(f"SELECT NULL::{physical} AS x").to_arrow_table()
        try:
            write_deltalake(str(tmp_path / "port"), table)
            served = str(connection.from_arrow(DeltaTable(str(tmp_path / "port")).to_pyarrow_dataset()).types[0])
        except Exception:  # Delta Lake has no such type
            served = None
    problem = port_type_problem(physical)
    if physical in SERVED_AS_WRITTEN:
        assert served == str(duckdb.type(physical)) and problem is None
    elif served is None:
        assert PORT_TYPES[physical] is None and problem[0].startswith(f"a port cannot hold {physical}: Delta Lake has no")
    else:
        assert served == PORT_TYPES[physical] and problem[0].startswith(f"a port serves {physical} as {served}: Delta Lake")


def test_a_contract_type_a_port_cannot_serve_is_refused_with_the_type_readers_would_get(tmp_path):
    text = contract_yaml(
        "lab", "things", [column("big", "integer", "HUGEINT"), column("count", "integer", "UINTEGER"), column("at", "time")]
    )
    path = write(tmp_path, text)
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    lines = [str(p) for p in raised.value.problems]
    assert lines[0] == (
        f"{path}:{text.splitlines().index('    physicalType: HUGEINT') + 1}: schema[0].properties[0].physicalType: column 'big': "
        "a port serves HUGEINT as DECIMAL(38,0): Delta Lake has no 128-bit integer — write physicalType: DECIMAL(38,0)"
    )
    assert (
        "column 'count': a port serves UINTEGER as INTEGER: Delta Lake has no unsigned integers (values above "
        "2147483647 would fail to publish) — write physicalType: BIGINT" in lines[1]
    )
    assert (
        "column 'at': a port cannot hold TIME: Delta Lake has no time-of-day type (TIME is logicalType time's "
        "default physicalType)" in lines[2]
    )
