"""Runs before every handler: recognises the person, settles the language, keeps the command
menu current, and turns away people who are not members (politely, and with nothing else)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler, filters

from bot.context import KehuContext
from crm.members import resolve_language
from handlers.identity import person_from
from handlers.menu import refresh_menu

# Updates that people who are not members may send: /start with a deep-link payload (an
# invitation today; survey links later add their own filters here).
PUBLIC_UPDATES: list[filters.BaseFilter] = [filters.Regex(r"^/start(@\w+)?\s+\S")]


# Buttons that people who are not members may press, by the prefix of their callback data.
PUBLIC_BUTTONS: list[str] = []


def allow_public(update_filter: filters.BaseFilter) -> None:
    PUBLIC_UPDATES.append(update_filter)


def allow_public_buttons(prefix: str) -> None:
    PUBLIC_BUTTONS.append(prefix)


def _is_public(update: Update) -> bool:
    query = update.callback_query
    if query is not None:
        return (query.data or "").startswith(tuple(PUBLIC_BUTTONS))
    return any(update_filter.check_update(update) for update_filter in PUBLIC_UPDATES)


async def identify(update: Update, context: KehuContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        raise ApplicationHandlerStop  # groups and channels are not served
    member = await context.services.members.identify(person_from(user))
    scope = context.scope
    scope.member = member
    scope.language = resolve_language(
        member.language if member else None, user.language_code, context.kehu.settings.language
    )
    if member is not None:
        await refresh_menu(context, member)
    elif not _is_public(update) and not await _answering_survey(context, user.id):
        if update.message is not None or update.callback_query is not None:
            context.answer()
            context.reply(context.t("gate.unknown"))
        raise ApplicationHandlerStop


async def _answering_survey(context: KehuContext, telegram_id: int) -> bool:
    """People who are not members may talk to the bot while a survey waits for their answer."""
    return await context.services.answering.has_survey_waiting(telegram_id)


def handler() -> BaseHandler[Update, KehuContext, None]:
    return TypeHandler(Update, identify)
