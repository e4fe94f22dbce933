from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.clock import Clock
from crm.followups import ContactMethod, NewTask, Task, TaskState
from crm.reminders import DueReminder
from storage.models import CustomerRow, MemberRow, TaskRow

_ACTIVE = (TaskState.OPEN, TaskState.SNOOZED)


def _to_task(row: TaskRow) -> Task:
    return Task(
        id=row.id,
        customer_id=row.customer_id,
        assignee_id=row.assignee_id,
        due_at=row.due_at,
        method=ContactMethod(row.method) if row.method else None,
        talking_points=row.talking_points,
        state=TaskState(row.state),
        remind_at=row.remind_at,
        reminded_at=row.reminded_at,
        completed_at=row.completed_at,
    )


class SqlTaskRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, task: NewTask) -> Task:
        now = self._clock.now()
        row = TaskRow(
            customer_id=task.customer_id,
            assignee_id=task.assignee_id,
            created_by=task.created_by,
            follow_up_id=task.follow_up_id,
            due_at=task.due_at,
            method=task.method,
            talking_points=task.talking_points,
            state=TaskState.OPEN,
            remind_at=task.due_at,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return _to_task(row)

    async def get(self, task_id: int) -> Task | None:
        row = await self._session.get(TaskRow, task_id)
        return _to_task(row) if row else None

    async def next_open(self, customer_id: int) -> Task | None:
        row = await self._session.scalar(
            select(TaskRow)
            .where(TaskRow.customer_id == customer_id, TaskRow.state.in_(_ACTIVE))
            .order_by(TaskRow.due_at)
            .limit(1)
        )
        return _to_task(row) if row else None

    async def open_for(
        self,
        assignee_id: int,
        due_before: datetime | None,
        due_after: datetime | None,
        limit: int,
        offset: int,
    ) -> Sequence[Task]:
        query = select(TaskRow).where(
            TaskRow.assignee_id == assignee_id, TaskRow.state.in_(_ACTIVE)
        )
        if due_before is not None:
            query = query.where(TaskRow.due_at < due_before)
        if due_after is not None:
            query = query.where(TaskRow.due_at >= due_after)
        rows = await self._session.scalars(
            query.order_by(TaskRow.due_at, TaskRow.id).limit(limit).offset(offset)
        )
        return [_to_task(row) for row in rows]

    async def set_state(self, task_id: int, state: TaskState, at: datetime) -> None:
        done = state in (TaskState.DONE, TaskState.CANCELLED)
        await self._session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id)
            .values(state=state, completed_at=at if done else None, updated_at=at)
        )

    async def reschedule(self, task_id: int, remind_at: datetime, at: datetime) -> None:
        await self._session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id)
            .values(
                state=TaskState.SNOOZED,
                due_at=remind_at,
                remind_at=remind_at,
                reminded_at=None,
                overdue_warned_at=None,
                updated_at=at,
            )
        )

    async def claim_due_reminders(self, now: datetime, limit: int) -> Sequence[DueReminder]:
        """One statement marks them reminded: ``FOR UPDATE SKIP LOCKED`` keeps two processes
        on PostgreSQL apart; on SQLite the write lock does."""
        due = TaskRow.reminded_at.is_(None) & (TaskRow.remind_at <= now)
        ids = await self._claim(due, TaskRow.remind_at, {"reminded_at": now}, limit)
        return await self._reminders(ids)

    async def claim_overdue(
        self, now: datetime, overdue_before: datetime, limit: int
    ) -> Sequence[DueReminder]:
        # Only once its reminder has had the delay too: after downtime, one late reminder
        # goes out rather than a reminder and a warning at the same moment.
        overdue = (
            TaskRow.overdue_warned_at.is_(None)
            & (TaskRow.due_at <= overdue_before)
            & (TaskRow.reminded_at <= overdue_before)
        )
        ids = await self._claim(overdue, TaskRow.due_at, {"overdue_warned_at": now}, limit)
        return await self._reminders(ids)

    async def reassign_open(self, customer_id: int, assignee_id: int, at: datetime) -> int:
        result = await self._session.execute(
            update(TaskRow)
            .where(TaskRow.customer_id == customer_id, TaskRow.state.in_(_ACTIVE))
            .values(assignee_id=assignee_id, updated_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _claim(
        self,
        condition: ColumnElement[bool],
        order: object,
        values: dict[str, datetime],
        limit: int,
    ) -> list[int]:
        picked = (
            select(TaskRow.id)
            .where(TaskRow.state.in_(_ACTIVE), condition)
            .order_by(order, TaskRow.id)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            update(TaskRow)
            .where(TaskRow.id.in_(picked))
            .values(**values)
            .returning(TaskRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(result.scalars().all())

    async def _reminders(self, task_ids: list[int]) -> list[DueReminder]:
        if not task_ids:
            return []
        rows = await self._session.execute(
            select(
                TaskRow,
                CustomerRow.code,
                CustomerRow.name,
                MemberRow.telegram_id,
                MemberRow.language,
                MemberRow.timezone,
            )
            .join(CustomerRow, CustomerRow.id == TaskRow.customer_id)
            .join(MemberRow, MemberRow.id == TaskRow.assignee_id)
            .where(TaskRow.id.in_(task_ids))
            .order_by(TaskRow.remind_at, TaskRow.id)
        )
        return [
            DueReminder(
                task_id=task.id,
                customer_id=task.customer_id,
                customer_code=code,
                customer_name=name,
                assignee_telegram_id=telegram_id,
                assignee_language=language,
                assignee_timezone=timezone,
                due_at=task.due_at,
                remind_at=task.remind_at,
                method=ContactMethod(task.method) if task.method else None,
                talking_points=task.talking_points,
            )
            for task, code, name, telegram_id, language, timezone in rows.all()
        ]
