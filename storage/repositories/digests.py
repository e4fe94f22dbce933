"""SQL behind ``crm.digests``: each figure is one GROUP BY per rep with conditional sums for
"yesterday" and "week so far", so a digest costs a handful of aggregate queries whatever the
number of rows, and one set of them serves every manager due at the same time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import util as sql_util

from crm.access import Visibility
from crm.customers import Stage
from crm.digests.records import (
    Activity,
    AgendaTask,
    DealLine,
    OverdueTask,
    Period,
    RepAgenda,
    RepStats,
    StaleCustomer,
    SurveyProgress,
    Window,
)
from crm.followups import ContactMethod, TaskState
from crm.surveys.records import ResponseState, SurveyStatus
from storage.models import (
    CustomerRow,
    DealRow,
    FollowUpRow,
    MemberRow,
    OutboxRow,
    StageChangeRow,
    SurveyResponseRow,
    SurveyRow,
    TaskRow,
)
from storage.repositories.customers import visible_to

_ACTIVE = (TaskState.OPEN, TaskState.SNOOZED)
_KEYS_PER_QUERY = 500


def _in(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


def _days(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.first_day, column <= window.last_day)


def _last_touch() -> Any:
    return func.coalesce(CustomerRow.last_followup_at, CustomerRow.created_at)


def _idle(stale_since: dict[Stage, datetime]) -> ColumnElement[bool]:
    """In a stage with a cut-off, and untouched since it."""
    return or_(
        *(
            (CustomerRow.stage == stage) & (_last_touch() < cutoff)
            for stage, cutoff in stale_since.items()
        )
    )


def _adapt(expression: Any, table: Any, alias: Any) -> Any:
    """The same expression over an alias of its table."""
    element = getattr(expression, "__clause_element__", None)
    clause = element() if element is not None else expression
    return sql_util.ClauseAdapter(inspect(alias).selectable).traverse(clause)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _total(condition: ColumnElement[bool], amount: Any) -> Any:
    return func.sum(case((condition, amount), else_=0), type_=Numeric(18, 2))


class _Tally:
    """Per-rep figures as the queries return them."""

    def __init__(self) -> None:
        self.yesterday: dict[int, dict[str, Any]] = {}
        self.week: dict[int, dict[str, Any]] = {}
        self.overdue: dict[int, int] = {}
        self.stale: dict[int, int] = {}

    def add(self, rep: int, field: str, yesterday: Any, week: Any) -> None:
        self.yesterday.setdefault(rep, {})[field] = yesterday or 0
        self.week.setdefault(rep, {})[field] = week or 0

    def stats(self) -> dict[int, RepStats]:
        reps = self.yesterday.keys() | self.overdue.keys() | self.stale.keys()
        return {
            rep: RepStats(
                member_id=rep,
                yesterday=_activity(self.yesterday.get(rep, {})),
                week=_activity(self.week.get(rep, {})),
                overdue=self.overdue.get(rep, 0),
                stale=self.stale.get(rep, 0),
            )
            for rep in reps
        }


def _activity(values: dict[str, Any]) -> Activity:
    amount = values.pop("amount", 0) or 0
    return Activity(
        **{name: int(value) for name, value in values.items()},
        amount=Decimal(str(amount)).quantize(Decimal("0.01")),
    )


class SqlDigestQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def rep_stats(
        self,
        owners: Sequence[int] | None,
        period: Period,
        stale_since: dict[Stage, datetime],
        now: datetime,
    ) -> dict[int, RepStats]:
        tally = _Tally()
        y, w = period.yesterday, period.week

        def only(column: Any) -> list[ColumnElement[bool]]:
            return [] if owners is None else [column.in_(list(owners))]

        # Follow-ups logged, by their author.
        rows = await self._session.execute(
            select(
                FollowUpRow.author_id,
                _count(_in(FollowUpRow.happened_at, y)),
                _count(_in(FollowUpRow.happened_at, w)),
            )
            .where(
                FollowUpRow.happened_at >= period.start,
                FollowUpRow.happened_at < period.end,
                *only(FollowUpRow.author_id),
            )
            .group_by(FollowUpRow.author_id)
        )
        for rep, yesterday, week in rows.all():
            tally.add(rep, "follow_ups", yesterday, week)

        # Tasks done, by assignee.
        rows = await self._session.execute(
            select(
                TaskRow.assignee_id,
                _count(_in(TaskRow.completed_at, y)),
                _count(_in(TaskRow.completed_at, w)),
            )
            .where(
                TaskRow.state == TaskState.DONE,
                TaskRow.completed_at >= period.start,
                TaskRow.completed_at < period.end,
                *only(TaskRow.assignee_id),
            )
            .group_by(TaskRow.assignee_id)
        )
        for rep, yesterday, week in rows.all():
            tally.add(rep, "tasks_done", yesterday, week)

        # Tasks overdue now, by assignee.
        rows = await self._session.execute(
            select(TaskRow.assignee_id, func.count())
            .where(TaskRow.state.in_(_ACTIVE), TaskRow.due_at < now, *only(TaskRow.assignee_id))
            .group_by(TaskRow.assignee_id)
        )
        tally.overdue = {rep: int(count) for rep, count in rows.all()}

        # New customers, and stale ones, by owner: one pass over the customers.
        idle = _idle(stale_since) if stale_since else None
        rows = await self._session.execute(
            select(
                CustomerRow.owner_id,
                _count(_in(CustomerRow.created_at, y)),
                _count(_in(CustomerRow.created_at, w)),
                _count(idle) if idle is not None else func.sum(0),
            )
            .where(*only(CustomerRow.owner_id))
            .group_by(CustomerRow.owner_id)
        )
        for rep, yesterday, week, stale in rows.all():
            tally.add(rep, "new_customers", yesterday, week)
            if stale:
                tally.stale[rep] = int(stale)

        # Stage moves and conversions, by the customer's owner.
        to_deal = StageChangeRow.to_stage == Stage.DEAL
        rows = await self._session.execute(
            select(
                CustomerRow.owner_id,
                _count(_in(StageChangeRow.changed_at, y)),
                _count(_in(StageChangeRow.changed_at, w)),
                _count(and_(_in(StageChangeRow.changed_at, y), to_deal)),
                _count(and_(_in(StageChangeRow.changed_at, w), to_deal)),
            )
            .join(CustomerRow, CustomerRow.id == StageChangeRow.customer_id)
            .where(
                StageChangeRow.changed_at >= period.start,
                StageChangeRow.changed_at < period.end,
                StageChangeRow.from_stage.is_not(None),  # creation is not a move
                *only(CustomerRow.owner_id),
            )
            .group_by(CustomerRow.owner_id)
        )
        for rep, moved_y, moved_w, won_y, won_w in rows.all():
            tally.add(rep, "stage_moves", moved_y, moved_w)
            tally.add(rep, "conversions", won_y, won_w)

        # Deals and their amounts, by the customer's owner (deals carry a local date).
        first_day = min(y.first_day, w.first_day)
        last_day = max(y.last_day, w.last_day)
        rows = await self._session.execute(
            select(
                CustomerRow.owner_id,
                _count(_days(DealRow.deal_date, y)),
                _count(_days(DealRow.deal_date, w)),
                _total(_days(DealRow.deal_date, y), DealRow.amount),
                _total(_days(DealRow.deal_date, w), DealRow.amount),
            )
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .where(
                DealRow.deal_date >= first_day,
                DealRow.deal_date <= last_day,
                *only(CustomerRow.owner_id),
            )
            .group_by(CustomerRow.owner_id)
        )
        for rep, deals_y, deals_w, amount_y, amount_w in rows.all():
            tally.add(rep, "deals", deals_y, deals_w)
            tally.add(rep, "amount", amount_y, amount_w)
        return tally.stats()

    async def agendas(
        self,
        reps: Sequence[int],
        now: datetime,
        until: datetime,
        stale_since: dict[Stage, datetime],
        limit: int,
    ) -> dict[int, RepAgenda]:
        """For all the reps at once: the totals from GROUP BY, and the first ``limit`` rows per
        rep (and per overdue / today) from a top-N per rep (see ``_first_rows``)."""
        if not reps:
            return {}
        found: dict[int, dict[str, Any]] = {rep: {} for rep in reps}
        late = case((TaskRow.due_at < now, 1), else_=0)
        open_before = (TaskRow.state.in_(_ACTIVE), TaskRow.due_at < until)
        rows = await self._session.execute(
            select(TaskRow.assignee_id, late, func.count())
            .where(TaskRow.assignee_id.in_(list(reps)), *open_before)
            .group_by(TaskRow.assignee_id, late)
        )
        for rep, is_late, total in rows.all():
            found[rep]["overdue_total" if is_late else "today_total"] = int(total)
        for part, window in (("overdue", TaskRow.due_at < now), ("today", TaskRow.due_at >= now)):
            first = await self._first_rows(
                owner=TaskRow.assignee_id,
                reps=reps,
                where=(*open_before, window),
                order_by=(TaskRow.due_at, TaskRow.id),
                columns=(
                    TaskRow.id,
                    TaskRow.customer_id,
                    TaskRow.due_at,
                    TaskRow.method,
                    TaskRow.talking_points,
                ),
                limit=limit,
            )
            labels = await self._labels({row.customer_id for row in first})
            for row in first:
                code, name = labels.get(row.customer_id, ("?", "?"))
                found[row.rep].setdefault(part, []).append(
                    AgendaTask(
                        task_id=row.id,
                        customer_id=row.customer_id,
                        customer_code=code,
                        customer_name=name,
                        due_at=row.due_at,
                        method=ContactMethod(row.method) if row.method else None,
                        talking_points=row.talking_points,
                    )
                )
        if stale_since:
            idle = _idle(stale_since)
            rows = await self._session.execute(
                select(CustomerRow.owner_id, func.count())
                .where(CustomerRow.owner_id.in_(list(reps)), idle)
                .group_by(CustomerRow.owner_id)
            )
            for rep, total in rows.all():
                found[rep]["stale_total"] = int(total)
            for row in await self._first_rows(
                owner=CustomerRow.owner_id,
                reps=reps,
                where=(idle,),
                order_by=(_last_touch(), CustomerRow.id),
                columns=(CustomerRow.id, CustomerRow.code, CustomerRow.name),
                limit=limit,
            ):
                found[row.rep].setdefault("stale", []).append(
                    StaleCustomer(row.id, row.code, row.name)
                )
        return {
            rep: RepAgenda(
                member_id=rep,
                overdue=tuple(entry.get("overdue", ())),
                overdue_total=entry.get("overdue_total", 0),
                today=tuple(entry.get("today", ())),
                today_total=entry.get("today_total", 0),
                stale=tuple(entry.get("stale", ())),
                stale_total=entry.get("stale_total", 0),
            )
            for rep, entry in found.items()
        }

    async def _first_rows(
        self,
        *,
        owner: Any,
        reps: Sequence[int],
        where: Sequence[ColumnElement[bool]],
        order_by: Sequence[Any],
        columns: Sequence[Any],
        limit: int,
    ) -> Sequence[Any]:
        """The first ``limit`` rows per rep of one table, as rows with ``rep`` and ``columns``.
        PostgreSQL: a window function. SQLite (whose window functions sort every matching row):
        a correlated ``id IN (… ORDER BY … LIMIT n)`` per member, which reads only the first
        entries of each rep's index range."""
        table = owner.class_
        if self._session.get_bind().dialect.name == "postgresql":
            ranked = (
                select(
                    owner.label("rep"),
                    *columns,
                    func.row_number().over(partition_by=owner, order_by=order_by).label("n"),
                )
                .where(owner.in_(list(reps)), *where)
                .subquery()
            )
            result = await self._session.execute(
                select(ranked).where(ranked.c.n <= limit).order_by(ranked.c.rep, ranked.c.n)
            )
            return result.all()
        inner = aliased(table)
        first = (
            select(inner.id)
            .where(
                getattr(inner, owner.key) == MemberRow.id,
                *(_adapt(condition, table, inner) for condition in where),
            )
            .order_by(*(_adapt(column, table, inner) for column in order_by))
            .limit(limit)
        )
        result = await self._session.execute(
            select(MemberRow.id.label("rep"), *columns)
            .select_from(MemberRow)
            .join(table, table.id.in_(first))
            .where(MemberRow.id.in_(list(reps)))
            .order_by(MemberRow.id, *order_by)
        )
        return result.all()

    async def _labels(self, customer_ids: set[int]) -> dict[int, tuple[str, str]]:
        if not customer_ids:
            return {}
        rows = await self._session.execute(
            select(CustomerRow.id, CustomerRow.code, CustomerRow.name).where(
                CustomerRow.id.in_(customer_ids)
            )
        )
        return {customer_id: (code, name) for customer_id, code, name in rows.all()}

    async def survey_progress(self, period: Period) -> Sequence[SurveyProgress]:
        done = SurveyResponseRow.completed_at
        rows = await self._session.execute(
            select(
                SurveyRow.id,
                SurveyRow.title,
                _count(_in(done, period.yesterday)),
                _count(_in(done, period.week)),
                func.count(),
                _count(SurveyResponseRow.valid.is_(True)),
            )
            .join(SurveyResponseRow, SurveyResponseRow.survey_id == SurveyRow.id)
            .where(
                SurveyRow.status == SurveyStatus.OPEN,
                SurveyResponseRow.state == ResponseState.COMPLETED,
            )
            .group_by(SurveyRow.id, SurveyRow.title)
            .order_by(SurveyRow.id)
        )
        return [
            SurveyProgress(
                survey_id=survey_id,
                title=title,
                yesterday=int(yesterday or 0),
                week=int(week or 0),
                total=int(total or 0),
                valid=int(valid or 0),
            )
            for survey_id, title, yesterday, week, total, valid in rows.all()
        ]

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = list(keys[start : start + _KEYS_PER_QUERY])
            found |= set(
                await self._session.scalars(
                    select(OutboxRow.idempotency_key).where(OutboxRow.idempotency_key.in_(chunk))
                )
            )
        return found

    async def set_settings(self, member_id: int, at: str | None, enabled: bool) -> None:
        await self._session.execute(
            update(MemberRow)
            .where(MemberRow.id == member_id)
            .values(digest_time=at, digest_enabled=enabled)
        )

    async def overdue_tasks(
        self, assignee_id: int, now: datetime, limit: int
    ) -> Sequence[OverdueTask]:
        rows = await self._session.execute(
            select(
                TaskRow.id,
                TaskRow.customer_id,
                CustomerRow.code,
                CustomerRow.name,
                TaskRow.due_at,
                TaskRow.talking_points,
            )
            .join(CustomerRow, CustomerRow.id == TaskRow.customer_id)
            .where(
                TaskRow.assignee_id == assignee_id,
                TaskRow.state.in_(_ACTIVE),
                TaskRow.due_at < now,
            )
            .order_by(TaskRow.due_at, TaskRow.id)
            .limit(limit)
        )
        return [OverdueTask(*row) for row in rows.all()]

    async def deals_between(
        self, visibility: Visibility, first_day: date, last_day: date, limit: int
    ) -> Sequence[DealLine]:
        rows = await self._session.execute(
            select(
                CustomerRow.id,
                CustomerRow.code,
                CustomerRow.name,
                MemberRow.name,
                DealRow.amount,
                DealRow.product,
            )
            .join(CustomerRow, CustomerRow.id == DealRow.customer_id)
            .join(MemberRow, MemberRow.id == CustomerRow.owner_id)
            .where(
                visible_to(visibility),
                DealRow.deal_date >= first_day,
                DealRow.deal_date <= last_day,
            )
            .order_by(DealRow.amount.desc(), DealRow.id)
            .limit(limit)
        )
        return [
            DealLine(
                customer_id=customer_id,
                customer_code=code,
                customer_name=name,
                owner_name=owner,
                amount=Decimal(str(amount)),
                product=product,
            )
            for customer_id, code, name, owner, amount, product in rows.all()
        ]
