"""/find, and plain text from a member that no open dialog is waiting for."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from handlers import render

PAGE_SIZE = 8


async def find(update: Update, context: KehuContext) -> None:
    await show_results(context, " ".join(context.args or []), page=0, edit=False)


async def find_page(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    page, query = int(context.matches[0].group(1)), context.matches[0].group(2)
    context.answer()
    await show_results(context, query, page=page, edit=True)


async def show_results(context: KehuContext, query: str, *, page: int, edit: bool) -> None:
    found = await context.services.customers.find(context.member, query, page, PAGE_SIZE)
    text, markup = render.search_results(
        context.t, found.query, found.hits, found.page, found.total, PAGE_SIZE
    )
    (context.edit if edit else context.reply)(text, markup)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("find", find),
        CallbackQueryHandler(find_page, pattern=r"^find:(\d{1,4}):(.+)$"),
    ]
