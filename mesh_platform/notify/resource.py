"""The notifier as a Dagster resource: how sensors reach it (its secrets as `EnvVar`s, shown by name only)."""

from __future__ import annotations

import datetime as dt
import logging

import dagster as dg
from pydantic import Field

from mesh_platform.core.clock import Clock
from mesh_platform.core.deployment import FromEnvironment, Notifications, Value
from mesh_platform.notify.notifier import Notifier, SmtpServer


class NotifierResource(dg.ConfigurableResource):
    """Where notices go: the deployment's `notifications` block; with neither endpoint, notifications are off."""

    webhook_url: str | None = Field(
        default=None, description="The webhook each notice is POSTed to as JSON (an EnvVar when read from the environment)."
    )
    smtp_host: str | None = Field(default=None, description="The SMTP server notices are mailed through; unset: no e-mail.")
    smtp_port: int = Field(default=25, description="Its port.")
    smtp_sender: str | None = Field(default=None, description="The From: address.")
    smtp_username: str | None = Field(default=None, description="The SMTP login; unset: none.")
    smtp_password: str | None = Field(default=None, description="Its password (an EnvVar when read from the environment).")
    smtp_starttls: bool = Field(default=False, description="STARTTLS before logging in.")
    warn_days_before_end: int = Field(default=14, description="Days before an agreement ends that its parties are told.")
    now: str | None = Field(
        default=None, description="The time agreements are judged at (ISO 8601, MESH_NOW); unset: the real clock."
    )

    @classmethod
    def of(cls, settings: Notifications | None, now: str | None = None) -> NotifierResource:
        """The resource a deployment's `notifications` block describes (None: off); `now`: the mesh's clock (MESH_NOW)."""
        if settings is None:
            return cls(now=now)
        smtp = settings.smtp
        return cls(
            webhook_url=_dagster_value(settings.webhook.url) if settings.webhook else None,
            smtp_host=smtp.host if smtp else None,
            smtp_port=smtp.port if smtp else 25,
            smtp_sender=smtp.sender if smtp else None,
            smtp_username=smtp.username if smtp else None,
            smtp_password=_dagster_value(smtp.password) if smtp and smtp.password else None,
            smtp_starttls=smtp.starttls if smtp else False,
            warn_days_before_end=settings.warn_days_before_end,
            now=now,
        )

    def today(self) -> dt.date:
        """The day agreements are judged on: the mesh's clock."""
        return Clock.at(self.now).today()

    def notifier(self, logger: logging.Logger | logging.LoggerAdapter | None = None) -> Notifier:
        """The notifier these settings describe, logging to `logger` (a sensor's or a run's log)."""
        server = None
        if self.smtp_host and self.smtp_sender:
            server = SmtpServer(
                self.smtp_host, self.smtp_port, self.smtp_sender, self.smtp_username, self.smtp_password, self.smtp_starttls
            )
        return Notifier(self.webhook_url or None, server, self.warn_days_before_end, **({"logger": logger} if logger else {}))


def _dagster_value(value: Value) -> str:
    """`{env: NAME}` becomes Dagster's `EnvVar`, resolved when the resource is used, never shown."""
    return dg.EnvVar(value.env) if isinstance(value, FromEnvironment) else value
