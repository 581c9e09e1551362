"""The store enforces every grant: `mesh deploy access --apply` against moto's S3 server with IAM enforcement
on (tests/s3_server.py), one key per principal, and reads and commits with boto3 and with the platform's own
Delta code (deltalake with storage options) under those keys.

What moto enforces, shown here: an IAM user's inline policy for every S3 request (GetObject for GET and
HEAD, PutObject, DeleteObject, ListBucket), `*` wildcards in resources, AccessDenied otherwise. What it does
not: conditions (`s3:prefix` on ListBucket is ignored: any key may list the names of a bucket it may list
at all; AWS limits it).
"""

import json
import stat
import uuid

import pyarrow as pa
import pytest
import yaml
from botocore.exceptions import ClientError
from deltalake import DeltaTable, write_deltalake

from mesh_platform import read_product
from mesh_platform.core.settings import MeshSettings

from .conftest import column, contract_yaml, run_mesh
from .s3_server import REGION, S3Server
from .test_access import PEOPLE, SOURCE, access, personal

pytestmark = pytest.mark.slow

DENIED = ("AccessDenied", "403")


@pytest.fixture
def guarded(lab, iam_s3, monkeypatch):
    """A lab mesh on a bucket of the enforcing server: crm publishes people (public; name clear for shop) and
    leads (restricted to shop and the analysts); built with the admin's key, then access applied."""
    bucket = f"mesh-{uuid.uuid4().hex[:12]}"
    iam_s3.remove_users("/mesh/")  # each test's principals start with no user and no key
    iam_s3.client().create_bucket(Bucket=bucket)
    (lab.root / "deploy").mkdir()
    options = iam_s3.storage_options("LAB_S3_KEY_ID", "LAB_S3_SECRET")
    (lab.root / "deploy" / "store.yaml").write_text(
        yaml.safe_dump({"port_store": {"uri": f"s3://{bucket}/mesh", "storage_options": options}})
    )
    monkeypatch.setenv("MESH_ENV", "store")
    monkeypatch.setenv("MESH_SECRET", "store-secret")
    admin = {"AWS_ACCESS_KEY_ID": iam_s3.key_id, "AWS_SECRET_ACCESS_KEY": iam_s3.secret, "AWS_REGION": REGION}
    for name, value in {**admin, "LAB_S3_KEY_ID": iam_s3.key_id, "LAB_S3_SECRET": iam_s3.secret}.items():
        monkeypatch.setenv(name, value)
    for domain in ("crm", "shop", "ads"):
        lab.add_domain(domain)
    principals = lab.root / "governance" / "principals.yaml"
    principals.parent.mkdir(exist_ok=True)
    principals.write_text(
        yaml.safe_dump({"principals": {"analysts": {"owner": "crm", "description": "The analyst group's notebooks."}}})
    )
    lab.land("crm", "people.csv", PEOPLE)
    people = [column("id", "integer"), personal("name", unmaskedFor=["shop"]), personal("email"), column("phone"), column("city")]
    plain = [column(c, "integer" if c == "id" else "string") for c in ("id", "name", "email", "phone", "city")]
    lab.add_product("crm", "people", SOURCE.format(file="people.csv"), contract_yaml("crm", "people", people))
    lab.add_product(
        "crm",
        "leads",
        SOURCE.format(file="people.csv"),
        contract_yaml("crm", "leads", plain, customProperties=access("restricted", ["shop", "analysts"])),
    )
    assert lab.materialize("crm").success
    lab.bucket = bucket
    return lab


def apply(lab) -> dict:
    return json.loads(run_mesh("deploy", "access", "--apply", "--json", check=True).stdout)


def key_of(lab, principal: str) -> dict[str, str]:
    file = MeshSettings.from_env().deployment_folder / "credentials" / f"{principal}.env"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    return dict(line.split("=", 1) for line in file.read_text().splitlines())


def options(server: S3Server, key: dict[str, str]) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_REGION": REGION,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": key["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": key["AWS_SECRET_ACCESS_KEY"],
    }


def denied(call) -> str:
    with pytest.raises(Exception) as error:
        call()
    text = str(error.value)
    assert any(word in text for word in DENIED), text
    return text


