"""Access and masking enforced where ports are read: builds, the Python API, and the access log."""

import hashlib
import json
import os

import pytest

from mesh_platform import AccessDeniedError, read_product
from mesh_platform.governance.access_log import AccessLog

from .conftest import column, contract_yaml, owner_read, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: {file}\n"
PEOPLE = (
    "id,name,email,phone,city\n1,Ada Lovelace,ada@example.com,555-0101,London\n"
    "2,Grace Hopper,grace@example.com,555-0102,New York\n"
)
SECRET = "test-mesh-secret"


def personal(name, **custom):
    props = [{"property": k, "value": v} for k, v in custom.items()]
    return column(name, classification="personal", **({"customProperties": props} if props else {}))


def access(level, consumers=None):
    props = [{"property": "access", "value": level}]
    return props + ([{"property": "consumers", "value": consumers}] if consumers else [])


@pytest.fixture
def crm(lab, monkeypatch):
    """Domain crm publishes people (public, personal columns), a restricted and an internal product."""
    monkeypatch.setenv("MESH_SECRET", SECRET)
    for domain in ("crm", "shop", "ads"):
        lab.add_domain(domain)
    lab.land("crm", "people.csv", PEOPLE)
    columns = [
        column("id", "integer"),
        personal("name", unmaskedFor=["shop"]),
        personal("email"),
        personal("phone", masking="drop"),
        column("city"),
    ]
    lab.add_product("crm", "people", SOURCE.format(file="people.csv"), contract_yaml("crm", "people", columns))
    lab.add_product(
        "crm",
        "partners",
        SOURCE.format(file="people.csv"),
        contract_yaml(
            "crm",
            "partners",
            columns[:1] + [column(c) for c in ("name", "email", "phone", "city")],
            customProperties=access("restricted", ["shop"]),
        ),
    )
    lab.add_product(
        "crm",
        "notes",
        SOURCE.format(file="people.csv"),
        contract_yaml(
            "crm",
            "notes",
            columns[:1] + [column(c) for c in ("name", "email", "phone", "city")],
            customProperties=access("internal"),
        ),
    )
    lab.materialize("crm")
    return lab


def keyed_hash(value: str) -> str:
    return hashlib.sha256(f"{SECRET}:{value}".encode()).hexdigest()


def test_personal_columns_are_masked_for_other_domains_and_clear_when_granted(crm):
    owner = owner_read("mesh://crm/people")
    assert list(owner["email"]) == ["ada@example.com", "grace@example.com"]

    ads = read_product("mesh://crm/people", consumer="ads")
    assert list(ads.columns) == ["id", "name", "email", "city"]  # phone is dropped
    assert list(ads["email"]) == [keyed_hash("ada@example.com"), keyed_hash("grace@example.com")]
    assert list(ads["name"]) == [keyed_hash("Ada Lovelace"), keyed_hash("Grace Hopper")]
    assert list(ads["city"]) == ["London", "New York"]

    shop = read_product("mesh://crm/people", consumer="shop")  # granted the clear name
    assert list(shop["name"]) == ["Ada Lovelace", "Grace Hopper"]
    assert list(shop["email"]) == list(ads["email"])  # equal values hash equally: they still join

    outsider = read_product("mesh://crm/people")  # no domain at all: public products, masked
    assert list(outsider["email"]) == list(ads["email"]) and "phone" not in outsider


def test_access_levels_refuse_reads_naming_product_consumer_and_owner(crm):
    assert len(read_product("mesh://crm/partners", consumer="shop")) == 2  # restricted to shop
    with pytest.raises(AccessDeniedError) as denied:
        read_product("mesh://crm/partners", consumer="ads")
    message = str(denied.value)
    partners = crm.root / crm.package / "crm/defs/partners/contract.yaml"
    assert message == (  # the product, the principal, the grant that is missing, whom to ask
        "access denied: ads may not read mesh://crm/partners: ads is not in consumers of mesh://crm/partners "
        "(restricted to crm, shop); "
        "to request access, ask its owner (team:crm, owner@example.com) to add ads to its customProperties consumers "
        f"in {partners}"
    )

    with pytest.raises(AccessDeniedError) as internal:
        read_product("mesh://crm/notes", consumer="shop")
    assert str(internal.value).startswith(
        "access denied: shop may not read mesh://crm/notes: it is internal to the crm domain, and shop is not in consumers of "
        "mesh://crm/notes; to request access, ask its owner (team:crm, owner@example.com) to make it restricted to shop "
        "(customProperties access: restricted, consumers: [shop]) in "
    )
    with pytest.raises(
        AccessDeniedError,
        match="a reader outside every principal may not read mesh://crm/notes: it is internal to the crm domain; "
        "read as a principal it grants",
    ):
        read_product("mesh://crm/notes")
    assert len(owner_read("mesh://crm/notes")) == 2


