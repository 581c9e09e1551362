"""The configuration-only recipes (filter, projection, union, join, cdc) on real data."""

import pytest

from .conftest import column, contract_yaml
from .test_recipes import THINGS, rows

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {path}\n"


def failure(result) -> str:
    return str(next(e for e in result.all_events if e.is_step_failure).step_failure_data.error)


@pytest.fixture
def shop(lab):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE.format(path="things.csv"), contract_yaml("shop", "things", THINGS))
    lab.land("shop", "things.csv", "id,name,amount\n1,anvil,12.50\n2,bucket,3.25\n3,crate,7.00\n")
    return lab


def test_filter_keeps_rows_meeting_every_condition(shop):
    shop.add_product(
        "shop",
        "pricey",
        "type: mesh_platform.recipes.FilterProduct\nattributes:\n  inputs: [mesh://shop/things]\n"
        "  where: [amount > 5, \"name <> 'crate'\"]\n",
        contract_yaml("shop", "pricey", THINGS),
    )
    assert shop.materialize("shop").success
    assert rows("mesh://shop/pricey") == [(1, "anvil", 12.5)]


def test_projection_selects_renames_and_casts(shop):
    shop.add_product(
        "shop",
        "labels",
        """\
        type: mesh_platform.recipes.ProjectionProduct
        attributes:
          inputs: [mesh://shop/things]
          columns:
            - name: label
              source: name
            - id
            - name: whole_amount
              source: amount
              cast: INTEGER
        """,
        contract_yaml("shop", "labels", [column("label"), column("id", "integer"), column("whole_amount", "integer", "INTEGER")]),
    )
    assert shop.materialize("shop").success
    assert rows("mesh://shop/labels") == [("anvil", 1, 13), ("bucket", 2, 3), ("crate", 3, 7)]


def test_union_stacks_inputs_by_column_name(shop):
    shop.add_product("shop", "more_things", SOURCE.format(path="more.csv"), contract_yaml("shop", "more_things", THINGS))
    shop.land("shop", "more.csv", "amount,name,id\n1.00,drum,4\n")
    shop.add_product(
        "shop",
        "all_things",
        "type: mesh_platform.recipes.UnionProduct\nattributes:\n"
        "  inputs: [mesh://shop/things, mesh://shop/more_things]\n  source_column: origin\n",
        contract_yaml("shop", "all_things", [*THINGS, column("origin")]),
    )
    assert shop.materialize("shop").success
    assert rows("mesh://shop/all_things") == [
        (1, "anvil", 12.5, "mesh://shop/things"),
        (2, "bucket", 3.25, "mesh://shop/things"),
        (3, "crate", 7.0, "mesh://shop/things"),
        (4, "drum", 1.0, "mesh://shop/more_things"),
    ]


def test_union_of_incompatible_inputs_names_the_differences(shop):
    shop.add_product(
        "shop", "odd", SOURCE.format(path="odd.csv"), contract_yaml("shop", "odd", [column("id", "integer"), column("colour")])
    )
    shop.land("shop", "odd.csv", "id,colour\n9,red\n")
    shop.add_product(
        "shop",
        "mixed",
        "type: mesh_platform.recipes.UnionProduct\nattributes:\n  inputs: [mesh://shop/things, mesh://shop/odd]\n",
        contract_yaml("shop", "mixed", THINGS),
    )
    result = shop.materialize("shop", raise_on_error=False)
    assert "mesh://shop/odd cannot be unioned with mesh://shop/things: amount missing, name missing, colour extra" in failure(
        result
    )


def test_join_across_domains_by_keys(shop):
    shop.add_domain("crm")
    shop.add_product(
        "crm",
        "owners",
        SOURCE.format(path="owners.csv"),
        contract_yaml("crm", "owners", [column("thing_id", "integer"), column("name"), column("city")]),
    )
    shop.land("crm", "owners.csv", "thing_id,name,city\n1,Ada,Oslo\n3,Grace,Lima\n")
    shop.add_product(
        "shop",
        "owned",
        """\
        type: mesh_platform.recipes.JoinProduct
        attributes:
          inputs: [mesh://shop/things, mesh://crm/owners]
          joins:
            - input: owners
              keys: [id = thing_id]
        """,
        contract_yaml("shop", "owned", [*THINGS, column("owners_name"), column("city")]),
    )
    assert shop.materialize("crm").success
    assert shop.materialize("shop").success
    assert rows("mesh://shop/owned") == [
        (1, "anvil", 12.5, "Ada", "Oslo"),
        (2, "bucket", 3.25, None, None),
        (3, "crate", 7.0, "Grace", "Lima"),
    ]


