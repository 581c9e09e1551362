"""Usage agreements: a consumer asks (`mesh access request`), the owner approves, denies or revokes, the grant lands in
the contract with the agreement's id, and every read checks the agreement is in force (the clock: MESH_NOW)."""

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from mesh_platform import AccessDeniedError, read_product

from . import test_access, test_notify
from .conftest import run_mesh
from .test_access import keyed_hash

crm = test_access.crm  # the fixture: crm's people (public), partners (restricted to shop) and notes (internal), built
receivers = test_notify.receivers  # the fixture: a webhook and an SMTP server on 127.0.0.1, and what each received

TODAY = dt.date.today()


def mesh(*args: str, now: dt.date | None = None, check: bool = True):
    """`mesh ARGS…` in this process, the mesh's clock at `now` (default: the real one)."""
    import os

    env = {**os.environ, **({"MESH_NOW": f"{now.isoformat()}T12:00:00+00:00"} if now else {})}
    return run_mesh(*args, env=env, check=check)


def refused(result, expected: str) -> str:
    """The one error line a refused command printed (after the notice that --as is unverified here)."""
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if not line.startswith("acting as ")]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert expected in errors[0], errors[0]
    return errors[0]


def contract_of(lab, product: str) -> dict:
    return yaml.safe_load((lab.root / lab.package / "crm" / "defs" / product / "contract.yaml").read_text())


def custom(document: dict) -> dict:
    return {p["property"]: p["value"] for p in document.get("customProperties") or []}


def column_custom(document: dict, name: str) -> dict:
    column = next(c for c in document["schema"][0]["properties"] if c["name"] == name)
    return {p["property"]: p["value"] for p in column.get("customProperties") or []}


def test_a_request_approved_grants_the_clear_column_until_its_end_then_the_read_is_denied_naming_it(crm, monkeypatch):
    end = TODAY + dt.timedelta(days=30)
    contract_file = crm.root / crm.package / "crm" / "defs" / "people" / "contract.yaml"
    contract_file.write_text("# The people crm knows: reviewed by the crm team.\n" + contract_file.read_text())

    requested = json.loads(
        mesh(
            "access",
            "request",
            "mesh://crm/people",
            "--as",
            "ads",
            "--purpose",
            "Mail the spring campaign",
            "--clear",
            "email",
            "--until",
            end.isoformat(),
            "--json",
        ).stdout
    )
    assert requested["status"] == "requested" and requested["consumer"] == "ads" and requested["clear"] == ["email"]
    request_file = crm.root / crm.package / "ads" / "agreements" / f"{requested['id']}.yaml"
    assert requested["file"] == str(request_file) and request_file.is_file()  # in the consumer's own folder: a pull request
    waiting = json.loads(mesh("access", "requests", "--owner", "crm", "--json").stdout)["agreements"]
    assert [(a["id"], a["purpose"], a["age_days"]) for a in waiting] == [(requested["id"], "Mail the spring campaign", 0)]
    assert json.loads(mesh("access", "requests", "--owner", "shop", "--json").stdout)["agreements"] == []

    # Before approval the e-mail reaches ads as a token.
    assert list(read_product("mesh://crm/people", consumer="ads")["email"]) == [
        keyed_hash("ada@example.com"),
        keyed_hash("grace@example.com"),
    ]

    approved = json.loads(
        mesh("access", "approve", requested["id"], "--as", "crm", "--note", "for the spring campaign only", "--json").stdout
    )
    assert approved["status"] == "active" and approved["decided_by"].startswith("crm (") and approved["end"] == end.isoformat()
    document = contract_of(crm, "people")
    assert custom(document)["agreements"] == [requested["id"]]
    assert column_custom(document, "email")["unmaskedFor"] == ["ads"]
    assert contract_file.read_text().startswith("# The people crm knows: reviewed by the crm team.\n")  # comments kept
    assert mesh("check").returncode == 0

    assert list(read_product("mesh://crm/people", consumer="ads")["email"]) == ["ada@example.com", "grace@example.com"]

    # A week before the end mesh check warns; after the end it fails, and the read is denied naming the agreement.
    warned = mesh("check", now=end - dt.timedelta(days=7))
    assert (
        warned.returncode == 0
        and f"agreement {requested['id']} (ads reads mesh://crm/people) ends on {end}, in 7 days" in warned.stdout
    )
    ended = mesh("check", now=end + dt.timedelta(days=1), check=False)
    assert ended.returncode == 1 and f"ads's grant comes from agreement {requested['id']}, which ended on {end}" in ended.stdout
    monkeypatch.setenv("MESH_NOW", f"{end + dt.timedelta(days=1)}T08:00:00+00:00")
    with pytest.raises(AccessDeniedError) as denied:
        read_product("mesh://crm/people", consumer="ads")
    assert str(denied.value).startswith(
        f"access denied: ads may not read mesh://crm/people: its agreement {requested['id']} ended on {end}"
    )
    assert "mesh access request mesh://crm/people --as ads" in str(denied.value)
    monkeypatch.setenv("MESH_NOW", f"{end}T23:00:00+00:00")  # its last day is still in force
    assert list(read_product("mesh://crm/people", consumer="ads")["email"]) == ["ada@example.com", "grace@example.com"]


