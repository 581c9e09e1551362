"""Store policies rendered from the demo mesh's contracts, evaluated by a real IAM policy evaluator.

The evaluator is moto's own (`moto.iam.access_control.IAMPolicy`, what its server runs for every
request), in process. Two additions, both for AWS semantics moto's class lacks: the `StringLike`
condition operator (moto evaluates `StringEquals` only, and ignores others), and an Allow statement
whose condition does not hold does not apply (moto's class answers DENIED for it; AWS skips it).
"""

import datetime as dt
import json
import re
import stat

import pytest
from moto.iam import access_control, policy_conditions

from mesh_platform import MeshContext, MeshSettings
from mesh_platform.core.errors import AccessDeniedError
from mesh_platform.governance.access import decide
from mesh_platform.governance.store_policies import Prefix, StoreLayout, render_policies, served_majors

from .conftest import REPO, run_mesh

LAYOUT = StoreLayout(Prefix("mesh-data", "prod/ports"), Prefix("mesh-data", "prod/vault"), Prefix("mesh-raw", "prod"))
TODAY = dt.date(2026, 12, 1)


def _string_like(expected, actual: str) -> bool:
    patterns = expected if isinstance(expected, list) else [expected]
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), actual) for p in patterns)


@pytest.fixture
def evaluator(monkeypatch):
    monkeypatch.setitem(policy_conditions.CONDITION_OPERATIONS, "StringLike", _string_like)

    def allowed(document: dict, action: str, resource: str, prefix: str | None = None) -> bool:
        context = {"s3:prefix": prefix} if prefix is not None else None
        permitted = False
        for statement in document["Statement"]:
            result = access_control.IAMPolicy(json.dumps({"Statement": [statement]})).is_action_permitted(
                action, resource, None, context
            )
            if result == access_control.PermissionResult.DENIED and statement["Effect"] == "Deny":
                return False
            permitted |= result == access_control.PermissionResult.PERMITTED
        return permitted

    return allowed


@pytest.fixture(scope="module")
def demo():
    view = MeshContext(MeshSettings(root=REPO, home=REPO / ".mesh")).view  # nothing under MESH_HOME is read
    catalog, principals = view.catalog, view.readers.names
    assert {"campaign_dashboards", "analysts"} <= set(principals)  # the demo's declared consumers, beside its domains
    return catalog, {p.principal: p for p in render_policies(catalog, principals, LAYOUT, TODAY)}


def obj(prefix: Prefix, key: str) -> str:
    return f"arn:aws:s3:::{prefix.bucket}/{prefix.key}/{key}"


