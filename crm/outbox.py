"""Messages that must reach someone: written in the same transaction as the change that caused
them, delivered later by the outbox dispatcher, at most once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.texts import Text

MAX_TRANSIENT_ATTEMPTS = 8
_BACKOFF_CAP = timedelta(minutes=10)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Button:
    """An inline button: a label and either callback data (≤ 64 bytes) or a URL."""

    label: Text
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either callback data or a URL")
        if self.data is not None and len(self.data.encode()) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


@dataclass(frozen=True)
class OutgoingMessage:
    """A text message for one chat, rendered in ``language`` when it is sent."""

    key: str
    chat_id: int
    text: Text
    language: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    not_before: datetime | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "text": self.text.to_json(),
            "language": self.language,
            "buttons": [
                [
                    {"label": button.label.to_json(), "data": button.data, "url": button.url}
                    for button in row
                ]
                for row in self.buttons
            ],
        }


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, ready to send."""

    id: int
    key: str
    chat_id: int
    payload: dict[str, Any] = field(hash=False)
    attempts: int


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sending: int
    sent: int
    failed: int


def backoff_after(attempts: int) -> timedelta:
    """Delay before retrying a send that failed for a passing reason (5xx, timeout)."""
    return min(timedelta(seconds=2 ** max(attempts, 1)), _BACKOFF_CAP)


def gives_up_after(attempts: int) -> bool:
    return attempts >= MAX_TRANSIENT_ATTEMPTS