def test_join_refuses_to_repeat_rows(shop):
    shop.add_product(
        "shop", "tags", SOURCE.format(path="tags.csv"), contract_yaml("shop", "tags", [column("id", "integer"), column("tag")])
    )
    shop.land("shop", "tags.csv", "id,tag\n1,heavy\n1,metal\n")
    shop.add_product(
        "shop",
        "tagged",
        "type: mesh_platform.recipes.JoinProduct\nattributes:\n  inputs: [mesh://shop/things, mesh://shop/tags]\n"
        "  joins:\n    - input: tags\n      keys: [id]\n",
        contract_yaml("shop", "tagged", [*THINGS, column("tag")]),
    )
    result = shop.materialize("shop", raise_on_error=False)
    assert 'tags has 1 repeated key(s) on ("id"); the join would repeat rows' in failure(result)


def test_cdc_applies_inserts_updates_deletes_duplicates_and_late_events(lab):
    lab.add_domain("crm")
    events = [column("id", "integer"), column("seq", "integer"), column("op"), column("name"), column("city")]
    lab.add_product("crm", "events", SOURCE.format(path="events.csv"), contract_yaml("crm", "events", events))
    lab.add_product(
        "crm",
        "people",
        "type: mesh_platform.recipes.CdcProduct\nattributes:\n  inputs: [mesh://crm/events]\n  key: [id]\n"
        "  sequence: seq\n  operation: op\n",
        contract_yaml("crm", "people", [column("id", "integer"), column("seq", "integer"), column("name"), column("city")]),
    )
    lab.land(
        "crm",
        "events.csv",
        """\
        id,seq,op,name,city
        1,1,insert,Ada,Oslo
        2,2,insert,Bob,Rome
        1,5,update,Ada,Bergen
        3,3,insert,Cy,Kyiv
        1,4,update,Ada,Tromsø
        2,6,delete,Bob,Rome
        2,2,insert,Bob,Rome
        3,3,insert,Cy,Kyiv
        4,9,update,Dee,Paris
        5,8,delete,Eve,Nice
        5,7,insert,Eve,Nice
        3,10,update,Cy,Lviv
        """,
    )
    assert lab.materialize("crm").success
    assert rows("mesh://crm/people") == [
        (1, 5, "Ada", "Bergen"),  # the late update (seq 4) does not override seq 5
        (3, 10, "Cy", "Lviv"),  # the duplicated insert counts once
        (4, 9, "Dee", "Paris"),  # an update of an unknown key inserts it
    ]  # 2 and 5 deleted: the repeated insert of 2 and the late insert of 5 do not bring them back


CDC_EVENTS = [
    column("id", "integer"),
    column("seq", "integer"),
    column("op"),
    column("name"),
    column("city", classification="personal"),
]
CDC_STATE = [
    column("id", "integer", primaryKey=True, primaryKeyPosition=1, required=True),
    column("seq", "integer"),
    column("name"),
    column("town", classification="personal"),
]
CDC_RECIPE = (
    "type: mesh_platform.recipes.CdcProduct\nattributes:\n  inputs: [mesh://crm/events]\n  key: [id]\n"
    "  sequence: seq\n  operation: op\n"
    "  rename: {{city: town}}\n  incremental: {incremental}\n"
)
# Three deliveries: repeated events, events arriving after later ones (late), out of sequence order,
# a delete before its key's late insert, a repeated sequence that deletes.
DELIVERIES = [
    "id,seq,op,name,city\n1,1,insert,Ada,Oslo\n2,2,insert,Bob,Rome\n3,3,insert,Cy,Kyiv\n1,5,update,Ada,Bergen\n",
    "id,seq,op,name,city\n1,4,update,Ada,Tromsø\n2,6,delete,Bob,Rome\n3,3,insert,Cy,Kyiv\n4,2,insert,Dee,Paris\n5,8,delete,Eve,Nice\n6,9,insert,Fay,Lima\n",
    "id,seq,op,name,city\n5,7,insert,Eve,Nice\n2,2,insert,Bob,Rome\n4,1,insert,Dee,Lyon\n6,9,delete,Fay,Lima\n3,11,update,Cy,Lviv\n7,10,insert,Gus,Riga\n",
]


