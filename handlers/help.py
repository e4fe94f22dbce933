"""/help: what this member's role can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import KehuContext
from handlers.commands import commands_for


async def show_help(update: Update, context: KehuContext) -> None:
    member = context.member
    lines = [context.t(f"help.header_{member.role}")]
    lines += [
        context.t("help.line", command=command.name, description=context.t(command.description_key))
        for command in commands_for(member.role)
    ]
    lines.append(context.t("help.footer"))
    context.reply("\n".join(lines))


def handlers() -> list[CommandHandler[KehuContext, None]]:
    return [CommandHandler("help", show_help)]
