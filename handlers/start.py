"""/start: a welcome for members, and the door in for people holding an invitation link."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import KehuContext
from crm.invitations import token_from_payload
from crm.members import resolve_language
from handlers import answering
from handlers.identity import person_from
from handlers.menu import refresh_menu


async def start(update: Update, context: KehuContext) -> None:
    payload = context.args[0] if context.args else ""
    if await answering.open_link(update, context, payload):
        return
    token = token_from_payload(payload)
    if token is not None and update.effective_user is not None:
        await _join(update, context, token)
    elif context.scope.member is not None:
        member = context.scope.member
        context.reply(
            context.t(
                "start.welcome_back", name=member.name, role=context.t(f"roles.{member.role}")
            )
        )
    else:
        context.reply(context.t("gate.unknown"))


async def _join(update: Update, context: KehuContext, token: str) -> None:
    assert update.effective_user is not None
    person = person_from(update.effective_user)
    joined = await context.services.members.accept_invitation(person, token)
    member = joined.member
    context.scope.member = member
    context.scope.language = resolve_language(
        member.language, person.language_code, context.kehu.settings.language
    )
    team = context.t("start.joined_team", team=joined.team.name) if joined.team else ""
    context.reply(
        context.t(
            "start.joined", name=member.name, role=context.t(f"roles.{member.role}"), team=team
        )
    )
    await refresh_menu(context, member)


def handlers() -> list[CommandHandler[KehuContext, None]]:
    return [CommandHandler("start", start)]
