"""Notifications: who is told what, through a webhook and e-mail on 127.0.0.1, driven by Dagster's own records."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from mesh_platform.core.deployment import Deployment, DeploymentError
from mesh_platform.notify.notice import Notice, Recipient
from mesh_platform.notify.notifier import Notifier, SmtpServer
from mesh_platform.notify.resource import NotifierResource

from .conftest import column, contract_yaml, free_port, run_mesh

SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: things.csv\n"
ALLOWED = [{"metric": "invalidValues", "arguments": {"validValues": ["anvil", "bucket"]}, "mustBe": 0}]


def sql(inputs: str, query: str) -> str:
    return f"type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: ['{inputs}']\n  sql: {query}\n"


def team(domain: str) -> dict:
    return {"name": domain, "members": [{"username": f"{domain}-owner@example.com", "role": "owner"}]}


@dataclass
class Receivers:
    """A webhook and an SMTP server on 127.0.0.1, and what each received."""

    webhook_url: str
    smtp_port: int
    posts: list[dict] = field(default_factory=list)
    mails: list = field(default_factory=list)

    def wait(self, posts: int, mails: int) -> None:
        """Until the receivers hold that many (a sent mail is handed over before SMTP's reply; its thread appends after)."""
        deadline = time.monotonic() + 5
        while (len(self.posts), len(self.mails)) < (posts, mails) and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def receivers():
    posts: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    class Mailbox:
        def __init__(self):
            self.mails = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append((tuple(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    found = Receivers(f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/SECRET", smtp.port, posts)
    found.mails = mailbox.mails
    try:
        yield found
    finally:
        smtp.stop()
        server.shutdown()
        server.server_close()


def deploy(root: Path, name: str, text: str) -> None:
    (root / "deploy").mkdir(exist_ok=True)
    (root / "deploy" / f"{name}.yaml").write_text(text)


def notifications_on(lab, monkeypatch, receivers: Receivers) -> None:
    monkeypatch.setenv("LAB_WEBHOOK", receivers.webhook_url)
    deploy(
        lab.root,
        "notify",
        f"notifications:\n  webhook: {{url: {{env: LAB_WEBHOOK}}}}\n"
        f"  smtp: {{host: 127.0.0.1, port: {receivers.smtp_port}, sender: mesh@example.com}}\n",
    )
    monkeypatch.setenv("MESH_ENV", "notify")


def tick(lab, domain: str, cursor: str | None) -> tuple[str | None, str]:
    """One evaluation of the domain's notice sensor against the lab's instance, as the daemon runs it: (cursor, what it said)."""
    defs = lab.definitions(domain)
    [sensor] = [s for s in defs.sensors or () if s.name == f"{domain}_notices"]
    with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
        result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources))
    return result.cursor, result.skip_reason.skip_message if result.skip_reason else ""


# Configuration.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "notifications:\n  webhook:\n    url: https://hooks.slack.com/services/T/B/X\n",
            "deploy/bad.yaml:3: notifications.webhook.url: hooks.slack.com is outside this machine",
        ),
        (
            "notifications:\n  webhook:\n    url: ftp://127.0.0.1/x\n",
            "deploy/bad.yaml:3: notifications.webhook.url: the webhook is not an http(s) URL",
        ),
        (
            "notifications:\n  smtp:\n    host: mail.example.com\n    sender: mesh@example.com\n",
            "deploy/bad.yaml:3: notifications.smtp.host: mail.example.com is outside this machine",
        ),
        (
            "notifications:\n  smtp:\n    host: 127.0.0.1\n    sender: nobody\n",
            "deploy/bad.yaml:4: notifications.smtp.sender: String should match pattern",
        ),
        (
            "notifications:\n  warn_days_before_end: -1\n",
            "deploy/bad.yaml:2: notifications.warn_days_before_end: Input should be greater than or equal to 0",
        ),
        (
            "notifications:\n  webhok: {url: http://127.0.0.1}\n",
            "deploy/bad.yaml:2: notifications.webhok: unknown setting 'webhok' (a typo?)",
        ),
    ],
)
def test_a_broken_notifications_block_names_the_file_the_field_and_the_line(tmp_path, text, expected):
    deploy(tmp_path, "bad", text)
    with pytest.raises(DeploymentError) as refused:
        Deployment.load(tmp_path, "bad")
    assert expected in str(refused.value).replace(str(tmp_path) + "/", ""), str(refused.value)


