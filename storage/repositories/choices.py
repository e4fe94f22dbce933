from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChoiceOptionRow


class SqlChoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def options(self, list_key: str) -> Sequence[str]:
        rows = await self._session.scalars(
            select(ChoiceOptionRow.value)
            .where(ChoiceOptionRow.list_key == list_key, ChoiceOptionRow.active)
            .order_by(ChoiceOptionRow.position, ChoiceOptionRow.id)
        )
        return list(rows)

    async def add(self, list_key: str, value: str) -> bool:
        existing = await self._session.scalar(
            select(ChoiceOptionRow).where(
                ChoiceOptionRow.list_key == list_key, ChoiceOptionRow.value == value
            )
        )
        if existing is not None:
            if existing.active:
                return False
            existing.active = True
            return True
        last = await self._session.scalar(
            select(func.max(ChoiceOptionRow.position)).where(ChoiceOptionRow.list_key == list_key)
        )
        self._session.add(
            ChoiceOptionRow(list_key=list_key, value=value, position=(last or 0) + 1, active=True)
        )
        await self._session.flush()
        return True

    async def remove(self, list_key: str, value: str) -> bool:
        result = await self._session.execute(
            update(ChoiceOptionRow)
            .where(
                ChoiceOptionRow.list_key == list_key,
                ChoiceOptionRow.value == value,
                ChoiceOptionRow.active,
            )
            .values(active=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
