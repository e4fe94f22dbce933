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


class ChartKind(StrEnum):
    BAR = "bar"
    GROUPED_BAR = "grouped_bar"
    FUNNEL = "funnel"


@dataclass(frozen=True)
class Chart:
    """A chart described, not drawn: the sender renders it to PNG (in the reader's language,
    with the CJK font) when the message goes out. ``series`` holds one (name, values) per
    series, the values in the order of ``labels``."""

    kind: ChartKind
    title: Text
    labels: tuple[str, ...]
    series: tuple[tuple[Text, tuple[float, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "title": self.title.to_json(),
            "labels": list(self.labels),
            "series": [
                {"name": name.to_json(), "values": list(values)} for name, values in self.series
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chart:
        return cls(
            kind=ChartKind(data["kind"]),
            title=Text.from_json(data["title"]),
            labels=tuple(str(label) for label in data["labels"]),
            series=tuple(
                (Text.from_json(entry["name"]), tuple(float(v) for v in entry["values"]))
                for entry in data["series"]
            ),
        )


@dataclass(frozen=True)
class OutgoingMessage:
    """A message for one chat, rendered in ``language`` when it is sent: ``text`` followed by
    ``lines`` (one per line), or, with a ``chart``, a picture with that text as its caption.
    With ``replaces`` (the id of a text message the bot sent to that chat, such as
    "importing…"), that message is edited into this one; a new message is sent instead if it
    can no longer be edited."""

    key: str
    chat_id: int
    text: Text
    language: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    not_before: datetime | None = None
    lines: tuple[Text, ...] = ()
    chart: Chart | None = None
    replaces: int | None = None

    def __post_init__(self) -> None:
        if self.replaces is not None and self.chart is not None:
            raise ValueError("a chart is a new message: it cannot replace a text message")

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
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
        if self.lines:
            payload["lines"] = [line.to_json() for line in self.lines]
        if self.chart is not None:
            payload["chart"] = self.chart.to_json()
        if self.replaces is not None:
            payload["replaces"] = self.replaces
        return payload


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
