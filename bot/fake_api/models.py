"""Value objects the fake hands to tests: recorded calls, bot messages, buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MessageKind = Literal["text", "photo", "document", "sticker"]

BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": status, ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class ApiRequest:
    """A decoded Bot API call as the method implementations see it."""

    method: str
    params: dict[str, Any]
    uploads: dict[str, Upload] = field(default_factory=dict)
    is_closed: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    body: bytes = field(repr=False)
    content_type: str


@dataclass(frozen=True)
class RecordedCall:
    """One Bot API call as the server saw it; ``status`` 0 means no HTTP answer was sent."""

    method: str
    params: dict[str, Any]
    at: datetime
    token: str
    status: int
    response: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)  # multipart uploads, by part name

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for one button press."""

    query_id: str
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class BotMessage:
    """A snapshot of a message the bot sent.

    ``text`` is the text or caption as the user sees it (HTML parsed), ``raw_text`` as sent;
    ``document`` holds the file bytes of document and photo messages.
    """

    message_id: int
    chat_id: int
    kind: MessageKind
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    document: bytes | None = field(repr=False)
    file_name: str | None
    edits: int
    deleted: bool
    sent_at: datetime
    reply_to_message_id: int | None = None
    callback_answers: tuple[CallbackAnswer, ...] = field(default=())

    @property
    def buttons(self) -> list[list[Button]]:
        return buttons_of(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]


def buttons_of(markup: dict[str, Any] | None) -> list[list[Button]]:
    """The rows of an inline or reply keyboard as ``Button`` objects."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[_button(raw) for raw in row] for row in rows]


def _button(raw: dict[str, Any] | str) -> Button:
    if isinstance(raw, str):  # reply keyboards may be plain strings
        return Button(text=raw)
    return Button(
        text=raw.get("text", ""), callback_data=raw.get("callback_data"), url=raw.get("url")
    )
