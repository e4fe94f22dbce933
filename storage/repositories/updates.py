from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdateRow


class SqlProcessedUpdates:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, bot_id: int, update_id: int) -> bool:
        found = await self._session.scalar(
            select(ProcessedUpdateRow.update_id).where(
                ProcessedUpdateRow.bot_id == bot_id, ProcessedUpdateRow.update_id == update_id
            )
        )
        return found is not None

    async def record(self, bot_id: int, update_id: int, at: datetime) -> None:
        self._session.add(ProcessedUpdateRow(bot_id=bot_id, update_id=update_id, processed_at=at))

    async def newest(self, bot_id: int) -> int | None:
        """The highest update id handled for this bot (Telegram's ids only grow)."""
        return await self._session.scalar(
            select(func.max(ProcessedUpdateRow.update_id)).where(
                ProcessedUpdateRow.bot_id == bot_id
            )
        )

    async def prune(self, before: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.processed_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
