"""Principals: consumers that are no domain, declared once with an owner, granted like a domain; who a read acts as."""

import hashlib
import os
import uuid

import pytest
import yaml

from mesh_platform import AccessDeniedError, IdentityError, UnknownPrincipalError, read_product
from mesh_platform.governance.access_log import AccessLog

from .conftest import column, contract_yaml, owner_read, run_mesh
from .test_access import PEOPLE, SOURCE, access, personal

SECRET = "principals-secret"
PRINCIPALS = """\
principals:
  bi:
    owner: crm
    description: The BI service account behind the CRM dashboards.
  analysts:
    owner: analytics-leads@example.com
    description: The company's analysts.
"""


def keyed_hash(value: str, secret: str = SECRET) -> str:
    return hashlib.sha256(f"{secret}:{value}".encode()).hexdigest()


def write_principals(lab, text: str):
    file = lab.root / "governance" / "principals.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text(text)
    return file


@pytest.fixture
def granted(lab, monkeypatch):
    return build_granted(lab, monkeypatch)


def build_granted(lab, monkeypatch):
    """crm publishes people (public; name in clear for bi) and partners (restricted to shop and bi); bi and analysts are
    declared."""
    monkeypatch.setenv("MESH_SECRET", SECRET)
    monkeypatch.delenv("MESH_CONSUMER", raising=False)
    for domain in ("crm", "shop"):
        lab.add_domain(domain)
    lab.principals_file = write_principals(lab, PRINCIPALS)
    lab.land("crm", "people.csv", PEOPLE)
    columns = [column("id", "integer"), personal("name", unmaskedFor=["bi"]), personal("email"), column("phone"), column("city")]
    lab.add_product("crm", "people", SOURCE.format(file="people.csv"), contract_yaml("crm", "people", columns))
    plain = [column("id", "integer"), *(column(c) for c in ("name", "email", "phone", "city"))]
    lab.add_product(
        "crm",
        "partners",
        SOURCE.format(file="people.csv"),
        contract_yaml("crm", "partners", plain, customProperties=access("restricted", ["shop", "bi"])),
    )
    assert lab.materialize("crm").success
    return lab


def test_a_declared_principal_reads_what_its_grants_allow_and_is_logged(granted):
    people = read_product("mesh://crm/people", consumer="bi")
    assert list(people["name"]) == ["Ada Lovelace", "Grace Hopper"]  # unmaskedFor: [bi]
    assert list(people["email"]) == [keyed_hash("ada@example.com"), keyed_hash("grace@example.com")]
    assert len(read_product("mesh://crm/partners", consumer="bi")) == 2  # consumers: [shop, bi]

    with pytest.raises(AccessDeniedError) as denied:
        read_product("mesh://crm/partners", consumer="analysts")
    contract_file = granted.root / granted.package / "crm/defs/partners/contract.yaml"
    assert str(denied.value) == (
        "access denied: analysts may not read mesh://crm/partners: analysts is not in consumers of mesh://crm/partners "
        "(restricted to crm, shop, bi); to request access, ask its owner (team:crm, owner@example.com) "
        f"to add analysts to its customProperties consumers in {contract_file}"
    )
    entries = [(e.consumer, e.product, e.outcome, tuple(e.clear)) for e in AccessLog(granted.settings.access_log_file).entries()]
    assert ("bi", "mesh://crm/people", "granted", ("name",)) in entries
    assert ("analysts", "mesh://crm/partners", "denied", ()) in entries


def test_mesh_query_as_a_principal_says_once_that_the_identity_is_unverified(granted):
    queried = run_mesh(
        "query",
        "--as",
        "bi",
        "SELECT p.name FROM crm.people p JOIN crm.partners q ON p.id = q.id ORDER BY 1",
        "--json",
        cwd=granted.root,
    )
    assert queried.returncode == 0, queried.stderr
    assert yaml.safe_load(queried.stdout) == [{"name": "Ada Lovelace"}, {"name": "Grace Hopper"}]
    assert queried.stderr.count("unverified") == 1
    assert queried.stderr.startswith(
        "acting as bi, unverified: --as bi on the embedded shape, where the operating-system user is the only boundary"
    )

    from_environment = run_mesh(
        "query", "SELECT count(*) AS n FROM crm.partners", "--json", env={**os.environ, "MESH_CONSUMER": "shop"}, cwd=granted.root
    )
    assert from_environment.returncode == 0 and yaml.safe_load(from_environment.stdout) == [{"n": 2}]
    assert "acting as shop, unverified: MESH_CONSUMER shop" in from_environment.stderr

    nobody = run_mesh("query", "SELECT 1", cwd=granted.root)
    assert nobody.returncode == 1 and nobody.stderr.strip() == (
        "error: give --as NAME: the principal to query as (a domain, or a consumer declared in the principals file)"
    )