def test_an_internal_product_approved_becomes_restricted_to_the_consumer_and_revoked_internal_again(crm):
    with pytest.raises(AccessDeniedError):
        read_product("mesh://crm/notes", consumer="ads")
    agreement = json.loads(
        mesh(
            "access",
            "request",
            "mesh://crm/notes",
            "--as",
            "ads",
            "--purpose",
            "Join notes to leads",
            "--columns",
            "id,city",
            "--json",
        ).stdout
    )["id"]
    mesh("access", "approve", agreement, "--as", "crm")
    assert custom(contract_of(crm, "notes")) == {"access": "restricted", "consumers": ["ads"], "agreements": [agreement]}
    seen = read_product("mesh://crm/notes", consumer="ads")
    assert list(seen.columns) == ["id", "city"]  # the columns the agreement covers, no others
    queried = mesh("query", "--as", "ads", "SELECT name FROM crm.notes", check=False)
    refused(queried, f"access denied: ads may not read name of mesh://crm/notes: its agreement {agreement} covers city, id only")

    revoked = json.loads(mesh("access", "revoke", agreement, "--as", "crm", "--note", "the join is done", "--json").stdout)
    assert revoked["status"] == "revoked"
    assert custom(contract_of(crm, "notes")) == {"access": "internal"}
    with pytest.raises(AccessDeniedError, match="it is internal to the crm domain"):
        read_product("mesh://crm/notes", consumer="ads")
    assert json.loads(mesh("access", "requests", "--all", "--json").stdout)["agreements"][0]["state"] == "revoked"


def test_a_denied_request_grants_nothing_and_says_why(crm):
    agreement = json.loads(
        mesh("access", "request", "mesh://crm/partners", "--as", "ads", "--purpose", "Resell the list", "--json").stdout
    )["id"]
    refused(mesh("access", "deny", agreement, "--as", "crm", "--note", " ", check=False), "--note: say why the request is denied")
    denied = json.loads(
        mesh("access", "deny", agreement, "--as", "crm", "--note", "partners are not for resale", "--json").stdout
    )
    assert (denied["status"], denied["note"]) == ("denied", "partners are not for resale")
    assert "agreements" not in custom(contract_of(crm, "partners"))
    with pytest.raises(AccessDeniedError):
        read_product("mesh://crm/partners", consumer="ads")
    refused(mesh("access", "approve", agreement, "--as", "crm", check=False), f"{agreement} is denied by crm (")


def test_what_cannot_be_asked_or_decided_is_refused_in_one_line(crm):
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    refused(mesh("access", "request", "mesh://crm/nobody", "--as", "ads", "--purpose", "x", check=False), "nobody")
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "crm", "--purpose", "x", check=False),
        "crm owns mesh://crm/people: its own domain reads it without an agreement",
    )
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "ads", "--purpose", "x", "--until", past, check=False),
        f"--until {past}: that day has passed",
    )
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "ads", "--purpose", "x", "--clear", "city", check=False),
        "--clear city: not personal in mesh://crm/people",
    )
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "ads", "--purpose", "x", "--columns", "shoe_size", check=False),
        "has no column shoe_size",
    )
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "ghost", "--purpose", "x", check=False),
        "'ghost' is no principal of the mesh",
    )
    agreement = json.loads(mesh("access", "request", "mesh://crm/people", "--as", "ads", "--purpose", "x", "--json").stdout)["id"]
    refused(
        mesh("access", "request", "mesh://crm/people", "--as", "ads", "--purpose", "y", check=False),
        f"request {agreement} waits for its owner",
    )
    refused(
        mesh("access", "approve", agreement, "--as", "shop", check=False),
        f"shop may not approve {agreement}: mesh://crm/people is the crm domain's",
    )
    refused(
        mesh("access", "approve", agreement, "--as", "crm", "--until", past, check=False), f"--until {past}: that day has passed"
    )
    refused(
        mesh("access", "approve", "ads-people-000000", "--as", "crm", check=False),
        f"no agreement 'ads-people-000000' in the mesh — requests waiting: {agreement}",
    )
    refused(
        mesh("access", "revoke", agreement, "--as", "crm", check=False),
        f"{agreement} is requested: only active agreements can be revoked",
    )


