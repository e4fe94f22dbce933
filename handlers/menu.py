"""Keeps each member's command menu in step with their role and language."""

from __future__ import annotations

from bot.context import KehuContext
from crm.members import Member
from handlers.commands import menu_for, set_member_menu, signature


async def refresh_menu(context: KehuContext, member: Member, *, force: bool = False) -> None:
    commands = menu_for(context.kehu.catalogue, member, context.language)
    wanted = signature(commands)
    if member.menu_signature == wanted and not force:
        return
    await context.services.members.remember_menu(member, wanted)
    chat_id = member.telegram_id
    context.scope.after_commit(lambda bot: set_member_menu(bot, chat_id, commands))
