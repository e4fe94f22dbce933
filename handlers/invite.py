"""/invite: admins invite managers and reps; managers invite reps to their own team."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from bot.formatting import local_datetime
from crm.errors import InvalidInput, NotAllowed
from crm.invitations import IssuedInvitation
from crm.members import Role
from crm.permissions import invitable_roles
from handlers.keyboards import INVITE_PATTERN, invite_roles

_ROLE_WORDS = {"rep": Role.REP, "销售": Role.REP, "manager": Role.MANAGER, "经理": Role.MANAGER}


async def invite(update: Update, context: KehuContext) -> None:
    member = context.member
    if not context.args:
        roles = invitable_roles(member.role)
        if not roles:
            raise NotAllowed("errors.not_allowed")
        context.reply(context.t("invite.choose_role"), invite_roles(context.t, roles))
        return
    role = _ROLE_WORDS.get(context.args[0].lower())
    if role is None:
        raise InvalidInput("invite.usage")
    team_name = " ".join(context.args[1:]) or None
    issued = await context.services.members.create_invitation(member, role, team_name)
    context.reply(_describe(context, issued))


async def invite_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    issued = await context.services.members.create_invitation(
        context.member, Role(context.matches[0].group(1))
    )
    context.answer()
    context.edit(_describe(context, issued))


def _describe(context: KehuContext, issued: IssuedInvitation) -> str:
    link = f"https://t.me/{context.bot.username}?start={issued.start_payload}"
    expires = local_datetime(issued.expires_at, context.zone, context.language)
    team = context.t("invite.created_team", team=issued.team_name) if issued.team_name else ""
    return context.t(
        "invite.created",
        role=context.t(f"roles.{issued.role}"),
        link=link,
        expires=expires,
        team=team,
    )


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("invite", invite),
        CallbackQueryHandler(invite_pressed, pattern=INVITE_PATTERN),
    ]
