"""What the fake server remembers: chats, messages, files, updates, calls."""

from __future__ import annotations

import asyncio
import bisect
import copy
import itertools
import mimetypes
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.fake_api.models import (
    BLOCKED,
    ApiError,
    ApiRequest,
    BotMessage,
    CallbackAnswer,
    MessageKind,
    RecordedCall,
    bad_request,
)
from crm.clock import Clock


class Signal:
    """Wakes every waiter whenever something changed; waiters re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], seconds: float | None) -> bool:
        """Wait (real time) until ``condition()`` holds; False if ``seconds`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        while not condition():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return condition()
        return True


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str | None
    mime_type: str
    file_path: str

    def as_file(self) -> dict[str, Any]:
        """The Bot API ``File`` object (getFile's result)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class FileStore:
    """Files by file_id and by download path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self, data: bytes, file_name: str | None, mime_type: str | None, folder: str
    ) -> StoredFile:
        number = next(self._counter)
        mime = mime_type or _guess_mime(file_name)
        extension = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else ""
        extension = extension or (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:04d}{secrets.token_hex(12)}",
            file_unique_id=f"AgAD{number:04d}{secrets.token_hex(4)}",
            data=data,
            file_name=file_name,
            mime_type=mime,
            file_path=f"{folder}/file_{number}.{extension}",
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def by_id(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)


def _guess_mime(file_name: str | None) -> str:
    guessed = mimetypes.guess_type(file_name or "", strict=False)[0]
    return guessed or "application/octet-stream"


@dataclass
class StoredMessage:
    """A message in a chat; ``json`` is kept equal to the Bot API ``Message`` object."""

    message_id: int
    chat_id: int
    from_bot: bool
    kind: MessageKind
    json: dict[str, Any]
    sent_at: datetime
    markup: dict[str, Any] | None = None  # as sent; ``json`` only echoes inline keyboards
    raw_text: str = ""
    parse_mode: str | None = None
    file: StoredFile | None = None
    edits: int = 0
    deleted: bool = False
    answers: list[CallbackAnswer] = field(default_factory=list)

    @property
    def text(self) -> str:
        return str(self.json.get("text", self.json.get("caption", "")))

    def as_reply_target(self) -> dict[str, Any]:
        """This message as a ``reply_to_message`` (Telegram does not nest replies deeper)."""
        return copy.deepcopy({k: v for k, v in self.json.items() if k != "reply_to_message"})

    def snapshot(self) -> BotMessage:
        reply_to = self.json.get("reply_to_message")
        return BotMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            kind=self.kind,
            text=self.text,
            raw_text=self.raw_text,
            parse_mode=self.parse_mode,
            reply_markup=self.markup,
            document=self.file.data if self.file else None,
            file_name=self.file.file_name if self.file else None,
            edits=self.edits,
            deleted=self.deleted,
            sent_at=self.sent_at,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            callback_answers=tuple(self.answers),
        )


@dataclass
class ChatState:
    """A chat the fake knows; private chats have ``user`` (the other party)."""

    info: dict[str, Any]
    user: dict[str, Any] | None = None
    blocked: bool = False
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0

    @property
    def id(self) -> int:
        return int(self.info["id"])

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def bot_messages(self) -> list[StoredMessage]:
        return [message for message in self.messages.values() if message.from_bot]


@dataclass
class _Queued:
    update: dict[str, Any]
    protected: bool = False  # a redelivery survives confirmations until handed out again

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


class UpdateQueue:
    """Unconfirmed updates, with Telegram's offset semantics."""

    def __init__(self, first_update_id: int) -> None:
        self._next_id = first_update_id
        self._pending: list[_Queued] = []
        self.history: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, update: dict[str, Any]) -> int:
        update_id = update.setdefault("update_id", self._next_id)
        self._next_id = max(self._next_id, update_id + 1)
        self.history[update_id] = update
        self._insert(_Queued(update))
        return int(update_id)

    def redeliver(self, update_id: int) -> None:
        if update_id not in self.history:
            raise KeyError(f"no update {update_id} was ever queued")
        self.remove(update_id)
        self._insert(_Queued(self.history[update_id], protected=True))

    def confirm(self, offset: int | None) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset is None:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
            return
        self._pending = [q for q in self._pending if q.protected or q.update_id >= offset]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """Hand out up to ``limit`` updates; they stay queued until confirmed."""
        batch = self._pending[:limit]
        for queued in batch:
            queued.protected = False
        return [queued.update for queued in batch]

    def first(self) -> dict[str, Any] | None:
        return self._pending[0].update if self._pending else None

    def remove(self, update_id: int) -> None:
        self._pending = [q for q in self._pending if q.update_id != update_id]

    def clear(self) -> None:
        self._pending.clear()

    def _insert(self, queued: _Queued) -> None:
        bisect.insort(self._pending, queued, key=lambda q: q.update_id)


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class PendingQuery:
    """A callback query the bot has not answered yet."""

    message: StoredMessage
    data: str | None


class TelegramState:
    """All mutable server state, shared by the HTTP handlers and the user handles."""

    def __init__(self, clock: Clock, bot_user: dict[str, Any], first_update_id: int) -> None:
        self.clock = clock
        self.bot_user = bot_user
        self.signal = Signal()
        self.chats: dict[int, ChatState] = {}
        self.files = FileStore()
        self.updates = UpdateQueue(first_update_id)
        self.calls: list[RecordedCall] = []
        self.bot_messages: list[StoredMessage] = []
        self.queries: dict[str, PendingQuery] = {}
        self.commands: dict[tuple[tuple[Any, ...], str], list[dict[str, str]]] = {}
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: list[str] | None = None
        self.poll_generation = 0
        self.stopping = False
        self._query_ids = itertools.count(1)

    def timestamp(self) -> int:
        return int(self.clock.now().timestamp())

    def changed(self) -> None:
        self.signal.fire()

    def known_chat(self, chat_id: Any) -> ChatState:
        """The chat with this id, or 400 ``chat not found``."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def chat_for(self, chat_id: Any) -> ChatState:
        """The chat a method targets: 400 if never seen, 403 if the user blocked the bot."""
        chat = self.known_chat(chat_id)
        if chat.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def add_message(self, chat: ChatState, message: StoredMessage) -> StoredMessage:
        chat.messages[message.message_id] = message
        if message.from_bot:
            self.bot_messages.append(message)
        self.changed()
        return message

    def new_query_id(self, user_id: int) -> str:
        return f"{user_id}{next(self._query_ids):08d}"

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a copy of ``update`` (so later edits don't change it); returns its id."""
        update_id = self.updates.push(copy.deepcopy(update))
        self.changed()
        return update_id

    def record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        self.changed()


Handler = Callable[[TelegramState, ApiRequest], Awaitable[Any]]
"""A Bot API method implementation: returns the ``result`` or raises ``ApiError``."""
