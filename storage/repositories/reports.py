"""SQL behind ``crm.reports``: one aggregate statement per figure (GROUP BY, window functions),
each scoped by ``visible_to``; the same SQL on SQLite and PostgreSQL except day arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Visibility
from crm.customers import Stage
from crm.followups import TaskState
from crm.members import Role
from crm.reports.records import (
    DIMENSIONS,
    CustomerFigure,
    Funnel,
    RepFigures,
    SegmentRow,
    StageDuration,
    Totals,
    Window,
)
from storage.models import (
    CustomerRow,
    DealRow,
    FollowUpRow,
    MemberRow,
    StageChangeRow,
    TaskRow,
)
from storage.repositories.customers import visible_to
from storage.types import UTCDateTime

_MONEY = Numeric(14, 2)
_ZERO = Decimal("0.00")
_REACHED_INTENT = (Stage.INTENT, Stage.DEAL)


def _money(value: Any) -> Decimal:
    if value is None:
        return _ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _sum_money(column: Any) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(column), 0), _MONEY)


class SqlReportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def totals(self, visibility: Visibility, window: Window) -> Totals:
        seen = visible_to(visibility)
        customers = (
            select(func.count(CustomerRow.id))
            .where(seen, CustomerRow.created_at < window.end_at)
            .scalar_subquery()
        )
        new_customers = (
            select(func.count(CustomerRow.id))
            .where(
                seen,
                CustomerRow.created_at >= window.start_at,
                CustomerRow.created_at < window.end_at,
            )
            .scalar_subquery()
        )
        in_period = (
            select(
                func.count(DealRow.id).label("deals"),
                _sum_money(DealRow.amount).label("amount"),
                func.count(DealRow.customer_id.distinct()).label("paying"),
            )
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .where(seen, DealRow.deal_date.between(window.first_day, window.last_day))
            .subquery()
        )
        per_buyer = (
            select(DealRow.customer_id, func.count(DealRow.id).label("deals"))
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .where(seen, DealRow.deal_date <= window.last_day)
            .group_by(DealRow.customer_id)
            .subquery()
        )
        buyers = (
            select(
                func.count(per_buyer.c.customer_id).label("buyers"),
                func.coalesce(func.sum(case((per_buyer.c.deals >= 2, 1), else_=0)), 0).label(
                    "repeat"
                ),
            )
        ).subquery()
        row = (
            await self._session.execute(
                select(
                    customers,
                    new_customers,
                    in_period.c.deals,
                    in_period.c.amount,
                    in_period.c.paying,
                    buyers.c.buyers,
                    buyers.c.repeat,
                ).select_from(in_period.join(buyers, literal(True)))
            )
        ).one()
        return Totals(
            customers=int(row[0] or 0),
            new_customers=int(row[1] or 0),
            deals=int(row[2] or 0),
            amount=_money(row[3]),
            paying_customers=int(row[4] or 0),
            buyers=int(row[5] or 0),
            repeat_buyers=int(row[6] or 0),
        )

    async def funnel(self, visibility: Visibility, window: Window) -> Funnel:
        def reached(*stages: Stage) -> ColumnElement[int]:
            change = exists().where(
                StageChangeRow.customer_id == CustomerRow.id,
                StageChangeRow.to_stage.in_(stages),
                StageChangeRow.changed_at < window.end_at,
            )
            return func.coalesce(func.sum(case((change, 1), else_=0)), 0)

        row = (
            await self._session.execute(
                select(
                    func.count(CustomerRow.id),
                    reached(*_REACHED_INTENT),
                    reached(Stage.DEAL),
                    reached(Stage.LOST),
                ).where(
                    visible_to(visibility),
                    CustomerRow.created_at >= window.start_at,
                    CustomerRow.created_at < window.end_at,
                )
            )
        ).one()
        return Funnel(*(int(value or 0) for value in row))

    async def stage_durations(
        self, visibility: Visibility, window: Window
    ) -> Sequence[StageDuration]:
        moved = select(StageChangeRow.customer_id).where(  # only they can have left a stage
            StageChangeRow.changed_at >= window.start_at, StageChangeRow.changed_at < window.end_at
        )
        ordered = (
            select(
                StageChangeRow.to_stage.label("stage"),
                StageChangeRow.changed_at.label("entered"),
                func.lead(StageChangeRow.changed_at, type_=UTCDateTime())
                .over(
                    partition_by=StageChangeRow.customer_id,
                    order_by=(StageChangeRow.changed_at, StageChangeRow.id),
                )
                .label("left"),
            )
            .join(CustomerRow, CustomerRow.id == StageChangeRow.customer_id)
            .where(
                visible_to(visibility),
                StageChangeRow.changed_at < window.end_at,
                StageChangeRow.customer_id.in_(moved),
            )
            .subquery()
        )
        days = self._days_between(ordered.c.entered, ordered.c.left)
        rows = await self._session.execute(
            select(ordered.c.stage, func.avg(days), func.count())
            .where(ordered.c.left >= window.start_at, ordered.c.left < window.end_at)
            .group_by(ordered.c.stage)
        )
        found = {Stage(stage): (float(average or 0), int(count)) for stage, average, count in rows}
        return [
            StageDuration(stage, round(found[stage][0], 2), found[stage][1])
            for stage in Stage
            if stage in found
        ]

    async def segments(
        self, visibility: Visibility, window: Window, dimension: str
    ) -> Sequence[SegmentRow]:
        if dimension not in DIMENSIONS:
            raise ValueError(f"not a report dimension: {dimension}")
        column = getattr(CustomerRow, dimension)
        value = (
            select(DealRow.customer_id, func.sum(DealRow.amount).label("value"))
            .where(DealRow.deal_date <= window.last_day)
            .group_by(DealRow.customer_id)
            .subquery()
        )
        counted = func.count(CustomerRow.id)
        rows = await self._session.execute(
            select(column, counted, func.count(value.c.value), _sum_money(value.c.value))
            .select_from(CustomerRow)
            .outerjoin(value, value.c.customer_id == CustomerRow.id)
            .where(visible_to(visibility), CustomerRow.created_at < window.end_at)
            .group_by(column)
            .order_by(counted.desc(), column.is_(None), column)
        )
        return [
            SegmentRow(name, int(customers), int(paying), _money(total))
            for name, customers, paying, total in rows
        ]

    async def top_by_amount(
        self, visibility: Visibility, window: Window, limit: int
    ) -> Sequence[CustomerFigure]:
        return await self._per_customer(
            visibility,
            DealRow.deal_date.between(window.first_day, window.last_day),
            limit,
            repurchase=False,
        )

    async def top_by_repurchase(
        self, visibility: Visibility, window: Window, limit: int
    ) -> Sequence[CustomerFigure]:
        return await self._per_customer(
            visibility, DealRow.deal_date <= window.last_day, limit, repurchase=True
        )

    async def _per_customer(
        self,
        visibility: Visibility,
        when: ColumnElement[bool],
        limit: int,
        *,
        repurchase: bool,
    ) -> Sequence[CustomerFigure]:
        amount = _sum_money(DealRow.amount)
        deals = func.count(DealRow.id)
        statement = (
            select(CustomerRow.id, CustomerRow.code, CustomerRow.name, amount, deals)
            .join(DealRow, DealRow.customer_id == CustomerRow.id)
            .where(visible_to(visibility), when)
            .group_by(CustomerRow.id, CustomerRow.code, CustomerRow.name)
        )
        if repurchase:
            statement = statement.having(deals >= 2).order_by(
                deals.desc(), amount.desc(), CustomerRow.id
            )
        else:
            statement = statement.order_by(amount.desc(), deals.desc(), CustomerRow.id)
        rows = await self._session.execute(statement.limit(limit))
        return [
            CustomerFigure(int(cid), code, name, _money(total), int(count))
            for cid, code, name, total, count in rows
        ]

    async def leaderboard(
        self, visibility: Visibility, window: Window, now: datetime
    ) -> Sequence[RepFigures]:
        seen = visible_to(visibility)
        follow_ups = (
            select(FollowUpRow.author_id.label("member_id"), func.count(FollowUpRow.id).label("n"))
            .join(CustomerRow, CustomerRow.id == FollowUpRow.customer_id)
            .where(
                seen,
                FollowUpRow.happened_at >= window.start_at,
                FollowUpRow.happened_at < window.end_at,
            )
            .group_by(FollowUpRow.author_id)
            .subquery()
        )
        deals = (
            select(
                CustomerRow.owner_id.label("member_id"),
                func.count(DealRow.id).label("n"),
                _sum_money(DealRow.amount).label("amount"),
            )
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .where(seen, DealRow.deal_date.between(window.first_day, window.last_day))
            .group_by(CustomerRow.owner_id)
            .subquery()
        )
        overdue = (
            select(TaskRow.assignee_id.label("member_id"), func.count(TaskRow.id).label("n"))
            .join(CustomerRow, CustomerRow.id == TaskRow.customer_id)
            .where(
                seen,
                TaskRow.due_at >= window.start_at,
                TaskRow.due_at < window.end_at,
                TaskRow.due_at < now,
                TaskRow.state != TaskState.CANCELLED,
                or_(TaskRow.completed_at.is_(None), TaskRow.completed_at > TaskRow.due_at),
            )
            .group_by(TaskRow.assignee_id)
            .subquery()
        )
        amount = type_coerce(func.coalesce(deals.c.amount, 0), _MONEY)
        deal_count = func.coalesce(deals.c.n, 0)
        follow_count = func.coalesce(follow_ups.c.n, 0)
        rows = await self._session.execute(
            select(
                MemberRow.id,
                MemberRow.name,
                follow_count,
                deal_count,
                amount,
                func.coalesce(overdue.c.n, 0),
            )
            .outerjoin(follow_ups, follow_ups.c.member_id == MemberRow.id)
            .outerjoin(deals, deals.c.member_id == MemberRow.id)
            .outerjoin(overdue, overdue.c.member_id == MemberRow.id)
            .where(
                or_(
                    follow_ups.c.n.is_not(None),
                    deals.c.n.is_not(None),
                    overdue.c.n.is_not(None),
                    and_(
                        MemberRow.active.is_(True),
                        MemberRow.role == Role.REP,
                        self._members_in_scope(visibility),
                    ),
                )
            )
            .order_by(amount.desc(), deal_count.desc(), follow_count.desc(), MemberRow.id)
        )
        return [
            RepFigures(int(mid), name, int(f), int(d), _money(a), int(o))
            for mid, name, f, d, a, o in rows
        ]

    @staticmethod
    def _members_in_scope(visibility: Visibility) -> ColumnElement[bool]:
        if visibility.sees_everything:
            return MemberRow.id.is_not(None)
        if visibility.sees_team:
            return or_(
                MemberRow.id == visibility.member_id, MemberRow.team_id == visibility.team_id
            )
        return MemberRow.id == visibility.member_id

    def _days_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        if self._session.get_bind().dialect.name == "sqlite":
            return func.julianday(end) - func.julianday(start)
        return func.extract("epoch", end - start) / 86400.0
