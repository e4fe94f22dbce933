from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.clock import Clock
from crm.members import Member, NewMember, Role, Team
from storage.models import MemberRow, TeamRow


def to_member(row: MemberRow) -> Member:
    return Member(
        id=row.id,
        telegram_id=row.telegram_id,
        name=row.name,
        username=row.username,
        role=Role(row.role),
        team_id=row.team_id,
        language=row.language,
        timezone=row.timezone,
        active=row.active,
        reachable=row.reachable,
        menu_signature=row.menu_signature,
        created_at=row.created_at,
        digest_time=row.digest_time,
        digest_enabled=row.digest_enabled,
    )


class SqlMemberRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def by_telegram_id(self, telegram_id: int) -> Member | None:
        row = await self._session.scalar(
            select(MemberRow).where(MemberRow.telegram_id == telegram_id)
        )
        return to_member(row) if row else None

    async def by_id(self, member_id: int) -> Member | None:
        row = await self._session.get(MemberRow, member_id)
        return to_member(row) if row else None

    async def add(self, member: NewMember) -> Member:
        now = self._clock.now()
        row = MemberRow(
            telegram_id=member.telegram_id,
            name=member.name,
            username=member.username,
            role=member.role,
            team_id=member.team_id,
            language=member.language,
            active=True,
            reachable=True,
            digest_enabled=True,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return to_member(row)

    async def update_profile(self, member_id: int, name: str, username: str | None) -> None:
        await self._update(member_id, name=name, username=username)

    async def set_language(self, member_id: int, language: str) -> None:
        await self._update(member_id, language=language)

    async def set_role(self, member_id: int, role: Role, team_id: int | None) -> None:
        await self._update(member_id, role=role, team_id=team_id)

    async def set_menu_signature(self, member_id: int, signature: str) -> None:
        await self._update(member_id, menu_signature=signature)

    async def set_reachable(self, telegram_id: int, reachable: bool) -> None:
        await self._session.execute(
            update(MemberRow)
            .where(MemberRow.telegram_id == telegram_id)
            .values(reachable=reachable, updated_at=self._clock.now())
        )

    async def list_active(self, team_id: int | None = None) -> Sequence[Member]:
        query = select(MemberRow).where(MemberRow.active).order_by(MemberRow.id)
        if team_id is not None:
            query = query.where(MemberRow.team_id == team_id)
        return [to_member(row) for row in await self._session.scalars(query)]

    async def _update(self, member_id: int, **values: object) -> None:
        await self._session.execute(
            update(MemberRow)
            .where(MemberRow.id == member_id)
            .values(updated_at=self._clock.now(), **values)
        )


class SqlTeamRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def by_id(self, team_id: int) -> Team | None:
        row = await self._session.get(TeamRow, team_id)
        return Team(id=row.id, name=row.name) if row else None

    async def by_name(self, name: str) -> Team | None:
        row = await self._session.scalar(select(TeamRow).where(TeamRow.name == name))
        return Team(id=row.id, name=row.name) if row else None

    async def add(self, name: str) -> Team:
        row = TeamRow(name=name, created_at=self._clock.now())
        self._session.add(row)
        await self._session.flush()
        return Team(id=row.id, name=row.name)
