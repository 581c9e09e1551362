"""A notice: one thing that happened, said once, to the people it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

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

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True)
class Notice:
    """What is sent, once: `text` reads on its own (chat, mail); `data` carries the same facts as JSON for machines."""

    kind: NoticeKind
    subject: str
    text: str
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

    def to_json(self) -> dict[str, Any]:
        """The webhook's body: Slack reads `text`; the `mesh` object says the same for other receivers."""
        return {
            "text": f"*{self.subject}*\n{self.text}",
            "mesh": {
                "kind": self.kind,
                "product": self.product,
                "recipients": [r.to_json() for r in self.recipients],
                "data": self.data,
            },
        }
