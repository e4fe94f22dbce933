from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.clock import Clock
from crm.followups import Attachment, ContactMethod, FollowUp, NewFollowUp
from storage.models import AttachmentRow, FollowUpRow


def _to_follow_up(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        id=row.id,
        customer_id=row.customer_id,
        author_id=row.author_id,
        happened_at=row.happened_at,
        method=ContactMethod(row.method),
        summary=row.summary,
        feedback=row.feedback,
        demand_change=row.demand_change,
        next_step=row.next_step,
    )


class SqlFollowUpRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, follow_up: NewFollowUp) -> FollowUp:
        row = FollowUpRow(
            customer_id=follow_up.customer_id,
            author_id=follow_up.author_id,
            happened_at=follow_up.happened_at,
            method=follow_up.method,
            summary=follow_up.summary,
            feedback=follow_up.feedback,
            demand_change=follow_up.demand_change,
            next_step=follow_up.next_step,
            created_at=self._clock.now(),
        )
        self._session.add(row)
        await self._session.flush()
        return _to_follow_up(row)

    async def add_attachment(self, follow_up_id: int, attachment: Attachment) -> None:
        self._session.add(
            AttachmentRow(
                follow_up_id=follow_up_id,
                kind=attachment.kind,
                telegram_file_id=attachment.telegram_file_id,
                file_unique_id=attachment.file_unique_id,
                file_name=attachment.file_name,
                created_at=self._clock.now(),
            )
        )

    async def latest(self, customer_id: int) -> FollowUp | None:
        row = await self._session.scalar(
            select(FollowUpRow)
            .where(FollowUpRow.customer_id == customer_id)
            .order_by(FollowUpRow.happened_at.desc(), FollowUpRow.id.desc())
            .limit(1)
        )
        return _to_follow_up(row) if row else None
