"""What is left over: a member's text or file that no feature claimed, and buttons nobody owns
(old, or forged). Each gets a clear answer instead of silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import KehuContext
from handlers import answering


async def not_understood(update: Update, context: KehuContext) -> None:
    context.reply(context.t("errors.not_understood"))


async def unsupported(update: Update, context: KehuContext) -> None:
    if await _survey_answer_expected(update, context):
        return
    context.reply(context.t("errors.unsupported_message"))


async def _survey_answer_expected(update: Update, context: KehuContext) -> bool:
    """A sticker or voice note where a survey answer was expected gets the question again."""
    if update.effective_user is None or update.message is None:
        return False
    return await answering.answer_other(update, context)


async def stale_button(update: Update, context: KehuContext) -> None:
    context.answer(context.t("errors.button_expired"), alert=True)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        MessageHandler(filters.TEXT, not_understood),
        MessageHandler(filters.ALL, unsupported),
        CallbackQueryHandler(stale_button),
    ]
