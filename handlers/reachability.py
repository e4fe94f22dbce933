"""Telegram tells us when a member blocks or unblocks the bot; messages to them wait for that."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from bot.context import KehuContext


async def bot_blocked_or_unblocked(update: Update, context: KehuContext) -> None:
    change = update.my_chat_member
    if change is None or context.scope.member is None:
        return
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    context.scope.member = await context.services.members.set_reachable(
        context.scope.member, not blocked
    )


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [ChatMemberHandler(bot_blocked_or_unblocked, ChatMemberHandler.MY_CHAT_MEMBER)]
