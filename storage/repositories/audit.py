from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import AuditEntry
from storage.models import AuditRow


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entry: AuditEntry) -> None:
        self._session.add(
            AuditRow(
                at=entry.at,
                actor_id=entry.actor_id,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                details=entry.details,
            )
        )

    async def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
        rows = await self._session.scalars(
            select(AuditRow)
            .where(AuditRow.entity_type == entity_type, AuditRow.entity_id == entity_id)
            .order_by(AuditRow.id)
        )
        return [
            AuditEntry(
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                actor_id=row.actor_id,
                at=row.at,
                details=row.details,
            )
            for row in rows
        ]
