"""Keeps each member's command menu in step with their role and language."""

from __future__ import annotations

from bot.context import KehuContext
from crm.members import Member
from handlers.commands import menu_for, set_member_menu


async def refresh_menu(context: KehuContext, member: Member) -> None:
    menu = menu_for(context.kehu.catalogue, member.role, context.language)
    if member.menu_signature == menu.signature:
        return
    await context.services.members.remember_menu(member, menu.signature)
    chat_id = member.telegram_id
    context.scope.after_commit(lambda bot: set_member_menu(bot, chat_id, menu))
