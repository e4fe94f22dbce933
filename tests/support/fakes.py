"""In-memory implementations of the domain's ports, for fast unit tests of the use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Self

from crm.audit import AuditEntry
from crm.clock import Clock
from crm.invitations import Invitation, NewInvitation
from crm.members import Member, NewMember, Role, Team
from crm.outbox import OutboxCounts, OutboxItem, OutgoingMessage


class InMemoryMembers:
    def __init__(self, clock: Clock) -> None:
        self.rows: dict[int, Member] = {}
        self._clock = clock

    async def by_telegram_id(self, telegram_id: int) -> Member | None:
        return next((m for m in self.rows.values() if m.telegram_id == telegram_id), None)

    async def by_id(self, member_id: int) -> Member | None:
        return self.rows.get(member_id)

    async def add(self, member: NewMember) -> Member:
        new = Member(
            id=len(self.rows) + 1,
            telegram_id=member.telegram_id,
            name=member.name,
            username=member.username,
            role=member.role,
            team_id=member.team_id,
            language=member.language,
            timezone=None,
            active=True,
            reachable=True,
            menu_signature=None,
            created_at=self._clock.now(),
        )
        self.rows[new.id] = new
        return new

    async def update_profile(self, member_id: int, name: str, username: str | None) -> None:
        self.rows[member_id] = replace(self.rows[member_id], name=name, username=username)

    async def set_language(self, member_id: int, language: str) -> None:
        self.rows[member_id] = replace(self.rows[member_id], language=language)

    async def set_role(self, member_id: int, role: Role, team_id: int | None) -> None:
        self.rows[member_id] = replace(self.rows[member_id], role=role, team_id=team_id)

    async def set_menu_signature(self, member_id: int, signature: str) -> None:
        self.rows[member_id] = replace(self.rows[member_id], menu_signature=signature)

    async def set_reachable(self, telegram_id: int, reachable: bool) -> None:
        for member in list(self.rows.values()):
            if member.telegram_id == telegram_id:
                self.rows[member.id] = replace(member, reachable=reachable)

    async def list_active(self, team_id: int | None = None) -> Sequence[Member]:
        return [
            m for m in self.rows.values() if m.active and (team_id is None or m.team_id == team_id)
        ]


class InMemoryTeams:
    def __init__(self) -> None:
        self.rows: dict[int, Team] = {}

    async def by_id(self, team_id: int) -> Team | None:
        return self.rows.get(team_id)

    async def by_name(self, name: str) -> Team | None:
        return next((team for team in self.rows.values() if team.name == name), None)

    async def add(self, name: str) -> Team:
        team = Team(id=len(self.rows) + 1, name=name)
        self.rows[team.id] = team
        return team


class InMemoryInvitations:
    def __init__(self) -> None:
        self.rows: dict[str, Invitation] = {}

    async def add(self, invitation: NewInvitation) -> Invitation:
        new = Invitation(
            id=len(self.rows) + 1,
            role=invitation.role,
            team_id=invitation.team_id,
            created_by=invitation.created_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            used_by=None,
            used_at=None,
        )
        self.rows[invitation.token_hash] = new
        return new

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        return self.rows.get(token_hash)

    async def mark_used(self, invitation_id: int, member_id: int, at: datetime) -> bool:
        for token_hash, invitation in self.rows.items():
            if invitation.id == invitation_id and invitation.used_at is None:
                self.rows[token_hash] = replace(invitation, used_by=member_id, used_at=at)
                return True
        return False


class InMemoryOutbox:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def enqueue(self, message: OutgoingMessage, now: datetime) -> bool:
        if any(existing.key == message.key for existing in self.messages):
            return False
        self.messages.append(message)
        return True

    async def claim(
        self, *, worker: str, now: datetime, stale_before: datetime, limit: int
    ) -> Sequence[OutboxItem]:
        raise NotImplementedError("the dispatcher is tested against SQL storage")

    async def mark_sent(self, item_id: int, telegram_message_id: int | None, at: datetime) -> None:
        raise NotImplementedError

    async def reschedule(
        self, item_id: int, not_before: datetime, error: str, attempts: int
    ) -> None:
        raise NotImplementedError

    async def mark_failed(self, item_id: int, error: str, at: datetime) -> None:
        raise NotImplementedError

    async def counts(self) -> OutboxCounts:
        return OutboxCounts(pending=len(self.messages), sending=0, sent=0, failed=0)


class InMemoryAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def record(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
        return [e for e in self.entries if (e.entity_type, e.entity_id) == (entity_type, entity_id)]


class InMemoryUpdates:
    def __init__(self) -> None:
        self.seen_ids: dict[tuple[int, int], datetime] = {}

    async def seen(self, bot_id: int, update_id: int) -> bool:
        return (bot_id, update_id) in self.seen_ids

    async def record(self, bot_id: int, update_id: int, at: datetime) -> None:
        self.seen_ids[(bot_id, update_id)] = at

    async def newest(self, bot_id: int) -> int | None:
        return max((update for bot, update in self.seen_ids if bot == bot_id), default=None)

    async def prune(self, before: datetime) -> int:
        old = [key for key, at in self.seen_ids.items() if at < before]
        for key in old:
            del self.seen_ids[key]
        return len(old)


class InMemoryUnitOfWork:
    def __init__(self, clock: Clock) -> None:
        self.members = InMemoryMembers(clock)
        self.teams = InMemoryTeams()
        self.invitations = InMemoryInvitations()
        self.outbox = InMemoryOutbox()
        self.audit = InMemoryAudit()
        self.updates = InMemoryUpdates()
        self.commits = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1

    async def rollback(self) -> None:
        return None
