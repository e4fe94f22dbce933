"""What is left over: a member's text or file that no feature claimed, and buttons nobody owns
(old, or forged). Each gets a clear answer instead of silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import KehuContext


async def not_understood(update: Update, context: KehuContext) -> None:
    context.reply(context.t("errors.not_understood"))


async def unsupported(update: Update, context: KehuContext) -> None:
    context.reply(context.t("errors.unsupported_message"))


async def stale_button(update: Update, context: KehuContext) -> None:
    context.answer(context.t("errors.button_expired"), alert=True)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        MessageHandler(filters.TEXT, not_understood),
        MessageHandler(filters.ALL, unsupported),
        CallbackQueryHandler(stale_button),
    ]
