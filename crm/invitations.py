"""Single-use invitation links: the only way into Kehu apart from the bootstrap admins."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from crm.members import Role

DEEP_LINK_PREFIX = "inv_"
_TOKEN_BYTES = 18  # 24 URL-safe characters
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,60}$")


@dataclass(frozen=True)
class NewInvitation:
    token_hash: str
    role: Role
    team_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Invitation:
    id: int
    role: Role
    team_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_by: int | None
    used_at: datetime | None


@dataclass(frozen=True)
class IssuedInvitation:
    """What the inviter receives: the secret token (shown once, stored only as a hash)."""

    token: str
    role: Role
    team_name: str | None
    expires_at: datetime

    @property
    def start_payload(self) -> str:
        return DEEP_LINK_PREFIX + self.token


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_payload(payload: str) -> str | None:
    """The token inside a ``/start`` payload, or None if it is not an invitation."""
    if not payload.startswith(DEEP_LINK_PREFIX):
        return None
    token = payload[len(DEEP_LINK_PREFIX) :]
    return token if _TOKEN_SHAPE.match(token) else None