def test_a_name_that_is_no_principal_is_refused_naming_the_principals_file(granted):
    with pytest.raises(UnknownPrincipalError) as unknown:
        read_product("mesh://crm/people", consumer="marketing")
    assert str(unknown.value) == (
        "'marketing' is no principal of the mesh: neither a domain (crm, shop) nor declared in "
        f"{granted.principals_file} (analysts, bi); "
        "declare it there (principals: {<name>: {owner: <domain, team:<name> or e-mail>, description: …}})"
    )
    queried = run_mesh("query", "--as", "marketing", "SELECT count(*) FROM crm.people", cwd=granted.root)
    assert (
        queried.returncode == 1
        and queried.stderr.count("\n") == 1
        and "'marketing' is no principal of the mesh" in queried.stderr
    )


def test_reads_need_no_hashing_key(granted, monkeypatch):
    """Only builds publishing personal columns hold MESH_SECRET: reads, masked or clear (via the vault), need none."""
    monkeypatch.delenv("MESH_SECRET")
    secret_file = granted.settings.home / "secret"
    assert not secret_file.exists()  # the build had MESH_SECRET: no key kept on disk either
    assert list(read_product("mesh://crm/people", consumer="shop")["email"]) == [
        keyed_hash("ada@example.com"),
        keyed_hash("grace@example.com"),
    ]
    assert list(read_product("mesh://crm/people", consumer="bi")["name"]) == ["Ada Lovelace", "Grace Hopper"]
    assert list(owner_read("mesh://crm/people")["email"]) == ["ada@example.com", "grace@example.com"]
    assert len(read_product("mesh://crm/people")) == 2
    assert not secret_file.exists()  # no read made itself a key


def test_a_column_classified_personal_after_a_version_was_published_reaches_others_dropped(granted):
    """Its tokens would need the hashing key, which readers do not hold: the version's clear values are dropped instead."""
    contract = granted.root / granted.package / "crm/defs/people/contract.yaml"
    document = yaml.safe_load(contract.read_text())
    document["schema"][0]["properties"][4]["classification"] = "personal"  # city
    contract.write_text(yaml.safe_dump(document, sort_keys=False))
    shop = read_product("mesh://crm/people", consumer="shop", version=0)
    assert "city" not in shop.columns and list(shop["email"]) == [keyed_hash("ada@example.com"), keyed_hash("grace@example.com")]
    [entry] = AccessLog(granted.settings.access_log_file).entries(consumer="shop")
    assert entry.dropped == ["city"] and entry.hashed == ["name", "email"]
    assert list(owner_read("mesh://crm/people", version=0)["city"]) == ["London", "New York"]


def test_rotating_the_hashing_key_changes_every_token_and_granted_readers_still_join_back(granted, monkeypatch):
    """The README's rotation: a new MESH_SECRET, every personal product rebuilt; tokens change, clear reads still work."""
    before = read_product("mesh://crm/people", consumer="shop")["email"].tolist()
    monkeypatch.setenv("MESH_SECRET", "rotated-secret")
    assert granted.materialize("crm").success
    after = read_product("mesh://crm/people", consumer="shop")["email"].tolist()
    assert after == [keyed_hash("ada@example.com", "rotated-secret"), keyed_hash("grace@example.com", "rotated-secret")]
    assert set(after).isdisjoint(before)  # a reader holding old tokens re-joins on the new ones
    monkeypatch.delenv("MESH_SECRET")  # and reads, clear ones included, still need no key
    assert list(read_product("mesh://crm/people", consumer="bi")["name"]) == ["Ada Lovelace", "Grace Hopper"]
    assert list(read_product("mesh://crm/people", consumer="bi", version=0)["name"]) == [
        "Ada Lovelace",
        "Grace Hopper",
    ]  # the old tokens' values stay in the vault


# mesh check: the principals file's problems and the grants naming no principal, each located; none takes a domain down.


@pytest.fixture
def checked_lab(lab):
    for domain in ("crm", "shop"):
        lab.add_domain(domain)
    lab.land("crm", "people.csv", PEOPLE)
    columns = [column("id", "integer"), personal("name", unmaskedFor=["bi"]), column("email"), column("phone"), column("city")]
    lab.add_product(
        "crm",
        "people",
        SOURCE.format(file="people.csv"),
        contract_yaml("crm", "people", columns, customProperties=access("restricted", ["shop", "bi", "ml", "ghost"])),
    )
    return lab


def check_errors(lab) -> list[str]:
    result = run_mesh("check", cwd=lab.root)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("error ")]


