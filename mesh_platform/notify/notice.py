"""A notice: one thing that happened, said once, to the people it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

NoticeKind = Literal[
    "access-requested",
    "access-approved",
    "access-denied",
    "agreement-ending",
    "agreement-ended",
    "breaking-change",
    "check-failed",
    "late",
]
NOTICE_KINDS: tuple[str, ...] = get_args(NoticeKind)  # one spelling: the Literal's


@dataclass(frozen=True, order=True)
class Recipient:
    """Someone told: a principal, a team (`team:<name>`) or a person; `email` where they have an address."""

    name: str
    email: str | None = None


@dataclass(frozen=True)
class Notice:
    """What is sent, once: `text` reads on its own (chat, mail); `data` carries the same facts as JSON for machines."""

    kind: NoticeKind
    subject: str = field(metadata={"json_name": None})  # in the webhook body's text
    text: str = field(metadata={"json_name": None})
    product: str | None  # the product's address, or None for a notice about no one product
    recipients: tuple[Recipient, ...]
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"'{self.kind}' is no notice kind ({', '.join(NOTICE_KINDS)})")

    @property
    def emails(self) -> tuple[str, ...]:
        """The recipients' e-mail addresses, each once, in order."""
        return tuple(dict.fromkeys(r.email for r in self.recipients if r.email))


@dataclass(frozen=True)
class WebhookBody:
    """A notice as a webhook receives it: Slack reads `text`; the `mesh` object says the same for other receivers."""

    notice: Notice = field(metadata={"json_name": "mesh"})
    json_properties: ClassVar[tuple[str, ...]] = ("text",)

    @property
    def text(self) -> str:
        return f"*{self.notice.subject}*\n{self.notice.text}"
