"""Sending a notice: one JSON POST to the webhook, one e-mail to the recipients' addresses.

Delivery never fails the caller (a build, a sensor tick, a command): what could not be sent is logged
and said in the returned `Delivery`.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

from mesh_platform.core.deployment import Notifications, resolved
from mesh_platform.core.json_values import as_json
from mesh_platform.notify.notice import Notice, WebhookBody

LOG = logging.getLogger("mesh_platform.notify")
TIMEOUT_SECONDS = 10  # a slow receiver delays a sensor tick, never blocks it


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class Delivery:
    """What became of one notice: posted to the webhook or not, mailed to whom, and why not where it failed."""

    notice: Notice
    posted: bool = False
    mailed_to: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def delivered(self) -> bool:
        return self.posted or bool(self.mailed_to)

    def describe(self) -> str:
        said = [*(["webhook"] if self.posted else []), *([f"e-mail to {', '.join(self.mailed_to)}"] if self.mailed_to else [])]
        line = f"{self.notice.kind} {self.notice.product or ''}".strip() + f": {', '.join(said) or 'not delivered'}"
        return line + (f" ({'; '.join(self.problems)})" if self.problems else "")


@dataclass(frozen=True)
class Notifier:
    """Sends notices where the deployment says; with neither endpoint it sends nothing (notifications off)."""

    webhook_url: str | None = None
    smtp: SmtpServer | None = None
    warn_days_before_end: int = 14
    logger: logging.Logger | logging.LoggerAdapter = field(default=LOG, compare=False)

    @classmethod
    def of(cls, settings: Notifications | None) -> Notifier:
        """The notifier a deployment's `notifications` block describes ({env: NAME} read now); None: one that is off."""
        if settings is None:
            return cls()
        smtp = settings.smtp
        server = (
            SmtpServer(smtp.host, smtp.port, smtp.sender, smtp.username, resolved(smtp.password), smtp.starttls) if smtp else None
        )
        return cls(resolved(settings.webhook.url) if settings.webhook else None, server, settings.warn_days_before_end)

    @property
    def enabled(self) -> bool:
        return self.webhook_url is not None or self.smtp is not None

    def send(self, notice: Notice) -> Delivery:
        """Post and mail `notice` (each where configured); a failure is logged and returned, never raised."""
        posted, problems = False, []
        mailed: tuple[str, ...] = ()
        if self.webhook_url:
            try:
                self._post(notice)
                posted = True
            except (OSError, urllib.error.URLError, ValueError) as error:
                problems.append(f"webhook: {error}")
        if self.smtp is not None and notice.emails:
            try:
                self._mail(notice, self.smtp)
                mailed = notice.emails
            except (OSError, smtplib.SMTPException) as error:
                problems.append(f"e-mail: {error}")
        delivery = Delivery(notice, posted, mailed, tuple(problems))
        (self.logger.warning if problems else self.logger.info)("notice %s", delivery.describe())
        return delivery

    def _post(self, notice: Notice) -> None:
        body = json.dumps(as_json(WebhookBody(notice)), default=str).encode()
        request = urllib.request.Request(
            self.webhook_url or "", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (the deployment's http(s) URL)
            if response.status >= 300:
                raise ValueError(f"the webhook answered {response.status}")

    def _mail(self, notice: Notice, server: SmtpServer) -> None:
        message = EmailMessage()
        message["Subject"] = f"[mesh] {notice.subject}"
        message["From"] = server.sender
        message["To"] = ", ".join(notice.emails)
        message.set_content(notice.text + (f"\n\nProduct: {notice.product}\n" if notice.product else "\n"))
        with smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS) as connection:
            if server.starttls:
                connection.starttls()
            if server.username:
                connection.login(server.username, server.password or "")
            connection.send_message(message)