def test_mesh_check_names_each_problem_of_the_principals_file_and_each_grant_to_no_principal(checked_lab):
    lab = checked_lab
    file = write_principals(
        lab,
        PRINCIPALS + "  shop:\n    owner: crm\n    description: A second shop.\n"
        "  reports:\n    owner: finance\n    description: Reports.\n"
        "  Bad-Name:\n    owner: crm\n    description: Badly named.\n"
        "  ml:\n    ownr: crm\n    description: The churn model.\n",
    )
    errors = check_errors(lab)
    contract = lab.root / lab.package / "crm/defs/people/contract.yaml"
    assert any(
        e.startswith(f"error mesh.known-principals mesh://crm/people {contract}:")
        and "consumers names 'ghost', which is neither a domain nor a principal declared in" in e
        for e in errors
    ), errors
    principals = [e for e in errors if e.startswith("error mesh.principals (principals) ")]
    assert len(principals) == 5, principals
    text = "\n".join(principals)
    assert f"{file}:8: principals.shop: principal 'shop' is named like the shop domain, which is a principal already" in text
    assert (
        f"{file}:12: principals.reports.owner: owner 'finance' of principal 'reports' is no domain of the mesh, team "
        "or e-mail address" in text
    )
    assert f"{file}:14: principals.Bad-Name: principal name 'Bad-Name' is not allowed" in text
    assert f"{file}:18: principals.ml.ownr: unknown setting 'ownr' (a typo?)" in text
    assert "principals.ml.owner: Field required" in text
    assert not any("names 'bi'" in e for e in errors)  # bi is declared, and fine
    assert not any("names 'ml'" in e for e in errors)  # nor is a grant to a broken entry reported twice


def test_a_broken_principals_file_never_takes_a_domain_down(checked_lab):
    lab = checked_lab
    file = write_principals(lab, "principals: {bi: [unclosed\n")
    errors = check_errors(lab)
    assert [e for e in errors if "mesh.principals" in e] == [
        e for e in errors if e.startswith(f"error mesh.principals (principals) {file}:")
    ]
    assert any("invalid YAML" in e for e in errors) and not any("mesh.known-principals" in e for e in errors)  # ghost: undecided
    assert (
        lab.broken_products("crm") == {}
    )  # the product granting bi and ghost still loads: the file is reported once, in mesh check
    assert lab.materialize("crm").success
    assert len(read_product("mesh://crm/people", consumer="shop")) == 2  # domains stay principals
    with pytest.raises(UnknownPrincipalError, match="that file has problems \\(mesh check lists them\\): fix it"):
        read_product("mesh://crm/people", consumer="bi")


# In a deployment on an object store the principal is the store credentials' (moto's STS and IAM on 127.0.0.1).


@pytest.fixture
def deployed(lab, s3, monkeypatch):
    """The granted mesh built in a deployment `bucket` whose port store is a bucket, credentials from two variables."""
    s3.deploy_bucket(lab.root, monkeypatch)
    lab.s3 = s3
    return build_granted(lab, monkeypatch)


@pytest.mark.slow
def test_in_a_deployment_the_principal_is_the_one_of_the_store_credentials(deployed):
    from mesh_platform.core.settings import MeshSettings
    from mesh_platform.governance.identity import resolve_identity
    from mesh_platform.governance.principals import load_principals

    lab, s3 = deployed, deployed.s3
    settings = MeshSettings.from_env()
    principals = load_principals(settings.principals_file, ["crm", "shop"])
    with s3.acting_as("bi", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):
        identity = resolve_identity(settings.deployment, principals, None)
        assert (identity.principal, identity.verified, identity.notice) == ("bi", True, None)
        # Without a name, the read is bi's: the clear name its grant gives.
        assert list(read_product("mesh://crm/people")["name"]) == ["Ada Lovelace", "Grace Hopper"]
        assert list(read_product("mesh://crm/people", consumer="bi")["name"]) == ["Ada Lovelace", "Grace Hopper"]
        queried = run_mesh("query", "SELECT count(*) AS n FROM crm.partners", "--json", cwd=lab.root)
        assert queried.returncode == 0 and yaml.safe_load(queried.stdout) == [{"n": 2}] and "unverified" not in queried.stderr, (
            queried.stderr
        )

        # Claiming another principal is refused, naming both.
        claimed = run_mesh("query", "--as", "crm", "SELECT count(*) FROM crm.people", cwd=lab.root)
        assert claimed.returncode == 1 and claimed.stderr.strip() == (
            "error: --as crm is refused: the port store's credentials in use are bi's (IAM user mesh-bi); "
            "run with crm's credentials, or without --as to act as bi"
        )
        with pytest.raises(IdentityError, match="^consumer= crm is refused: the port store's credentials in use are bi's"):
            read_product("mesh://crm/people", consumer="crm")
        with pytest.raises(IdentityError, match="^MESH_CONSUMER shop is refused"), pytest.MonkeyPatch.context() as environment:
            environment.setenv("MESH_CONSUMER", "shop")
            read_product("mesh://crm/people")
    entries = [(e.consumer, e.product) for e in AccessLog(lab.settings.access_log_file).entries()]
    assert entries.count(("bi", "mesh://crm/people")) == 2 and ("crm", "mesh://crm/people") not in entries

    with s3.acting_as("shop", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):
        assert list(read_product("mesh://crm/people")["email"]) == [
            keyed_hash("ada@example.com"),
            keyed_hash("grace@example.com"),
        ]


