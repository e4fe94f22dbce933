from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.dialogs import Dialog
from storage.models import DialogRow


class SqlDialogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, member_id: int) -> Dialog | None:
        row = await self._session.scalar(select(DialogRow).where(DialogRow.member_id == member_id))
        return None if row is None else _dialog(row)

    async def in_step(self, kind: str, step: str, updated_before: datetime) -> list[Dialog]:
        rows = await self._session.scalars(
            select(DialogRow)
            .where(
                DialogRow.kind == kind,
                DialogRow.step == step,
                DialogRow.updated_at < updated_before,
            )
            .order_by(DialogRow.id)
        )
        return [_dialog(row) for row in rows]

    async def save(self, dialog: Dialog, at: datetime) -> None:
        row = await self._session.scalar(
            select(DialogRow).where(DialogRow.member_id == dialog.member_id)
        )
        if row is None:
            self._session.add(
                DialogRow(
                    member_id=dialog.member_id,
                    kind=dialog.kind,
                    step=dialog.step,
                    data=dict(dialog.data),
                    message_id=dialog.message_id,
                    created_at=at,
                    updated_at=at,
                )
            )
        else:
            row.kind, row.step, row.data = dialog.kind, dialog.step, dict(dialog.data)
            row.message_id, row.updated_at = dialog.message_id, at
        await self._session.flush()

    async def clear(self, member_id: int) -> None:
        await self._session.execute(delete(DialogRow).where(DialogRow.member_id == member_id))


def _dialog(row: DialogRow) -> Dialog:
    return Dialog(
        member_id=row.member_id,
        kind=row.kind,
        step=row.step,
        data=dict(row.data),
        message_id=row.message_id,
    )