def test_a_remote_endpoint_is_allowed_when_the_block_says_so_and_said(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_HOOK", "https://hooks.slack.com/services/T/B/SECRET")
    deploy(tmp_path, "prod", "notifications:\n  webhook: {url: {env: SLACK_HOOK}}\n  allow_remote: true\n")
    deployment = Deployment.load(tmp_path, "prod")
    assert deployment.notifications.enabled and deployment.notifications.warn_days_before_end == 14
    assert any("notifications.webhook.url: notices go to hooks.slack.com" in w for w in deployment.warnings())
    monkeypatch.delenv("SLACK_HOOK")
    with pytest.raises(Exception, match="notifications.webhook.url: the environment variable SLACK_HOOK is not set"):
        Deployment.load(tmp_path, "prod")


def test_deploy_show_says_where_notices_go_and_no_secret(lab, monkeypatch, receivers):
    lab.add_domain("shop")
    monkeypatch.setenv("LAB_SMTP_PASSWORD", "hunter2")
    notifications_on(lab, monkeypatch, receivers)
    (lab.root / "deploy" / "notify.yaml").write_text(
        f"notifications:\n  webhook: {{url: {{env: LAB_WEBHOOK}}}}\n  smtp: {{host: 127.0.0.1, port: {receivers.smtp_port}, "
        "sender: mesh@example.com, username: mesh, password: {env: LAB_SMTP_PASSWORD}}\n"
    )
    shown = run_mesh("deploy", "show", cwd=lab.root, check=True).stdout
    assert (
        f"webhook: http://127.0.0.1:{receivers.webhook_url.split(':')[2].split('/')[0]}/(path hidden) (from $LAB_WEBHOOK)"
        in shown
    )
    assert "password: from $LAB_SMTP_PASSWORD" in shown and "sender: mesh@example.com" in shown
    assert "SECRET" not in shown and "hunter2" not in shown


# Delivery.


def test_a_notice_is_one_post_and_one_mail_to_the_recipients_with_an_address(receivers):
    notifier = Notifier(receivers.webhook_url, SmtpServer("127.0.0.1", receivers.smtp_port, "mesh@example.com"))
    notice = Notice(
        "check-failed",
        "mesh://shop/things failed x",
        "it failed",
        "mesh://shop/things",
        (Recipient("team:shop"), Recipient("a@example.com", "a@example.com"), Recipient("b@example.com", "b@example.com")),
        {"run_id": "r1"},
    )
    delivery = notifier.send(notice)
    receivers.wait(1, 1)
    assert delivery.posted and delivery.mailed_to == ("a@example.com", "b@example.com") and not delivery.problems
    [post] = receivers.posts
    assert post["text"].startswith("*mesh://shop/things failed x*")
    assert post["mesh"] == {
        "kind": "check-failed",
        "product": "mesh://shop/things",
        "data": {"run_id": "r1"},
        "recipients": [
            {"name": "team:shop", "email": None},
            {"name": "a@example.com", "email": "a@example.com"},
            {"name": "b@example.com", "email": "b@example.com"},
        ],
    }
    [(to, mail)] = receivers.mails
    assert to == ("a@example.com", "b@example.com") and mail["Subject"] == "[mesh] mesh://shop/things failed x"
    # Nobody with an address: no e-mail. A receiver that is down: said, never raised.
    assert notifier.send(Notice("late", "s", "t", None, (Recipient("team:shop"),))).mailed_to == ()
    down = Notifier(f"http://127.0.0.1:{free_port()}/x").send(notice)
    assert not down.delivered and "webhook:" in down.problems[0]


def test_notifications_are_off_without_the_block(lab, receivers):
    lab.add_domain("shop")
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", [column("name", quality=ALLOWED)]))
    defs = lab.definitions("shop")
    assert [s.name for s in defs.sensors] == ["shop_products_on_schedule"]  # no notice sensor ticking for nothing
    assert "mesh_notifier" not in defs.resources
    assert not NotifierResource.of(None).notifier().enabled
    assert not Notifier.of(None).send(Notice("late", "s", "t", None, (Recipient("a@example.com", "a@example.com"),))).delivered
    assert receivers.posts == [] and receivers.mails == []


# Check failures and lateness, through Dagster.


@pytest.fixture
def watched(lab, monkeypatch, receivers):
    """shop/things (a blocking rule on `name`) read by shop/names and crm/labels; web/other reads nothing of it."""
    for domain in ("shop", "crm", "web"):
        lab.add_domain(domain)
    lab.add_product(
        "shop",
        "things",
        SOURCE,
        contract_yaml("shop", "things", [column("id", "integer"), column("name", quality=ALLOWED)], team=team("shop")),
    )
    lab.add_product(
        "shop",
        "names",
        sql("mesh://shop/things as things", "SELECT upper(name) AS name FROM things"),
        contract_yaml("shop", "names", [column("name")], team=team("shop")),
    )
    lab.add_product(
        "crm",
        "labels",
        sql("mesh://shop/things as things", "SELECT name AS label FROM things"),
        contract_yaml("crm", "labels", [column("label")], team=team("crm")),
    )
    lab.add_product("web", "other", SOURCE, contract_yaml("web", "other", [column("id", "integer")], team=team("web")))
    notifications_on(lab, monkeypatch, receivers)
    return lab


@pytest.mark.slow
def test_a_failing_blocking_check_tells_owner_and_consumers_once_across_a_retry_and_again_after_a_pass(watched, receivers):
    lab = watched
    cursor, said = tick(lab, "shop", None)
    assert said == "nothing to tell"
    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,crate\n")
    assert not lab.materialize("shop", "things", raise_on_error=False).success
    cursor, said = tick(lab, "shop", cursor)
    receivers.wait(1, 1)
    [post] = receivers.posts
    assert post["mesh"]["kind"] == "check-failed" and post["mesh"]["product"] == "mesh://shop/things"
    assert [r["name"] for r in post["mesh"]["recipients"]] == [
        "team:shop",
        "shop-owner@example.com",
        "team:crm",
        "crm-owner@example.com",
    ]
    assert post["mesh"]["data"]["consumers"] == ["mesh://crm/labels", "mesh://shop/names"]
    [(to, mail)] = receivers.mails
    assert to == ("shop-owner@example.com", "crm-owner@example.com") and "crate" in post["text"] + mail.get_content()
    assert "web-owner@example.com" not in json.dumps(post)

    assert not lab.materialize("shop", "things", raise_on_error=False).success  # a retry: the same failure
    cursor, said = tick(lab, "shop", cursor)
    assert said == "nothing to tell" and len(receivers.posts) == 1 and len(receivers.mails) == 1

    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,bucket\n")
    assert lab.materialize("shop", "things").success
    cursor, said = tick(lab, "shop", cursor)
    assert said == "nothing to tell"

    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,crate\n")
    assert not lab.materialize("shop", "things", raise_on_error=False).success
    cursor, said = tick(lab, "shop", cursor)
    receivers.wait(2, 2)
    assert len(receivers.posts) == 2 and len(receivers.mails) == 2, said
    assert "check-failed mesh://shop/things: webhook, e-mail to shop-owner@example.com, crm-owner@example.com" in said


def test_a_late_product_is_told_once_until_it_is_on_time_again(watched, receivers):
    # What Dagster's freshness daemon records when a product's FreshnessPolicy changes state; the instance takes it
    # through its public report_runless_asset_event, but the record type has no public import.
    from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

    lab = watched
    key = dg.AssetKey(["shop", "things"])

    def becomes(state: FreshnessState, before: FreshnessState) -> None:
        with dg.DagsterInstance.from_config(str(lab.settings.dagster_home)) as instance:
            instance.report_runless_asset_event(
                FreshnessStateChange(key=key, new_state=state, previous_state=before, state_change_timestamp=time.time())
            )

    becomes(FreshnessState.FAIL, FreshnessState.WARN)
    cursor, said = tick(lab, "shop", None)
    receivers.wait(1, 1)
    [post] = receivers.posts
    assert post["mesh"]["kind"] == "late" and "frequency" in post["text"]
    assert [r["name"] for r in post["mesh"]["recipients"]] == [
        "team:shop",
        "shop-owner@example.com",
        "team:crm",
        "crm-owner@example.com",
    ]
    cursor, said = tick(lab, "shop", cursor)
    assert said == "nothing to tell"
    becomes(FreshnessState.PASS, FreshnessState.FAIL)
    cursor, said = tick(lab, "shop", cursor)
    becomes(FreshnessState.FAIL, FreshnessState.PASS)
    cursor, said = tick(lab, "shop", cursor)
    receivers.wait(2, 2)
    assert len(receivers.posts) == 2 and said.startswith("late mesh://shop/things")


# Breaking changes.


@pytest.mark.slow
def test_a_new_major_tells_exactly_the_consumers_reading_the_changed_columns(lab, monkeypatch, receivers):
    for domain in ("shop", "crm", "web"):
        lab.add_domain(domain)
    v1 = [column("id", "integer"), column("name")]
    lab.add_product("shop", "things", SOURCE, contract_yaml("shop", "things", v1, team=team("shop")))
    lab.add_product(
        "crm",
        "labels",
        sql("mesh://shop/things@v1 as things", "SELECT name AS label FROM things"),
        contract_yaml("crm", "labels", [column("label")], team=team("crm")),
    )
    lab.add_product(
        "web",
        "ids",
        sql("mesh://shop/things@v1 as things", "SELECT id FROM things"),
        contract_yaml("web", "ids", [column("id", "integer")], team=team("web")),
    )
    lab.land("shop", "things.csv", "id,name\n1,anvil\n2,bucket\n")
    lab.add_domain("ads")  # reads shop/things under agreements only: ads the names, web the ids
    lab.add_product("ads", "notes", SOURCE, contract_yaml("ads", "notes", [column("id", "integer")], team=team("ads")))
    for reader, columns in (("ads", "id,name"), ("web", "id")):
        agreement = run_mesh(
            "access",
            "request",
            "mesh://shop/things",
            "--as",
            reader,
            "--columns",
            columns,
            "--purpose",
            "labels",
            "-q",
            cwd=lab.root,
            check=True,
        ).stdout.strip()
        run_mesh("access", "approve", agreement, "--as", "shop", cwd=lab.root, check=True)
    notifications_on(lab, monkeypatch, receivers)
    assert lab.materialize("shop").success
    cursor, said = tick(lab, "shop", None)
    assert said == "nothing to tell"

    until = dt.date.today() + dt.timedelta(days=40)
    custom = [{"property": "access", "value": "public"}, {"property": "servePreviousMajorUntil", "value": until.isoformat()}]
    v2 = [column("id", "integer"), column("title", "string", description="The thing's title.")]  # `name` removed
    (lab.root / lab.package / "shop/defs/things/contract.yaml").write_text(
        contract_yaml("shop", "things", v2, version="2.0.0", customProperties=custom, team=team("shop"))
    )
    lab.land("shop", "things.csv", "id,title\n1,Anvil\n2,Bucket\n")
    assert lab.materialize("shop", "things").success
    cursor, said = tick(lab, "shop", cursor)
    receivers.wait(1, 1)
    [post] = receivers.posts
    mesh = post["mesh"]
    assert mesh["kind"] == "breaking-change" and mesh["product"] == "mesh://shop/things"
    # web/ids reads only `id`, and so does web's agreement; ads' agreement covers `name`.
    assert [r["name"] for r in mesh["recipients"]] == ["team:crm", "crm-owner@example.com", "team:ads", "ads-owner@example.com"]
    assert mesh["data"]["consumers"] == ["mesh://crm/labels"] and mesh["data"]["served_until"] == until.isoformat()
    assert mesh["data"]["agreements"] == ["ads"]
    assert f"mesh://shop/things@v1 (1.0.0) stays served until {until.isoformat()}" in post["text"]
    [(to, _)] = receivers.mails
    assert to == ("crm-owner@example.com", "ads-owner@example.com")

    assert lab.materialize("shop", "things").success  # the next build of v2 is no news
    cursor, said = tick(lab, "shop", cursor)
    assert said == "nothing to tell" and len(receivers.posts) == 1
    assert os.environ["MESH_ENV"] == "notify"
