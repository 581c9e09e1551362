"""Who owns a domain or product: `team:<name>` or a person's e-mail address."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh_platform.core.errors import MeshError

_TEAM = re.compile(r"^team:([a-z][a-z0-9_-]*)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Owner:
    text: str
    team: str
    email: str | None

    @classmethod
    def parse(cls, text: str, default_team: str) -> Owner:
        if match := _TEAM.match(text):
            return cls(text, match[1], None)
        if _EMAIL.match(text):
            return cls(text, default_team, text)
        raise MeshError(f"owner '{text}' is neither team:<name> (lowercase) nor an e-mail address")
