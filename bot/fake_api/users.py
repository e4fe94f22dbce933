"""Acting as a Telegram user in a private chat with the bot."""

from __future__ import annotations

import re
from typing import Any

from bot.fake_api.markup import utf16_len
from bot.fake_api.messages import document_object, photo_size
from bot.fake_api.models import BotMessage, Button, CallbackAnswer, MessageKind, buttons_of
from bot.fake_api.state import ChatState, PendingQuery, StoredMessage, TelegramState

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_STICKER = {
    "file_id": "CAACAgIAAxkBAAIBQmZ0c3RpY2tlcg",
    "file_unique_id": "AgADsticker",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
_DEFAULT_WAIT = 5.0


class UserHandle:
    """One simulated user; their private chat id equals their user id."""

    def __init__(self, state: TelegramState, chat: ChatState) -> None:
        self._state = state
        self._chat = chat
        self._returned = 0  # bot messages already handed out by next_message

    @property
    def user_id(self) -> int:
        return self._chat.id

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def info(self) -> dict[str, Any]:
        """The Bot API ``User`` object for this user."""
        assert self._chat.user is not None
        return self._chat.user

    def update_profile(self, profile: dict[str, str]) -> None:
        """Change names, username or language (as a user can in their settings)."""
        self.info.update(profile)
        chat_fields = ("first_name", "last_name", "username")
        self._chat.info.update({k: v for k, v in self.info.items() if k in chat_fields})

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        """Block or unblock the bot; like Telegram, the bot gets a ``my_chat_member`` update."""
        if value == self._chat.blocked:
            return
        self._chat.blocked = value
        old, new = ("member", "kicked") if value else ("kicked", "member")
        self._state.push_update({"my_chat_member": self._member_change(old, new)})

    @property
    def messages(self) -> list[BotMessage]:
        """Every bot message in this chat, in order, as it is now (after edits)."""
        return [message.snapshot() for message in self._chat.bot_messages()]

    async def send(self, text: str, reply_to: BotMessage | int | None = None) -> int:
        """Send a text message; a leading /command gets its ``bot_command`` entity."""
        content: dict[str, Any] = {"text": text}
        command = _COMMAND.match(text)
        if command:
            length = utf16_len(command.group(0))
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._send(content, "text", reply_to)

    async def send_document(
        self,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """Send a file; the bot can fetch it with getFile and download it."""
        stored = self._state.files.add(data, file_name, mime_type, "documents")
        return self._send({"document": document_object(stored), **_caption(caption)}, "document")

    async def send_photo(self, data: bytes, caption: str | None = None) -> int:
        stored = self._state.files.add(data, None, "image/jpeg", "photos")
        return self._send({"photo": [photo_size(stored)], **_caption(caption)}, "photo")

    async def send_sticker(self, emoji: str = "👍") -> int:
        return self._send({"sticker": {**_STICKER, "emoji": emoji}}, "sticker")

    async def press(self, message: BotMessage | int, button: str) -> int:
        """Press the inline button with this text (or callback_data) as the message is now."""
        stored = self._bot_message(message)
        rows = buttons_of(stored.markup)
        found = _find_button(rows, button)
        if found is None:
            texts = [[b.text for b in row] for row in rows]
            raise AssertionError(
                f"message {stored.message_id} has no button {button!r}; buttons: {texts}"
            )
        if found.callback_data is None:
            raise AssertionError(f"button {found.text!r} has no callback_data (url={found.url!r})")
        return self._callback(stored, found.callback_data)

    async def press_data(self, message: BotMessage | int, data: str) -> int:
        """A callback query with arbitrary (possibly forged) data on that message."""
        return self._callback(self._bot_message(message), data)

    async def next_message(self, timeout: float = _DEFAULT_WAIT) -> BotMessage:  # noqa: ASYNC109
        """The next bot message to this chat not yet returned by this handle."""

        def arrived() -> bool:
            return len(self._chat.bot_messages()) > self._returned

        if not await self._state.signal.wait_until(arrived, timeout):
            raise AssertionError(self._report(f"no new bot message within {timeout}s"))
        message = self._chat.bot_messages()[self._returned]
        self._returned += 1
        return message.snapshot()

    async def wait_for_edit(
        self,
        message: BotMessage,
        timeout: float = _DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait until ``message`` is edited (or deleted) after that snapshot; its new state."""
        stored = self._chat.messages[message.message_id]

        def edited() -> bool:
            return stored.edits > message.edits or stored.deleted != message.deleted

        if not await self._state.signal.wait_until(edited, timeout):
            raise AssertionError(
                self._report(f"message {message.message_id} not edited within {timeout}s")
            )
        return stored.snapshot()

    async def wait_for_answer(
        self,
        update_id: int,
        timeout: float = _DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """The bot's answerCallbackQuery for the press that created update ``update_id``."""
        query = self._state.updates.history[update_id]["callback_query"]
        stored = self._chat.messages[query["message"]["message_id"]]

        def answer() -> CallbackAnswer | None:
            return next((a for a in stored.answers if a.query_id == query["id"]), None)

        if not await self._state.signal.wait_until(lambda: answer() is not None, timeout):
            raise AssertionError(self._report(f"callback query {query['id']} not answered"))
        result = answer()
        assert result is not None
        return result

    def _send(
        self, content: dict[str, Any], kind: MessageKind, reply_to: BotMessage | int | None = None
    ) -> int:
        self.blocked = False  # writing to the bot again unblocks it ("Restart bot")
        chat = self._chat
        json: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": self.info,
            "chat": chat.info,
            "date": self._state.timestamp(),
            **content,
        }
        if reply_to is not None:
            target = self._bot_message(reply_to)
            json["reply_to_message"] = target.as_reply_target()
        message = StoredMessage(
            message_id=json["message_id"],
            chat_id=chat.id,
            from_bot=False,
            kind=kind,
            json=json,
            sent_at=self._state.clock.now(),
            raw_text=str(content.get("text", content.get("caption", ""))),
        )
        self._state.add_message(chat, message)
        return self._state.push_update({"message": json})

    def _member_change(self, old: str, new: str) -> dict[str, Any]:
        """A ``ChatMemberUpdated`` for the bot's status in this private chat."""

        def member(status: str) -> dict[str, Any]:
            banned = {"until_date": 0} if status == "kicked" else {}
            return {"user": self._state.bot_user, "status": status, **banned}

        return {
            "chat": self._chat.info,
            "from": self.info,
            "date": self._state.timestamp(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _callback(self, stored: StoredMessage, data: str) -> int:
        query_id = self._state.new_query_id(self.user_id)
        self._state.queries[query_id] = PendingQuery(stored, data)
        query = {
            "id": query_id,
            "from": self.info,
            "message": stored.json,
            "chat_instance": str(-(10**18) - self.chat_id),
            "data": data,
        }
        return self._state.push_update({"callback_query": query})

    def _bot_message(self, message: BotMessage | int) -> StoredMessage:
        message_id = message if isinstance(message, int) else message.message_id
        stored = self._chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise AssertionError(
                f"message {message_id} is not (or no longer) in chat {self.chat_id}"
            )
        return stored

    def _report(self, problem: str) -> str:
        """A timeout message listing this chat's recent failed calls, to explain the silence."""
        failed = [
            f"{call.method} {call.status} {call.response.get('description', '')}"
            for call in self._state.calls
            if call.status != 200 and call.params.get("chat_id") in (self.chat_id, None)
        ]
        return f"chat {self.chat_id}: {problem}; recent failed calls: {failed[-5:] or 'none'}"


def _find_button(rows: list[list[Button]], wanted: str) -> Button | None:
    buttons = [button for row in rows for button in row]
    by_text = next((b for b in buttons if b.text == wanted), None)
    return by_text or next((b for b in buttons if b.callback_data == wanted), None)


def _caption(caption: str | None) -> dict[str, Any]:
    return {"caption": caption} if caption else {}