def test_builds_read_their_inputs_through_the_same_rules(crm):
    crm.add_product(
        "ads",
        "audience",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
        "  sql: SELECT id, email FROM people\n",
        contract_yaml("ads", "audience", [column("id", "integer"), personal("email")]),
    )
    crm.materialize("ads")
    published = owner_read("mesh://ads/audience")
    assert list(published["email"]) == [keyed_hash("ada@example.com"), keyed_hash("grace@example.com")]
    [entry] = [e for e in AccessLog(crm.settings.access_log_file).entries(consumer="ads") if e.via.startswith("build")]
    assert entry.product == "mesh://crm/people" and entry.version == 0 and entry.outcome == "granted"
    assert entry.hashed == ["name", "email"] and entry.dropped == ["phone"]
    assert entry.via.startswith("build of mesh://ads/audience (run ")


def test_every_read_is_in_the_access_log(crm):
    read_product("mesh://crm/people", consumer="ads")
    read_product("mesh://crm/people", consumer="shop", version=0)
    owner_read("mesh://crm/people")  # a consumer names itself: a read claiming the owner is logged like any other
    with pytest.raises(AccessDeniedError):
        read_product("mesh://crm/notes", consumer="ads")
    entries = AccessLog(crm.settings.access_log_file).entries()
    assert [(e.consumer, e.product, e.version, e.outcome) for e in entries] == [
        ("ads", "mesh://crm/people", 0, "granted"),
        ("shop", "mesh://crm/people", 0, "granted"),
        ("crm", "mesh://crm/people", 0, "granted"),
        ("ads", "mesh://crm/notes", None, "denied"),
    ]
    assert entries[2].clear == ["name", "email", "phone"]  # the owner sees every personal value
    assert entries[1].clear == ["name"] and all(e.at.endswith("+00:00") and e.user for e in entries)

    printed = run_mesh("access", "log", "--json", "--consumer", "ads", env={**os.environ}, cwd=crm.root)
    reads = json.loads(printed.stdout)["reads"]
    assert [(r["product"], r["outcome"]) for r in reads] == [("mesh://crm/people", "granted"), ("mesh://crm/notes", "denied")]
    table = run_mesh("access", "log", env={**os.environ}, cwd=crm.root).stdout
    assert "hashed name, email; dropped phone" in table and "clear name" in table and "denied" in table


def test_the_mesh_secret_keys_the_tokens(crm, monkeypatch):
    assert read_product("mesh://crm/people", consumer="ads")["email"][0] == keyed_hash("ada@example.com")  # MESH_SECRET
    monkeypatch.delenv("MESH_SECRET")  # without it, a local mesh keeps a key of its own in MESH_HOME/secret
    assert crm.materialize("crm").success
    generated = read_product("mesh://crm/people", consumer="ads")["email"][0]
    secret_file = crm.settings.home / "secret"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert generated == hashlib.sha256(f"{secret_file.read_text().strip()}:ada@example.com".encode()).hexdigest()
    assert crm.materialize("crm").success
    assert read_product("mesh://crm/people", consumer="ads")["email"][0] == generated  # the kept key: stable tokens
    assert owner_read("mesh://crm/people")["email"][0] == "ada@example.com"  # the owner still reads the clear value


def test_a_read_that_may_see_the_files_as_published_scans_them_itself_and_its_connection_opens_no_other(crm):
    import duckdb

    from mesh_platform import read_product_relation

    ports = crm.settings.ports_root / "crm"
    owner = read_product_relation("mesh://crm/people", consumer="crm")  # nothing dropped: DuckDB reads the files
    assert "PARQUET_SCAN" in owner.explain()  # (the clear values joined back from the vault: Arrow)
    assert sorted(owner.fetchall()) == sorted(owner_read("mesh://crm/people").itertuples(index=False, name=None))
    assert [row[2] for row in sorted(owner.fetchall())] == ["ada@example.com", "grace@example.com"]  # joined back
    with pytest.raises(duckdb.PermissionException):  # the files of another product, though the owner's too
        owner.query("people", f"SELECT * FROM read_parquet('{ports}/partners/v1/*.parquet')").fetchall()

    ads = read_product_relation("mesh://crm/people", consumer="ads")  # phone dropped: the files stay closed
    assert "PARQUET_SCAN" not in ads.explain() and "phone" not in ads.columns
    with pytest.raises(duckdb.PermissionException):
        ads.query("people", f"SELECT phone FROM read_parquet('{ports}/people/v1/*.parquet')").fetchall()
