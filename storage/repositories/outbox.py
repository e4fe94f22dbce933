from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm.outbox import OutboxCounts, OutboxItem, OutboxStatus, OutgoingMessage
from storage.models import OutboxRow

_ERROR_MAX = 500


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.enqueued = 0

    async def enqueue(self, message: OutgoingMessage, now: datetime) -> bool:
        return await self.enqueue_many([message], now) == 1

    async def enqueue_many(self, messages: Sequence[OutgoingMessage], now: datetime) -> int:
        """One multi-row INSERT; messages whose key is already there are skipped."""
        if not messages:
            return 0
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(OutboxRow)
            .values(
                [
                    {
                        "idempotency_key": message.key,
                        "chat_id": message.chat_id,
                        "payload": message.payload(),
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "not_before": message.not_before or now,
                        "created_at": now,
                    }
                    for message in messages
                ]
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        result = await self._session.execute(statement)
        added = int(result.rowcount)  # type: ignore[attr-defined]
        self.enqueued += added
        return added

    async def claim(
        self, *, worker: str, now: datetime, stale_before: datetime, limit: int
    ) -> Sequence[OutboxItem]:
        """One statement: on PostgreSQL rows locked by another worker are skipped; on SQLite the
        write lock taken by ``BEGIN IMMEDIATE`` makes the status change atomic."""
        due = or_(
            and_(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.not_before <= now),
            and_(OutboxRow.status == OutboxStatus.SENDING, OutboxRow.claimed_at < stale_before),
        )
        picked = (
            select(OutboxRow.id)
            .where(due)
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(picked))
            .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
            .returning(
                OutboxRow.id,
                OutboxRow.idempotency_key,
                OutboxRow.chat_id,
                OutboxRow.payload,
                OutboxRow.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        items = [
            OutboxItem(
                id=row.id,
                key=row.idempotency_key,
                chat_id=row.chat_id,
                payload=row.payload,
                attempts=row.attempts,
            )
            for row in result
        ]
        return sorted(items, key=lambda item: item.id)

    async def mark_sent(self, item_id: int, telegram_message_id: int | None, at: datetime) -> None:
        await self._set(
            item_id, status=OutboxStatus.SENT, sent_at=at, telegram_message_id=telegram_message_id
        )

    async def reschedule(
        self, item_id: int, not_before: datetime, error: str, attempts: int
    ) -> None:
        await self._set(
            item_id,
            status=OutboxStatus.PENDING,
            not_before=not_before,
            attempts=attempts,
            last_error=error[:_ERROR_MAX],
            claimed_by=None,
            claimed_at=None,
        )

    async def mark_failed(self, item_id: int, error: str, at: datetime) -> None:
        await self._set(
            item_id,
            status=OutboxStatus.FAILED,
            sent_at=None,
            last_error=f"{at.isoformat()} {error}"[:_ERROR_MAX],
        )

    async def counts(self) -> OutboxCounts:
        rows = await self._session.execute(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        )
        by_status = {OutboxStatus(status): count for status, count in rows.all()}
        return OutboxCounts(**{status.value: by_status.get(status, 0) for status in OutboxStatus})

    async def _set(self, item_id: int, **values: object) -> None:
        await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