@pytest.mark.slow
def test_credentials_of_no_mesh_principal_are_said_so_and_claim_nobody(deployed):
    lab, s3 = deployed, deployed.s3
    # The test's own key (moto's default user) is no mesh principal; nor is an IAM user outside /mesh/.
    claimed = run_mesh("query", "--as", "shop", "SELECT 1", cwd=lab.root)
    assert claimed.returncode == 1 and claimed.stderr.count("\n") == 1
    assert claimed.stderr.startswith(
        "error: --as shop is refused: the port store's credentials in use (arn:aws:sts::123456789012:user/moto) "
        "belong to no mesh principal (a principal's are IAM users mesh-<principal> under path /mesh/"
    )
    unnamed = run_mesh("query", "SELECT count(*) AS n FROM crm.people", cwd=lab.root)
    assert (
        unnamed.returncode == 1 and "belong to no mesh principal" in unnamed.stderr and "error: give --as NAME" in unnamed.stderr
    )
    assert len(read_product("mesh://crm/people")) == 2  # a public product, as a reader naming no principal
    with pytest.raises(AccessDeniedError, match="a reader outside every principal may not read mesh://crm/partners"):
        read_product("mesh://crm/partners")

    iam, outside = s3.iam(), f"mesh-shop{uuid.uuid4().hex[:6]}"  # IAM user names are unique across paths
    iam.create_user(UserName=outside, Path="/elsewhere/")
    key = iam.create_access_key(UserName=outside)["AccessKey"]
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("LAB_S3_KEY_ID", key["AccessKeyId"])
        environment.setenv("LAB_S3_SECRET", key["SecretAccessKey"])
        with pytest.raises(IdentityError, match=f"user/elsewhere/{outside}\\) belong to no mesh principal"):
            read_product("mesh://crm/people", consumer="shop")
    unknown = "credentials in use are IAM user mesh-ghost, but 'ghost' is no principal of the mesh"
    with (
        s3.acting_as("ghost", "LAB_S3_KEY_ID", "LAB_S3_SECRET"),
        pytest.raises(IdentityError, match=unknown),
    ):  # IAM user mesh-ghost
        read_product("mesh://crm/people")


def test_a_clear_read_not_granted_is_denied_naming_the_column_the_principal_and_whom_to_ask(checked_lab):
    """The message for a clear value refused (the store refusing a vault read): column, product, principal, owner, file."""
    from mesh_platform.catalog.catalog import Catalog
    from mesh_platform.governance.access import clear_denial_message

    contract = Catalog.load(checked_lab.root).product("mesh://crm/people").contract
    assert clear_denial_message(contract, "shop", "name") == (
        "access denied: shop may not read name of mesh://crm/people in clear: name is not unmaskedFor shop; to request access, "
        f"ask its owner (team:crm, owner@example.com) to add shop to unmaskedFor of column name in {contract.file}"
    )


@pytest.mark.parametrize(
    ("arn", "principal"),
    [
        ("arn:aws:iam::123456789012:user/mesh/mesh-shop", "shop"),  # the user mesh deploy access --apply makes
        (
            "arn:aws:sts::123456789012:assumed-role/mesh-web_analytics/botocore-session-1764",
            "web_analytics",
        ),  # a pod's workload identity
        ("arn:aws-cn:sts::123456789012:assumed-role/mesh-crm/eks-pod", "crm"),
        ("arn:aws:iam::123456789012:user/elsewhere/mesh-shop", None),  # outside /mesh/
        ("arn:aws:sts::123456789012:assumed-role/admins/mesh-shop", None),  # a session named like one is no principal
        ("arn:aws:iam::123456789012:role/mesh-shop", None),  # a role itself, never a caller
    ],
)
def test_a_caller_is_a_principal_as_its_user_or_its_role_s_session(arn, principal):
    from mesh_platform.governance.identity import principal_of_arn

    assert principal_of_arn(arn) == principal