def test_the_evaluator_is_the_real_one(evaluator):
    """What the tests below rely on, shown on moto's evaluator: wildcards, explicit Deny, s3:prefix conditions."""
    allow = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/a/*"]},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::b",
                "Condition": {"StringLike": {"s3:prefix": ["a/*"]}},
            },
        ]
    }
    assert evaluator(allow, "s3:GetObject", "arn:aws:s3:::b/a/x/y") and not evaluator(
        allow, "s3:GetObject", "arn:aws:s3:::b/ab/x"
    )
    assert not evaluator(allow, "s3:PutObject", "arn:aws:s3:::b/a/x")
    assert evaluator(allow, "s3:ListBucket", "arn:aws:s3:::b", "a/_delta_log/")
    assert not evaluator(allow, "s3:ListBucket", "arn:aws:s3:::b", "c/") and not evaluator(
        allow, "s3:ListBucket", "arn:aws:s3:::b", "a"
    )
    deny = {"Statement": [*allow["Statement"], {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/a/secret/*"}]}
    assert not evaluator(deny, "s3:GetObject", "arn:aws:s3:::b/a/secret/k")


def test_every_principal_reads_exactly_what_decide_grants_and_writes_only_its_own_prefixes(demo, evaluator):
    catalog, policies = demo
    assert set(catalog.domains) <= set(policies) and "planning" in policies
    for principal, policy in policies.items():
        document = policy.document()
        for product in catalog.products.values():
            contract = product.contract
            owner = contract.domain == principal
            try:
                decision = decide(contract, principal)
                granted = True
            except AccessDeniedError:
                decision, granted = None, False
            for major in range(contract.major + 2):
                port = LAYOUT.port(contract.domain, contract.name, major)
                readable = owner or (granted and major in served_majors(product, TODAY))
                for key in ("_delta_log/00000000000000000000.json", "part-00001.parquet"):
                    assert evaluator(document, "s3:GetObject", obj(port, key)) == readable, (principal, str(port), key)
                assert evaluator(document, "s3:ListBucket", f"arn:aws:s3:::{port.bucket}", f"{port.key}/_delta_log/") == readable
                assert evaluator(document, "s3:GetObject", f"arn:aws:s3:::{port.bucket}/{port.key}.applied/x.parquet") == owner
                for action in ("s3:PutObject", "s3:DeleteObject"):
                    assert evaluator(document, action, obj(port, "_delta_log/00000000000000000001.json")) == owner, (
                        principal,
                        action,
                        str(port),
                    )
            for column in contract.columns:
                if not column.is_personal:
                    continue
                clear = owner or (decision is not None and column.name in decision.clear)
                table = LAYOUT.clear_column(contract.domain, contract.name, column.name)
                assert evaluator(document, "s3:GetObject", obj(table, "part-0.parquet")) == clear, (principal, str(table))
                assert evaluator(document, "s3:PutObject", obj(table, "_delta_log/00000000000000000001.json")) == owner
        for domain in catalog.domains:
            mine = domain == principal
            for own in LAYOUT.own(domain):
                assert evaluator(document, "s3:PutObject", obj(own, "new/file")) == mine, (principal, str(own))
                assert evaluator(document, "s3:ListBucket", f"arn:aws:s3:::{own.bucket}", f"{own.key}/") == mine
        for outside in ("prod/other/x", "prod/ports/x", "prod/vault/x", "elsewhere/x"):
            assert not evaluator(document, "s3:GetObject", f"arn:aws:s3:::mesh-data/{outside}")
        assert not evaluator(document, "s3:ListBucket", "arn:aws:s3:::mesh-data", "")


def test_the_demo_s_grants_show_in_its_policies(demo, evaluator):
    """customers/profiles is public with e-mails in clear for marketing; marketing/campaign_audience is restricted to planning."""
    _, policies = demo
    email = LAYOUT.clear_column("customers", "profiles", "email")
    assert evaluator(policies["marketing"].document(), "s3:GetObject", obj(email, "part-0.parquet"))
    assert not evaluator(policies["planning"].document(), "s3:GetObject", obj(email, "part-0.parquet"))
    audience = LAYOUT.port("marketing", "campaign_audience", 1)
    assert evaluator(policies["planning"].document(), "s3:GetObject", obj(audience, "_delta_log/00000000000000000000.json"))
    assert not evaluator(policies["sales"].document(), "s3:GetObject", obj(audience, "_delta_log/00000000000000000000.json"))
    assert "mesh://marketing/campaign_audience@v1" in policies["planning"].granted


def test_mesh_deploy_access_writes_one_owner_only_policy_per_principal(mesh_home, tmp_path, monkeypatch):
    monkeypatch.delenv("MESH_LANDING")  # the landing zone of deploy/prod.yaml, on the object store
    folder = tmp_path / "access"
    result = run_mesh("deploy", "access", "--env", "prod", "--output", str(folder), "--json", check=True)
    written = json.loads(result.stdout)["policies"]
    assert {w["principal"] for w in written} >= {"customers", "marketing", "planning", "sales", "web_analytics"}
    for item in written:
        file = folder / f"{item['principal']}.json"
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert json.loads(file.read_text())["Version"] == "2012-10-17"
    sales = json.loads((folder / "sales.json").read_text())
    own = next(s for s in sales["Statement"] if s["Sid"] == "ReadWriteOwnPrefixes")
    assert own["Resource"] == [
        "arn:aws:s3:::mesh-data/prod/ports/sales/*",
        "arn:aws:s3:::mesh-data/prod/vault/sales/*",
        "arn:aws:s3:::mesh-raw/prod/sales/*",
    ]


def test_policies_need_an_object_store_and_kubernetes_is_never_applied(mesh_home, tmp_path):
    local = run_mesh("deploy", "access", "--output", str(tmp_path / "a"))
    assert local.returncode == 1 and "store policies are for ports on an object store (s3://bucket/prefix)" in local.stderr
    applied = run_mesh("deploy", "access", "--env", "prod", "--output", str(tmp_path / "b"), "--apply")
    assert applied.returncode == 1
    assert "runs on Kubernetes: its store policies are written as files" in applied.stderr
