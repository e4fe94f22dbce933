"""The typed context every handler receives: services of the update's unit of work, the member,
``t()`` in their language, and replies that go out after the transaction commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ExtBot

from bot.scope import UpdateScope
from crm.errors import DomainError
from crm.members import Member
from crm.services import Services
from crm.texts import Text

if TYPE_CHECKING:
    from bot.app import KehuApplication
    from bot.runtime import Kehu


class KehuContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    _scope: UpdateScope | None = None

    @classmethod
    def from_update(cls, update: object, application: Any) -> KehuContext:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._scope = application.scope_for(update)
        return context

    @property
    def kehu(self) -> Kehu:
        app: KehuApplication = self.application  # type: ignore[assignment]
        return app.kehu

    @property
    def scope(self) -> UpdateScope:
        if self._scope is None:
            raise RuntimeError("no update scope: this context does not belong to an update")
        return self._scope

    @property
    def has_scope(self) -> bool:
        return self._scope is not None

    @property
    def services(self) -> Services:
        return self.scope.services

    @property
    def member(self) -> Member:
        """The member behind the update; handlers behind the gate can rely on it."""
        if self.scope.member is None:
            raise DomainError("gate.unknown")
        return self.scope.member

    @property
    def language(self) -> str:
        return self.scope.language

    @property
    def zone(self) -> ZoneInfo:
        """The member's own time zone, else the organisation's (``KEHU_TIMEZONE``)."""
        member = self.scope.member
        if member is not None and member.timezone:
            return ZoneInfo(member.timezone)
        return self.kehu.settings.zone

    def t(self, key: str, **variables: Any) -> str:
        return self.kehu.catalogue.t(self.language, key, **variables)

    def render(self, text: Text) -> str:
        return self.kehu.catalogue.render(self.language, text)

    def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        chat = self.scope.update.effective_chat
        if chat is None:
            return
        chat_id = chat.id
        self.scope.after_commit(lambda bot: bot.send_message(chat_id, text, reply_markup=markup))

    def reply_document(self, data: bytes, file_name: str, caption: str | None = None) -> None:
        chat = self.scope.update.effective_chat
        if chat is None:
            return
        chat_id = chat.id
        self.scope.after_commit(
            lambda bot: bot.send_document(
                chat_id, InputFile(data, filename=file_name), caption=caption
            )
        )

    def reply_photo(self, data: bytes, caption: str | None = None) -> None:
        chat = self.scope.update.effective_chat
        if chat is None:
            return
        chat_id = chat.id
        self.scope.after_commit(
            lambda bot: bot.send_photo(
                chat_id, InputFile(data, filename="chart.png"), caption=caption
            )
        )

    def edit(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text of the message whose button was pressed."""
        query = self.scope.update.callback_query
        if query is None or query.message is None:
            self.reply(text, markup)
            return
        chat_id, message_id = query.message.chat.id, query.message.message_id

        async def edit_text(bot: ExtBot[None]) -> None:
            try:
                await bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            except BadRequest as error:
                if "not modified" not in error.message.lower():
                    raise

        self.scope.after_commit(edit_text)

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the pressed button (stops the spinner; ``text`` shows as a toast)."""
        query = self.scope.update.callback_query
        if query is None:
            return
        self.scope.callback_answered = True
        query_id = query.id
        self.scope.after_commit(
            lambda bot: bot.answer_callback_query(query_id, text=text, show_alert=alert)
        )
