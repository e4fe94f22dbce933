"""Use cases around membership: recognising who is talking, inviting, joining, language."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from crm.audit import AuditEntry
from crm.clock import Clock
from crm.errors import DomainError, InvalidInput, NotAllowed
from crm.invitations import IssuedInvitation, NewInvitation, hash_token, new_token
from crm.members import LANGUAGES, Member, NewMember, Person, Role, Team, resolve_language
from crm.outbox import OutgoingMessage
from crm.permissions import Action, require
from crm.ports import UnitOfWork
from crm.texts import Text

_TEAM_NAME_MAX = 64


@dataclass(frozen=True)
class OnboardingPolicy:
    bootstrap_admin_ids: frozenset[int]
    invite_ttl: timedelta
    default_language: str


@dataclass(frozen=True)
class Joined:
    member: Member
    team: Team | None


class MemberService:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: OnboardingPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def identify(self, person: Person) -> Member | None:
        """The active member behind ``person`` (bootstrap admins join on first contact)."""
        member = await self._uow.members.by_telegram_id(person.telegram_id)
        if member is None and person.telegram_id in self._policy.bootstrap_admin_ids:
            member = await self._add_member(person, Role.ADMIN, team_id=None, actor_id=None)
        if member is None or not member.active:
            return None
        return await self._refresh_profile(member, person)

    async def create_invitation(
        self, inviter: Member, role: Role, team_name: str | None = None
    ) -> IssuedInvitation:
        require(inviter, Action.INVITE_MANAGER if role is Role.MANAGER else Action.INVITE_REP)
        if role is Role.ADMIN:
            raise NotAllowed("errors.not_allowed")
        team = await self._team_for_invitation(inviter, team_name)
        token = new_token()
        now = self._clock.now()
        invitation = await self._uow.invitations.add(
            NewInvitation(
                token_hash=hash_token(token),
                role=role,
                team_id=team.id if team else None,
                created_by=inviter.id,
                created_at=now,
                expires_at=now + self._policy.invite_ttl,
            )
        )
        await self._audit("invitation.created", "invitation", invitation.id, inviter.id, role=role)
        return IssuedInvitation(
            token=token,
            role=role,
            team_name=team.name if team else None,
            expires_at=invitation.expires_at,
        )

    async def accept_invitation(self, person: Person, token: str) -> Joined:
        existing = await self._uow.members.by_telegram_id(person.telegram_id)
        if existing is not None:
            raise DomainError("invite.already_member")
        invitation = await self._uow.invitations.by_token_hash(hash_token(token))
        if invitation is None:
            raise DomainError("invite.invalid")
        if invitation.used_at is not None:
            raise DomainError("invite.used")
        if invitation.expires_at <= self._clock.now():
            raise DomainError("invite.expired")
        team = await self._team_for_new_member(invitation.role, invitation.team_id, person)
        member = await self._add_member(
            person, invitation.role, team.id if team else None, actor_id=invitation.created_by
        )
        if not await self._uow.invitations.mark_used(invitation.id, member.id, self._clock.now()):
            raise DomainError("invite.used")
        await self._notify_inviter(invitation.created_by, invitation.id, member)
        return Joined(member=member, team=team)

    async def set_language(self, member: Member, language: str) -> Member:
        if language not in LANGUAGES:
            raise InvalidInput("lang.unknown", choices=" / ".join(LANGUAGES))
        await self._uow.members.set_language(member.id, language)
        return replace(member, language=language)

    async def set_reachable(self, member: Member, reachable: bool) -> Member:
        """Telegram told us the member blocked (or unblocked) the bot."""
        await self._uow.members.set_reachable(member.telegram_id, reachable)
        return replace(member, reachable=reachable)

    async def remember_menu(self, member: Member, signature: str) -> None:
        await self._uow.members.set_menu_signature(member.id, signature)

    async def team_of(self, member: Member) -> Team | None:
        return await self._uow.teams.by_id(member.team_id) if member.team_id else None

    async def add_admin(self, telegram_id: int, name: str | None = None) -> Member:
        """Make someone an admin (the ``kehu admin add`` command)."""
        existing = await self._uow.members.by_telegram_id(telegram_id)
        if existing is None:
            person = Person(telegram_id=telegram_id, first_name=name or "")
            return await self._add_member(person, Role.ADMIN, team_id=None, actor_id=None)
        await self._uow.members.set_role(existing.id, Role.ADMIN, existing.team_id)
        await self._audit("member.role_changed", "member", existing.id, None, role=Role.ADMIN)
        return replace(existing, role=Role.ADMIN)

    async def _add_member(
        self, person: Person, role: Role, team_id: int | None, actor_id: int | None
    ) -> Member:
        member = await self._uow.members.add(
            NewMember(
                telegram_id=person.telegram_id,
                name=person.display_name if person.first_name else "",
                username=person.username,
                role=role,
                team_id=team_id,
                language=resolve_language(
                    None, person.language_code, self._policy.default_language
                ),
            )
        )
        await self._audit("member.joined", "member", member.id, actor_id, role=role)
        return member

    async def _refresh_profile(self, member: Member, person: Person) -> Member:
        """Names follow Telegram; someone writing to us can evidently be reached again."""
        if not member.reachable:
            await self._uow.members.set_reachable(member.telegram_id, True)
            member = replace(member, reachable=True)
        name = person.display_name
        if (member.name, member.username) == (name, person.username):
            return member
        await self._uow.members.update_profile(member.id, name, person.username)
        return replace(member, name=name, username=person.username)

    async def _team_for_invitation(self, inviter: Member, team_name: str | None) -> Team | None:
        if inviter.role is Role.MANAGER:
            own = await self.team_of(inviter)
            if team_name and (own is None or own.name != team_name.strip()):
                raise NotAllowed("invite.own_team_only")
            return own
        if not team_name:
            return None
        name = team_name.strip()
        if len(name) > _TEAM_NAME_MAX:
            raise InvalidInput("invite.team_name_too_long", limit=_TEAM_NAME_MAX)
        return await self._uow.teams.by_name(name) or await self._uow.teams.add(name)

    async def _team_for_new_member(
        self, role: Role, team_id: int | None, person: Person
    ) -> Team | None:
        if team_id is not None:
            return await self._uow.teams.by_id(team_id)
        if role is not Role.MANAGER:
            return None
        base = person.display_name[:_TEAM_NAME_MAX]
        name, suffix = base, 2
        while await self._uow.teams.by_name(name) is not None:
            name, suffix = f"{base} {suffix}", suffix + 1
        return await self._uow.teams.add(name)

    async def _notify_inviter(
        self, inviter_id: int | None, invitation_id: int, joined: Member
    ) -> None:
        inviter = await self._uow.members.by_id(inviter_id) if inviter_id else None
        if inviter is None or not inviter.active:
            return
        language = resolve_language(inviter.language, None, self._policy.default_language)
        notice = OutgoingMessage(
            key=f"invitation-accepted:{invitation_id}",
            chat_id=inviter.telegram_id,
            text=Text(
                "invite.accepted_notice",
                {"name": joined.name, "role": Text(f"roles.{joined.role}")},
            ),
            language=language,
        )
        await self._uow.outbox.enqueue(notice, self._clock.now())

    async def _audit(
        self, action: str, entity_type: str, entity_id: int, actor_id: int | None, **details: str
    ) -> None:
        await self._uow.audit.record(
            AuditEntry(
                action=action,
                entity_type=entity_type,
                entity_id=str(entity_id),
                actor_id=actor_id,
                at=self._clock.now(),
                details=dict(details),
            )
        )
