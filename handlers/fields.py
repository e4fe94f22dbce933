"""/fields (admins): custom fields on every customer, e.g. /fields add budget number 预算."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import KehuContext
from crm.errors import InvalidInput


async def fields(update: Update, context: KehuContext) -> None:
    args, service, member = context.args or [], context.services.fields, context.member
    if args[:1] == ["add"] and len(args) >= 4:
        changed = await service.define(member, args[1], args[2], args[3], args[4:])
        context.reply(
            context.t("fields.added" if changed else "fields.unchanged", field_key=args[1])
        )
    elif args[:1] == ["remove"] and len(args) == 2:
        changed = await service.retire(member, args[1])
        context.reply(
            context.t("fields.removed" if changed else "fields.unchanged", field_key=args[1])
        )
    elif not args:
        lines = [context.t("fields.title")]
        lines += [
            f"{d.key} · {context.t(f'fields.kind_{d.kind}')} · {d.label}"
            + (f"（{' / '.join(d.options)}）" if d.options else "")
            for d in await service.overview(member)
        ]
        lines.append(context.t("fields.usage"))
        context.reply("\n".join(lines))
    else:
        raise InvalidInput("fields.usage")


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [CommandHandler("fields", fields)]