def test_a_broken_agreement_file_is_named_by_mesh_check_and_never_breaks_a_read(crm):
    folder = crm.root / crm.package / "ads" / "agreements"
    folder.mkdir()
    (folder / "ads-people-abcdef.yaml").write_text(
        "id: ads-people-abcdef\nproduct: mesh://crm/people\nconsumer: ads\nstatus: maybe\n"
    )
    checked = mesh("check", check=False)
    assert checked.returncode == 1
    assert f"{folder / 'ads-people-abcdef.yaml'}:4: status: status 'maybe' is unknown" in checked.stdout
    assert len(read_product("mesh://crm/people", consumer="ads")) == 2


def test_agreements_show_in_mesh_show_on_the_asset_in_the_exported_contract_and_in_the_audit(crm, monkeypatch):
    import jsonschema

    from mesh_platform.contract.loading import odcs_json_schema

    end = TODAY + dt.timedelta(days=30)
    agreement = json.loads(
        mesh(
            "access",
            "request",
            "mesh://crm/people",
            "--as",
            "ads",
            "--purpose",
            "Mail the spring campaign",
            "--clear",
            "email",
            "--until",
            end.isoformat(),
            "--json",
        ).stdout
    )["id"]
    mesh("access", "approve", agreement, "--as", "crm")

    shown = json.loads(mesh("show", "mesh://crm/people", "--json").stdout)["agreements"]
    assert [(a["id"], a["consumer"], a["purpose"], a["clear"], a["end"], a["state"]) for a in shown] == [
        (agreement, "ads", "Mail the spring campaign", ["email"], end.isoformat(), "active")
    ]
    assert (
        f"ads: Mail the spring campaign (every column; in clear: email; until {end}; active, {agreement})"
        in mesh("show", "mesh://crm/people").stdout
    )

    exported = yaml.safe_load(mesh("contract", "export", "mesh://crm/people").stdout)
    jsonschema.Draft201909Validator(odcs_json_schema()).validate(exported)  # what datacontract-cli lints against
    [usage] = [p["value"] for p in exported["customProperties"] if p["property"] == "usageAgreements"]
    assert usage == [
        {
            "id": agreement,
            "consumer": "ads",
            "purpose": "Mail the spring campaign",
            "columns": [],
            "clear": ["email"],
            "start": TODAY.isoformat(),
            "end": end.isoformat(),
        }
    ]

    spec = next(s for s in crm.definitions("crm").resolve_all_asset_specs() if s.key.path[-1] == "people")
    table = spec.metadata["mesh/consumers"].value  # the asset page: who depends on it, why, until when
    assert f"| ads | Mail the spring campaign | every column | email | {TODAY} | {end} | active | {agreement} |" in table

    audited = json.loads(mesh("access", "audit", "--json").stdout)
    assert [a["id"] for a in audited["unused_agreements"]] == [agreement]  # approved, never read yet
    read_product("mesh://crm/people", consumer="ads")
    read_product("mesh://crm/partners", consumer="shop")  # restricted to shop by hand: no agreement
    audited = json.loads(mesh("access", "audit", "--since", "7d", "--json").stdout)
    assert audited["unused_agreements"] == []
    assert [(r["consumer"], r["product"], r["access"], r["reads"]) for r in audited["reads_without_agreement"]] == [
        ("shop", "mesh://crm/partners", "restricted", 1)
    ]
    ended = json.loads(mesh("access", "audit", "--json", now=end + dt.timedelta(days=2)).stdout)["grants_of_ended_agreements"]
    assert [(g["id"], g["state"], g["end"]) for g in ended] == [(agreement, "ended", end.isoformat())]
    assert "grants whose agreement has ended (1)" in mesh("access", "audit", now=end + dt.timedelta(days=2)).stdout


