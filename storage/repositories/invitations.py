from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.invitations import Invitation, NewInvitation
from crm.members import Role
from storage.models import InvitationRow


def _to_invitation(row: InvitationRow) -> Invitation:
    return Invitation(
        id=row.id,
        role=Role(row.role),
        team_id=row.team_id,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_by=row.used_by,
        used_at=row.used_at,
    )


class SqlInvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, invitation: NewInvitation) -> Invitation:
        row = InvitationRow(
            token_hash=invitation.token_hash,
            role=invitation.role,
            team_id=invitation.team_id,
            created_by=invitation.created_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )
        self._session.add(row)
        await self._session.flush()
        return _to_invitation(row)

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        row = await self._session.scalar(
            select(InvitationRow).where(InvitationRow.token_hash == token_hash)
        )
        return _to_invitation(row) if row else None

    async def mark_used(self, invitation_id: int, member_id: int, at: datetime) -> bool:
        result = await self._session.execute(
            update(InvitationRow)
            .where(InvitationRow.id == invitation_id, InvitationRow.used_at.is_(None))
            .values(used_by=member_id, used_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
