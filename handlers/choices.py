"""/choices (admins): the lists offered as buttons when a customer is entered."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import KehuContext
from crm.errors import InvalidInput


async def choices(update: Update, context: KehuContext) -> None:
    member = context.member
    args = context.args or []
    if not args:
        lists = await context.services.choices.all(member)
        lines = [context.t("choices.title")]
        lines += [
            f"{context.t(f'fields.{key}')} ({key})：{'、'.join(values) or '—'}"
            for key, values in lists.items()
        ]
        lines.append(context.t("choices.usage"))
        context.reply("\n".join(lines))
        return
    if len(args) < 3 or args[0] not in ("add", "remove"):
        raise InvalidInput("choices.usage")
    action, list_key, value = args[0], args[1], " ".join(args[2:])
    service = context.services.choices
    changed = await (service.add if action == "add" else service.remove)(member, list_key, value)
    key = {"add": "choices.added", "remove": "choices.removed"}[action]
    key = key if changed else "choices.unchanged"
    context.reply(context.t(key, value=value, field=context.t(f"fields.{list_key}")))


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [CommandHandler("choices", choices)]
