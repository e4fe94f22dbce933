"""/lang: switch the interface between Chinese and English."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from handlers.keyboards import LANGUAGE_PATTERN, language_choice
from handlers.menu import refresh_menu


async def choose_language(update: Update, context: KehuContext) -> None:
    if context.args:
        await _switch(context, context.args[0].lower())
        return
    current = context.t(f"lang.name_{context.language}")
    context.reply(
        context.t("lang.choose", current=current), language_choice(context.t, context.language)
    )


async def language_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    await _switch(context, context.matches[0].group(1), edit=True)


async def _switch(context: KehuContext, language: str, *, edit: bool = False) -> None:
    member = await context.services.members.set_language(context.member, language)
    context.scope.member, context.scope.language = member, language
    await refresh_menu(context, member)
    if edit:
        context.answer()
        context.edit(context.t("lang.changed"))
    else:
        context.reply(context.t("lang.changed"))


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("lang", choose_language),
        CallbackQueryHandler(language_pressed, pattern=LANGUAGE_PATTERN),
    ]
