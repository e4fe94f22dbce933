"""Export jobs: an export asked for and not yet delivered, one per member at most."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm.exports.records import ExportJob, ExportKind
from storage.models import ExportJobRow


class SqlExportJobs:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        member_id: int,
        chat_id: int,
        kind: ExportKind,
        period: str,
        zone: str,
        language: str,
        at: datetime,
    ) -> ExportJob | None:
        """One statement, so that two processes asked at once make one job, not an error."""
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(ExportJobRow)
            .values(
                member_id=member_id,
                chat_id=chat_id,
                kind=kind.value,
                period=period,
                zone=zone,
                language=language,
                requested_at=at,
            )
            .on_conflict_do_nothing(index_elements=["member_id"])
            .returning(ExportJobRow.id)
        )
        job_id = await self._session.scalar(statement)
        if job_id is None:
            return None
        return ExportJob(job_id, member_id, chat_id, kind, period, zone, language)

    async def of_member(self, member_id: int) -> ExportJob | None:
        row = await self._session.scalar(
            select(ExportJobRow).where(ExportJobRow.member_id == member_id)
        )
        return None if row is None else _job(row)

    async def claim(self, job_id: int, worker: str, now: datetime, stale_before: datetime) -> bool:
        result = await self._session.execute(
            update(ExportJobRow)
            .where(
                ExportJobRow.id == job_id,
                or_(ExportJobRow.claimed_at.is_(None), ExportJobRow.claimed_at < stale_before),
            )
            .values(claimed_by=worker, claimed_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def renew(self, job_id: int, worker: str, now: datetime) -> bool:
        result = await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id, ExportJobRow.claimed_by == worker)
            .values(claimed_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_progress(self, job_id: int, message_id: int) -> None:
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id)
            .values(progress_message_id=message_id)
        )

    async def finish(self, job_id: int) -> None:
        await self._session.execute(delete(ExportJobRow).where(ExportJobRow.id == job_id))

    async def stale(self, stale_before: datetime) -> list[ExportJob]:
        held_since = func.coalesce(ExportJobRow.claimed_at, ExportJobRow.requested_at)
        rows = await self._session.scalars(
            select(ExportJobRow).where(held_since < stale_before).order_by(ExportJobRow.id)
        )
        return [_job(row) for row in rows]


def _job(row: ExportJobRow) -> ExportJob:
    return ExportJob(
        id=row.id,
        member_id=row.member_id,
        chat_id=row.chat_id,
        kind=ExportKind(row.kind),
        period=row.period,
        zone=row.zone,
        language=row.language,
        progress_message_id=row.progress_message_id,
    )