@pytest.mark.slow
def test_the_readme_ask_for_access_walkthrough_runs_as_written_on_the_demo_mesh(mesh_copy):
    import os
    import re
    import subprocess
    import sys

    from .test_readme import generated_block

    block = re.search(r"```bash\n(.*?)```", generated_block("readme-agreements"), re.DOTALL).group(1)
    env = {**mesh_copy.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # mesh on PATH
    env.pop("MESH_NOW", None)
    ran = subprocess.run(["bash", "-e", "-c", block], cwd=mesh_copy.root, env=env, capture_output=True, text=True, timeout=900)
    said = ran.stdout + ran.stderr
    assert ran.returncode == 0, said
    [agreement] = re.findall(r"approved (planning-profiles-[0-9a-f]{6})", said)
    end = TODAY + dt.timedelta(days=30)
    assert re.search(r"invited\s*\n.*\n?\s*[1-9]\d*", said), said  # the e-mails in clear: they hold an @
    assert (
        f"planning: Invite Japanese customers to the forecast survey (every column; in clear: email; until {end}; "
        f"active, {agreement})" in said
    )
    assert f"agreement {agreement} (planning reads mesh://customers/profiles) ends on {end}, in 7 days" in said
    assert f"access denied: planning may not read mesh://customers/profiles: its agreement {agreement} ended on {end}" in said
    assert "denied, as agreed" in said
    assert f"revoked {agreement}" in said and "agreements no read used (0)" in said
    contract = yaml.safe_load((mesh_copy.root / "domains/customers/defs/profiles/contract.yaml").read_text())
    assert "agreements" not in custom(contract) and column_custom(contract, "email")["unmaskedFor"] == ["marketing"]


@pytest.mark.slow
def test_approving_and_revoking_render_the_store_policies_again_where_the_store_enforces_grants(crm, s3, monkeypatch):
    bucket = s3.deploy_bucket(crm.root, monkeypatch)
    email = f"arn:aws:s3:::{bucket}/mesh/vault/crm/people/email/*"
    with s3.acting_as("ads", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):  # the principal is the store credentials'
        agreement = mesh(
            "access", "request", "mesh://crm/people", "--clear", "email", "--purpose", "Mail the spring campaign", "-q"
        ).stdout.strip()
    with s3.acting_as("crm", "LAB_S3_KEY_ID", "LAB_S3_SECRET"):
        approved = json.loads(mesh("access", "approve", agreement, "--json").stdout)
        policy = (Path(approved["store_policies"]) / "ads.json").read_text()
        assert email in policy  # ads' key may now read the e-mails' clear values, once applied
        said = mesh("access", "revoke", agreement).stdout
        assert "re-rendered the store policies" in said and "deploy access --apply" in said
    assert email not in (Path(approved["store_policies"]) / "ads.json").read_text()


def test_a_consumer_s_sql_sees_only_the_columns_its_agreement_covers(crm):
    from .conftest import column, contract_yaml

    agreement = mesh(
        "access", "request", "mesh://crm/notes", "--as", "ads", "--purpose", "Cities of the notes", "--columns", "id,city", "-q"
    ).stdout.strip()
    mesh("access", "approve", agreement, "--as", "crm")
    sql = (
        "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://crm/notes]\n"
        "  sql: SELECT id, {column} FROM notes\n"
    )
    crm.add_product(
        "ads",
        "note_cities",
        sql.format(column="city"),
        contract_yaml("ads", "note_cities", [column("id", "integer"), column("city")]),
    )
    crm.add_product(
        "ads",
        "note_names",
        sql.format(column="name"),
        contract_yaml("ads", "note_names", [column("id", "integer"), column("name")]),
    )
    checked = mesh("check", check=False)
    assert checked.returncode == 1
    problems = [line for line in checked.stdout.splitlines() if "mesh://ads/" in line]
    assert problems and all("mesh://ads/note_names" in line for line in problems), checked.stdout
    assert any('"name"' in line or "name" in line for line in problems)
    assert crm.materialize("ads", "note_cities").success


@pytest.mark.slow
def test_planning_asks_customers_approves_the_end_passes_and_everyone_concerned_is_told(mesh_copy, receivers, monkeypatch):
    """The issue's end-to-end case on the demo mesh: request → approval → clear e-mails → warned → ended and denied;
    a webhook and an SMTP server on 127.0.0.1 receive each notice, each to the right people."""
    import os

    import dagster as dg

    from mesh_platform.context import MeshContext
    from mesh_platform.runtime.definitions import domain_definitions

    for name, value in mesh_copy.env.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    for name in ("MESH_GLOSSARY", "MESH_LANDING", "DAGSTER_HOME", "MESH_NOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEMO_WEBHOOK", receivers.webhook_url)
    test_notify.deploy(
        mesh_copy.root,
        "notify",
        f"notifications:\n  webhook: {{url: {{env: DEMO_WEBHOOK}}}}\n"
        f"  smtp: {{host: 127.0.0.1, port: {receivers.smtp_port}, sender: mesh@example.com}}\n  warn_days_before_end: 7\n",
    )
    monkeypatch.setenv("MESH_ENV", "notify")
    end = TODAY + dt.timedelta(days=30)

    def at(day: dt.date) -> None:
        monkeypatch.setenv("MESH_NOW", f"{day}T09:00:00+00:00")

    def told(count: int) -> dict:
        receivers.wait(count, count)
        assert len(receivers.posts) == count and len(receivers.mails) == count, (receivers.posts, receivers.mails)
        post, (to, mail) = receivers.posts[-1], receivers.mails[-1]
        names = [r["name"] for r in post["mesh"]["recipients"]]
        return {"kind": post["mesh"]["kind"], "names": names, "to": set(to), "subject": mail["Subject"], "text": post["text"]}

    def tick(cursor: str | None) -> str | None:
        """One evaluation of customers' notice sensor, as the daemon runs it, on the mesh's clock now."""
        context = MeshContext.from_env(root=mesh_copy.root)
        defs = domain_definitions(mesh_copy.root / "domains" / "customers" / "definitions.py", context=context)
        [sensor] = [s for s in defs.sensors if s.name == "customers_notices"]
        with dg.DagsterInstance.from_config(str(context.settings.ensure_dagster_home())) as instance:
            return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)).cursor

    customers = {"team:customers", "chen.li@example.com"}
    planning = {"team:planning", "george.sato@example.com"}
    requested = json.loads(
        run_mesh(
            "access",
            "request",
            "mesh://customers/profiles",
            "--as",
            "planning",
            "--clear",
            "email",
            "--until",
            end.isoformat(),
            "--purpose",
            "Invite Japanese customers to the forecast survey",
            "--json",
            check=True,
        ).stdout
    )
    notice = told(1)
    assert notice["kind"] == "access-requested" and customers <= set(notice["names"]) and not planning & set(notice["names"])
    assert "chen.li@example.com" in notice["to"] and f"mesh access approve {requested['id']}" in notice["text"]

    run_mesh("access", "approve", requested["id"], "--as", "customers", check=True)
    notice = told(2)
    assert notice["kind"] == "access-approved" and planning <= set(notice["names"]) and not customers & set(notice["names"])
    assert (
        "george.sato@example.com" in notice["to"]
        and notice["subject"] == "[mesh] mesh://customers/profiles: your request was approved"
    )

    emails = read_product("mesh://customers/profiles", consumer="planning")["email"].dropna()
    assert len(emails) > 0 and emails.str.contains("@").all()

    cursor = tick(None)
    assert len(receivers.posts) == 2  # 30 days left: nothing to say yet
    at(end - dt.timedelta(days=7))
    warned = run_mesh("check", check=True).stdout
    assert f"agreement {requested['id']} (planning reads mesh://customers/profiles) ends on {end}, in 7 days" in warned
    cursor = tick(cursor)
    notice = told(3)
    assert notice["kind"] == "agreement-ending" and (customers | planning) <= set(notice["names"])
    assert {"chen.li@example.com", "george.sato@example.com"} <= notice["to"]
    cursor = tick(cursor)
    assert len(receivers.posts) == 3  # told once

    at(end + dt.timedelta(days=1))
    with pytest.raises(AccessDeniedError, match=f"its agreement {requested['id']} ended on {end}"):
        read_product("mesh://customers/profiles", consumer="planning")
    cursor = tick(cursor)
    notice = told(4)
    assert notice["kind"] == "agreement-ended" and (customers | planning) <= set(notice["names"])
    tick(cursor)
    assert len(receivers.posts) == 4 and len(receivers.mails) == 4