def test_cdc_applies_only_new_events_and_reaches_the_state_of_a_full_replay(lab):
    from deltalake import DeltaTable

    lab.add_domain("crm")
    lab.add_product("crm", "events", SOURCE.format(path="events/*.csv"), contract_yaml("crm", "events", CDC_EVENTS))
    lab.add_product("crm", "people", CDC_RECIPE.format(incremental="true"), contract_yaml("crm", "people", CDC_STATE))
    lab.add_product("crm", "replayed", CDC_RECIPE.format(incremental="false"), contract_yaml("crm", "replayed", CDC_STATE))
    states = []
    for index, delivery in enumerate(DELIVERIES):
        lab.land("crm", f"events/{index}.csv", delivery)
        assert lab.materialize("crm").success
        states.append(rows("mesh://crm/people"))
        assert states[-1] == rows("mesh://crm/replayed"), f"after delivery {index}"
    assert states[-1] == [(1, 5, "Ada", "Bergen"), (3, 11, "Cy", "Lviv"), (4, 2, "Dee", "Paris"), (7, 10, "Gus", "Riga")]

    port = lab.settings.ports_root / "crm" / "people" / "v1"
    commits = DeltaTable(str(port)).history()
    assert [c["operation"] for c in commits[:2]] == ["MERGE", "MERGE"] and len(commits) == 3  # the first build wrote the table
    # Delivery 2 changed 2 (deleted), 4 and 6 (new), 5 (a delete of a key never seen); 1 (seq 4 < 5) and 3 (a repeat) did not.
    # Delivery 3 changed 6 (a delete at its insert's sequence), 3 (update), 7 (new); 5, 2 and 4's events are older.
    assert [json_of(c["mesh.changes"]) for c in commits[:2]] == [{"upserted": 2, "deleted": 1}, {"upserted": 2, "deleted": 2}]
    assert DeltaTable(str(port) + ".applied").to_pyarrow_table().num_rows == 7  # every key seen, deleted ones too

    # Nothing new: nothing changes.
    assert lab.materialize("crm", "people").success
    assert rows("mesh://crm/people") == states[-1]
    assert len(DeltaTable(str(port)).history()) == 3  # no commit


def json_of(text):
    import json

    return json.loads(text)


@pytest.mark.slow  # three builds of two cdc products; the fast tier has the incremental cdc test above
def test_cdc_after_a_build_whose_record_never_committed_applies_those_events_again_and_reaches_the_replay(lab):
    """A build applies its changes to the port (a Delta MERGE) and then adds them to its record of applied events,
    two commits: a process killed between them leaves the port ahead of the record. The next build must
    apply those events again (changing nothing) with the new ones, and reach the state of a full replay."""
    import shutil

    from deltalake import DeltaTable

    lab.add_domain("crm")
    lab.add_product("crm", "events", SOURCE.format(path="events/*.csv"), contract_yaml("crm", "events", CDC_EVENTS))
    lab.add_product("crm", "people", CDC_RECIPE.format(incremental="true"), contract_yaml("crm", "people", CDC_STATE))
    lab.add_product("crm", "replayed", CDC_RECIPE.format(incremental="false"), contract_yaml("crm", "replayed", CDC_STATE))
    port = lab.settings.ports_root / "crm" / "people" / "v1"
    record = port.with_name("v1.applied")
    lab.land("crm", "events/0.csv", DELIVERIES[0])
    assert lab.materialize("crm").success
    shutil.copytree(record, lab.root / "record-before")
    lab.land("crm", "events/1.csv", DELIVERIES[1])
    assert lab.materialize("crm").success
    assert DeltaTable(str(port)).history(limit=1)[0]["operation"] == "MERGE"

    # The record as the killed build left it: as it was before that build, naming the port version it described
    # (the record keeps its current version only, so the earlier one comes back from a copy).
    shutil.rmtree(record)
    shutil.copytree(lab.root / "record-before", record)
    assert DeltaTable(str(record)).history(limit=1)[0]["mesh.port_version"] == "0"
    assert DeltaTable(str(record)).to_pyarrow_table().num_rows == 3  # keys 1, 2, 3: delivery 1 unrecorded

    lab.land("crm", "events/2.csv", DELIVERIES[2])
    assert lab.materialize("crm").success
    assert (
        rows("mesh://crm/people")
        == rows("mesh://crm/replayed")
        == [(1, 5, "Ada", "Bergen"), (3, 11, "Cy", "Lviv"), (4, 2, "Dee", "Paris"), (7, 10, "Gus", "Riga")]
    )
    assert DeltaTable(str(port)).history(limit=1)[0]["operation"] == "MERGE"  # still incremental, not a whole rewrite
    assert DeltaTable(str(port) + ".applied").to_pyarrow_table().num_rows == 7  # every key seen again
