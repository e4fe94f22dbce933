"""SQL behind ``crm.exports``: one page of plain rows at a time (keyset pagination on the sort
key), every query scoped by ``visible_to``. Columns are selected one by one, never whole ORM
objects, so a 100,000-row export stays cheap."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, Select, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Visibility
from crm.customers import Stage
from crm.exports.records import (
    CustomerRecord,
    DateCursor,
    DateWindow,
    DealRecord,
    FollowUpRecord,
    TaskRecord,
    TimeCursor,
    Window,
)
from crm.followups import ContactMethod, TaskState
from storage.models import (
    ContactRow,
    CustomerRow,
    CustomerTagRow,
    DealRow,
    FollowUpRow,
    MemberRow,
    TagRow,
    TaskRow,
)
from storage.repositories.customers import visible_to

_IN_CHUNK = 5_000  # ids per IN (...) list, well under SQLite's and asyncpg's parameter limits


class SqlExportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- customers ----------------------------------------------------------------------

    async def count_customers(self, visibility: Visibility) -> int:
        return await self._count(select(func.count()).select_from(CustomerRow), visibility)

    async def customers(
        self, visibility: Visibility, after: int | None, limit: int
    ) -> Sequence[CustomerRecord]:
        query = (
            select(
                CustomerRow.id,
                CustomerRow.code,
                CustomerRow.name,
                CustomerRow.industry,
                CustomerRow.size,
                CustomerRow.source,
                CustomerRow.demand_type,
                CustomerRow.stage,
                CustomerRow.grade,
                CustomerRow.region,
                MemberRow.name,
                CustomerRow.notes,
                CustomerRow.created_at,
                CustomerRow.last_followup_at,
            )
            .join(MemberRow, MemberRow.id == CustomerRow.owner_id)
            .where(self._scope(visibility))
            .order_by(CustomerRow.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(CustomerRow.id > after)
        rows = await self._rows(query)
        if not rows:
            return []
        # The page's customers are the visible ones in (after, last]: contacts and tags by the
        # same range and scope, not by an IN list of 2,000 ids.
        span = and_(self._scope(visibility), CustomerRow.id <= rows[-1][0])
        if after is not None:
            span = and_(span, CustomerRow.id > after)
        contacts = await self._primary_contacts(span)
        tags = await self._tags(span)
        records = []
        for row in rows:
            contact = contacts.get(row[0])
            records.append(
                CustomerRecord(
                    id=row[0],
                    code=row[1],
                    name=row[2],
                    industry=row[3],
                    size=row[4],
                    source=row[5],
                    demand_type=row[6],
                    stage=Stage(row[7]),
                    grade=row[8],
                    region=row[9],
                    owner_name=row[10],
                    notes=row[11],
                    created_at=row[12],
                    last_followup_at=row[13],
                    contact_name=contact[0] if contact else None,
                    contact_title=contact[1] if contact else None,
                    phone=contact[2] if contact else None,
                    email=contact[3] if contact else None,
                    tags=tuple(tags.get(row[0], ())),
                )
            )
        return records

    async def _primary_contacts(
        self, span: ColumnElement[bool]
    ) -> dict[int, tuple[str, str | None, str | None, str | None]]:
        """The primary contact of each customer in ``span`` (else its first one)."""
        found: dict[int, tuple[str, str | None, str | None, str | None]] = {}
        rows = await self._rows(
            select(
                ContactRow.customer_id,
                ContactRow.name,
                ContactRow.title,
                ContactRow.phone,
                ContactRow.email,
            )
            .join(CustomerRow, CustomerRow.id == ContactRow.customer_id)
            .where(span)
            .order_by(ContactRow.customer_id, ContactRow.is_primary.desc(), ContactRow.id)
        )
        for customer_id, name, title, phone, email in rows:
            found.setdefault(customer_id, (name, title, phone, email))
        return found

    async def _tags(self, span: ColumnElement[bool]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = defaultdict(list)
        rows = await self._rows(
            select(CustomerTagRow.customer_id, TagRow.name)
            .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
            .join(CustomerRow, CustomerRow.id == CustomerTagRow.customer_id)
            .where(span)
            .order_by(CustomerTagRow.customer_id, TagRow.name)
        )
        for customer_id, name in rows:
            found[customer_id].append(name)
        return found

    async def visible_customers(
        self, visibility: Visibility, customer_ids: Collection[int]
    ) -> set[int]:
        visible: set[int] = set()
        for chunk in _chunks(sorted(customer_ids)):
            rows = await self._session.scalars(
                select(CustomerRow.id).where(visible_to(visibility), CustomerRow.id.in_(chunk))
            )
            visible.update(rows.all())
        return visible

    # --- follow-up records ----------------------------------------------------------------

    async def count_follow_ups(self, visibility: Visibility, window: Window) -> int:
        query = (
            select(func.count())
            .select_from(FollowUpRow)
            .join(CustomerRow, CustomerRow.id == FollowUpRow.customer_id)
            .where(*_in_window(FollowUpRow.happened_at, window))
        )
        return await self._count(query, visibility)

    async def follow_ups(
        self, visibility: Visibility, window: Window, after: TimeCursor | None, limit: int
    ) -> Sequence[FollowUpRecord]:
        query = (
            select(
                FollowUpRow.id,
                FollowUpRow.happened_at,
                CustomerRow.code,
                CustomerRow.name,
                FollowUpRow.method,
                FollowUpRow.summary,
                FollowUpRow.feedback,
                FollowUpRow.demand_change,
                FollowUpRow.next_step,
                MemberRow.name,
            )
            .join(CustomerRow, CustomerRow.id == FollowUpRow.customer_id)
            .join(MemberRow, MemberRow.id == FollowUpRow.author_id)
            .where(self._scope(visibility), *_in_window(FollowUpRow.happened_at, window))
            .order_by(FollowUpRow.happened_at, FollowUpRow.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_after(FollowUpRow.happened_at, FollowUpRow.id, after))
        return [
            FollowUpRecord(
                id=row[0],
                happened_at=row[1],
                customer_code=row[2],
                customer_name=row[3],
                method=ContactMethod(row[4]),
                summary=row[5],
                feedback=row[6],
                demand_change=row[7],
                next_step=row[8],
                author_name=row[9],
            )
            for row in await self._rows(query)
        ]

    # --- tasks ------------------------------------------------------------------------------

    async def count_tasks(self, visibility: Visibility) -> int:
        query = (
            select(func.count())
            .select_from(TaskRow)
            .join(CustomerRow, CustomerRow.id == TaskRow.customer_id)
        )
        return await self._count(query, visibility)

    async def tasks(
        self, visibility: Visibility, after: TimeCursor | None, limit: int
    ) -> Sequence[TaskRecord]:
        query = (
            select(
                TaskRow.id,
                TaskRow.due_at,
                CustomerRow.code,
                CustomerRow.name,
                TaskRow.method,
                TaskRow.talking_points,
                TaskRow.state,
                MemberRow.name,
                TaskRow.completed_at,
                TaskRow.created_at,
            )
            .join(CustomerRow, CustomerRow.id == TaskRow.customer_id)
            .join(MemberRow, MemberRow.id == TaskRow.assignee_id)
            .where(self._scope(visibility))
            .order_by(TaskRow.due_at, TaskRow.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_after(TaskRow.due_at, TaskRow.id, after))
        return [
            TaskRecord(
                id=row[0],
                due_at=row[1],
                customer_code=row[2],
                customer_name=row[3],
                method=ContactMethod(row[4]) if row[4] is not None else None,
                talking_points=row[5],
                state=TaskState(row[6]),
                assignee_name=row[7],
                completed_at=row[8],
                created_at=row[9],
            )
            for row in await self._rows(query)
        ]

    # --- deals ------------------------------------------------------------------------------

    async def count_deals(self, visibility: Visibility, window: DateWindow) -> int:
        query = (
            select(func.count())
            .select_from(DealRow)
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .where(*_in_dates(window))
        )
        return await self._count(query, visibility)

    async def deals(
        self, visibility: Visibility, window: DateWindow, after: DateCursor | None, limit: int
    ) -> Sequence[DealRecord]:
        query = (
            select(
                DealRow.id,
                DealRow.deal_date,
                CustomerRow.code,
                CustomerRow.name,
                DealRow.product,
                DealRow.amount,
                DealRow.note,
                MemberRow.name,
            )
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .join(MemberRow, MemberRow.id == CustomerRow.owner_id)
            .where(self._scope(visibility), *_in_dates(window))
            .order_by(DealRow.deal_date, DealRow.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_after(DealRow.deal_date, DealRow.id, after))
        return [
            DealRecord(
                id=row[0],
                deal_date=row[1],
                customer_code=row[2],
                customer_name=row[3],
                product=row[4],
                amount=row[5],
                note=row[6],
                owner_name=row[7],
            )
            for row in await self._rows(query)
        ]

    # --- pieces -----------------------------------------------------------------------------

    async def _rows(self, query: Executable) -> Sequence[Any]:
        """Plain rows through the session's connection (the Core path: no ORM loading)."""
        connection = await self._session.connection()
        rows: Sequence[Any] = (await connection.execute(query)).all()
        return rows

    async def _count(self, query: Select[Any], visibility: Visibility) -> int:
        return int(await self._session.scalar(query.where(visible_to(visibility))) or 0)

    def _scope(self, visibility: Visibility) -> ColumnElement[bool]:
        """``visible_to`` for the page queries. On SQLite it is wrapped in ``coalesce`` so the
        planner cannot drive a page from the owner index: it would then gather and sort the
        whole scope for every page (a manager's 100,000 customers: 20 s more). Wrapped, a page
        walks the sort key's index (the primary key, ``happened_at``, ...) from the cursor
        and stops after ``limit`` rows. PostgreSQL's planner needs no such help."""
        clause = visible_to(visibility)
        if self._session.get_bind().dialect.name == "sqlite":
            return func.coalesce(clause, false())
        return clause


def _in_window(column: Any, window: Window) -> list[ColumnElement[bool]]:
    conditions = []
    if window.start is not None:
        conditions.append(column >= window.start)
    if window.end is not None:
        conditions.append(column < window.end)
    return conditions


def _in_dates(window: DateWindow) -> list[ColumnElement[bool]]:
    conditions = []
    if window.first is not None:
        conditions.append(DealRow.deal_date >= window.first)
    if window.last is not None:
        conditions.append(DealRow.deal_date <= window.last)
    return conditions


def _after(
    key: Any, row_id: Any, cursor: tuple[datetime, int] | tuple[date, int]
) -> ColumnElement[bool]:
    """Rows after ``cursor`` in (key, id) order."""
    value, last_id = cursor
    return or_(key > value, and_(key == value, row_id > last_id))


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + _IN_CHUNK] for start in range(0, len(ids), _IN_CHUNK)]
