from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.customers import FieldDefinition, FieldKind
from storage.models import CustomFieldRow


class SqlCustomFieldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self) -> Sequence[FieldDefinition]:
        rows = await self._session.scalars(
            select(CustomFieldRow)
            .where(CustomFieldRow.active)
            .order_by(CustomFieldRow.position, CustomFieldRow.id)
        )
        return [
            FieldDefinition(
                row.key,
                row.label,
                FieldKind(row.kind),
                tuple((row.choices or {}).get("options", ())),
            )
            for row in rows
        ]

    async def define(self, definition: FieldDefinition) -> bool:
        row = await self._session.scalar(
            select(CustomFieldRow).where(CustomFieldRow.key == definition.key)
        )
        if row is not None and row.active:
            return False
        if row is None:
            position = await self._session.scalar(select(func.max(CustomFieldRow.position)))
            row = CustomFieldRow(key=definition.key, position=(position or 0) + 1)
            self._session.add(row)
        row.label, row.kind, row.active = definition.label, definition.kind, True
        row.choices = {"options": list(definition.options)}
        await self._session.flush()
        return True

    async def retire(self, key: str) -> bool:
        row = await self._session.scalar(
            select(CustomFieldRow).where(CustomFieldRow.key == key, CustomFieldRow.active)
        )
        if row is None:
            return False
        row.active = False
        return True