def test_each_principal_s_key_reads_and_writes_only_what_the_contracts_grant(guarded, iam_s3, monkeypatch):
    lab, bucket = guarded, guarded.bucket
    result = apply(lab)["applied"]
    assert result["buckets_created"] == []  # the fixture made it
    assert {p["user"] for p in result["principals"]} == {"mesh-crm", "mesh-shop", "mesh-ads", "mesh-analysts"}
    assert all(p["key_created"] for p in result["principals"])
    users = iam_s3.client(service="iam").list_users(PathPrefix="/mesh/")["Users"]
    assert sorted(u["UserName"] for u in users) == ["mesh-ads", "mesh-analysts", "mesh-crm", "mesh-shop"]
    shop, ads, crm = key_of(lab, "shop"), key_of(lab, "ads"), key_of(lab, "crm")
    s3_shop = iam_s3.client(shop["AWS_ACCESS_KEY_ID"], shop["AWS_SECRET_ACCESS_KEY"])
    s3_ads = iam_s3.client(ads["AWS_ACCESS_KEY_ID"], ads["AWS_SECRET_ACCESS_KEY"])
    first_log = "_delta_log/00000000000000000000.json"

    # A granted port reads, with boto3 and with deltalake; an ungranted one is denied by the store.
    assert s3_shop.get_object(Bucket=bucket, Key=f"mesh/ports/crm/leads/v1/{first_log}")["Body"].read()
    assert (
        DeltaTable(f"s3://{bucket}/mesh/ports/crm/leads/v1", storage_options=options(iam_s3, shop)).to_pyarrow_table().num_rows
        == 2
    )
    denied(lambda: s3_ads.get_object(Bucket=bucket, Key=f"mesh/ports/crm/leads/v1/{first_log}"))
    denied(lambda: DeltaTable(f"s3://{bucket}/mesh/ports/crm/leads/v1", storage_options=options(iam_s3, ads)).to_pyarrow_table())
    assert s3_ads.get_object(Bucket=bucket, Key=f"mesh/ports/crm/people/v1/{first_log}")  # public

    # Clear values: a column's table, for its unmaskedFor readers only.
    name_log = f"mesh/vault/crm/people/name/{first_log}"
    assert s3_shop.get_object(Bucket=bucket, Key=name_log)
    denied(lambda: s3_shop.get_object(Bucket=bucket, Key=f"mesh/vault/crm/people/email/{first_log}"))
    denied(lambda: s3_ads.get_object(Bucket=bucket, Key=name_log))
    denied(
        lambda: DeltaTable(f"s3://{bucket}/mesh/vault/crm/people/email", storage_options=options(iam_s3, shop)).to_pyarrow_table()
    )

    # Through the platform's read path with shop's key: the name in clear (its grant), the e-mail a token.
    monkeypatch.setenv("LAB_S3_KEY_ID", shop["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("LAB_S3_SECRET", shop["AWS_SECRET_ACCESS_KEY"])
    seen = read_product("mesh://crm/people", consumer="shop")
    assert sorted(seen["name"]) == ["Ada Lovelace", "Grace Hopper"] and seen["email"].str.fullmatch(r"[0-9a-f]{64}").all()

    # No domain writes under another's ports, nor deletes another's Delta log entry; its own it commits to.
    denied(
        lambda: s3_shop.put_object(Bucket=bucket, Key="mesh/ports/crm/people/v1/_delta_log/00000000000000000009.json", Body=b"{}")
    )
    denied(lambda: s3_shop.delete_object(Bucket=bucket, Key=f"mesh/ports/crm/people/v1/{first_log}"))
    rows = pa.table({"id": [1]})
    people = f"s3://{bucket}/mesh/ports/crm/people/v1"
    one_row = DeltaTable(people, storage_options=options(iam_s3, shop)).to_pyarrow_table().slice(0, 1)  # public: shop reads it
    denied(lambda: write_deltalake(people, one_row, mode="append", storage_options=options(iam_s3, shop)))
    write_deltalake(f"s3://{bucket}/mesh/ports/shop/scratch/v1", rows, mode="append", storage_options=options(iam_s3, shop))
    write_deltalake(f"s3://{bucket}/mesh/ports/shop/scratch/v1", rows, mode="append", storage_options=options(iam_s3, shop))
    assert DeltaTable(f"s3://{bucket}/mesh/ports/shop/scratch/v1", storage_options=options(iam_s3, shop)).version() == 1
    s3_crm = iam_s3.client(crm["AWS_ACCESS_KEY_ID"], crm["AWS_SECRET_ACCESS_KEY"])
    denied(lambda: s3_crm.get_object(Bucket=bucket, Key=f"mesh/ports/shop/scratch/v1/{first_log}"))  # no contract grants it

    # moto does not evaluate s3:prefix: shop lists names under crm's vault (AWS would refuse it).
    assert s3_shop.list_objects_v2(Bucket=bucket, Prefix="mesh/vault/crm/people/email/")["KeyCount"] > 0


def test_a_grant_removed_and_applied_again_is_denied_by_the_store_at_the_next_read(guarded, iam_s3):
    lab, bucket = guarded, guarded.bucket
    apply(lab)
    shop = key_of(lab, "shop")
    leads = f"s3://{bucket}/mesh/ports/crm/leads/v1"
    assert DeltaTable(leads, storage_options=options(iam_s3, shop)).to_pyarrow_table().num_rows == 2

    contract = lab.root / lab.package / "crm" / "defs" / "leads" / "contract.yaml"
    document = yaml.safe_load(contract.read_text())
    document["customProperties"] = access("restricted", ["ads"])  # neither shop nor the analysts any more
    contract.write_text(yaml.safe_dump(document, sort_keys=False))
    again = apply(lab)["applied"]
    assert not any(p["key_created"] for p in again["principals"]), "a principal's key is made once"
    assert again["revoked"] == []  # the analysts are still a principal of the mesh: granted nothing now
    denied(lambda: DeltaTable(leads, storage_options=options(iam_s3, shop)).to_pyarrow_table())
    denied(lambda: DeltaTable(leads, storage_options=options(iam_s3, key_of(lab, "analysts"))).to_pyarrow_table())

    (lab.root / "governance" / "principals.yaml").write_text("principals: {}\n")  # and then no principal at all
    assert apply(lab)["applied"]["revoked"] == ["mesh-analysts"]
    analysts = iam_s3.client(service="iam").list_user_policies(UserName="mesh-analysts")["PolicyNames"]
    assert analysts == []
    with pytest.raises(ClientError):
        iam_s3.client(shop["AWS_ACCESS_KEY_ID"], shop["AWS_SECRET_ACCESS_KEY"]).get_object(
            Bucket=bucket, Key="mesh/ports/crm/leads/v1/_delta_log/00000000000000000000.json"
        )


# A shop product whose Python reads crm's vault straight from the bucket (Python recipes are not sandboxed),
# with whatever key its process holds, and a shop product reading crm/people through the platform.
PEEK = """\
import os

import pandas as pd
from deltalake import DeltaTable


def build(people: pd.DataFrame) -> pd.DataFrame:
    options = {name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ALLOW_HTTP")}
    clear = DeltaTable(os.environ["PEEK_AT"], storage_options=options).to_pyarrow_table()  # the process's own key
    return pd.DataFrame({"id": [len(clear)]})
"""


def test_each_domain_builds_with_its_own_key_and_the_store_refuses_what_its_grants_do_not_cover(guarded, iam_s3, monkeypatch):
    lab, bucket = guarded, guarded.bucket
    lab.add_product(
        "shop",
        "contacts",
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/people]\n"
        "  sql: SELECT id, name FROM people\n",
        contract_yaml("shop", "contacts", [column("id", "integer"), personal("name")]),
    )
    lab.add_product(
        "shop",
        "peek",
        "type: mesh_platform.recipes.PythonProduct\nattributes:\n  inputs: [mesh://crm/people]\n  function: peek.py:build\n",
        contract_yaml("shop", "peek", [column("id", "integer")]),
        files={"peek.py": PEEK},
    )
    apply(lab)
    store = lab.root / "deploy" / "store.yaml"
    deployment = yaml.safe_load(store.read_text())
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # no key of the store's own: each process its principal's
        deployment["port_store"]["storage_options"].pop(key)
    store.write_text(yaml.safe_dump(deployment))
    for name, value in {
        "AWS_ENDPOINT_URL": iam_s3.endpoint,
        "AWS_ALLOW_HTTP": "true",
        "PEEK_AT": f"s3://{bucket}/mesh/vault/crm/people/email",
    }.items():
        monkeypatch.setenv(name, value)
    # The command itself runs with the operator's key (the admin's, which reads everything): no build gets it.

    built = run_mesh("materialize", "mesh://shop/contacts")
    assert built.returncode == 0, built.stdout + built.stderr
    shop = key_of(lab, "shop")
    contacts = DeltaTable(f"s3://{bucket}/mesh/ports/shop/contacts/v1", storage_options=options(iam_s3, shop)).to_pyarrow_table()
    assert contacts.num_rows == 2  # read crm/people with shop's key (its grant, the name in clear) and published with it

    peeked = run_mesh("materialize", "mesh://shop/peek")
    assert peeked.returncode == 1
    logs = MeshSettings.from_env().logs_dir.glob("materialize-*-shop.log")
    said = peeked.stdout + peeked.stderr + "".join(p.read_text() for p in logs)
    assert any(word in said for word in DENIED), said  # the store refused shop's key the e-mails in clear
