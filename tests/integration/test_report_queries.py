"""The report's SQL on SQLite and PostgreSQL against a known data set: every figure checked by
hand, the period boundaries in the member's zone (Asia/Shanghai), and the scope of a manager
and a rep. ``seed_known_data`` is shared with the e2e test of /report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm.access import Visibility
from crm.clock import FakeClock
from crm.customers import Stage
from crm.followups import ContactMethod, TaskState
from crm.members import Role
from crm.reports.periods import Period
from crm.reports.records import Window
from storage.db import session_factory
from storage.models import (
    CustomerRow,
    DealRow,
    FollowUpRow,
    MemberRow,
    StageChangeRow,
    TaskRow,
    TeamRow,
)
from storage.uow import SqlUnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 20))  # [10-31 16:00Z, 11-20 16:00Z)
MANAGER_TELEGRAM, REP_TELEGRAM = 2001, 2002


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Known:
    admin: int
    manager: int
    team: int
    r1: int
    r2: int
    r3: int
    customers: dict[str, int]


async def seed_known_data(session: AsyncSession, admin_id: int | None = None) -> Known:
    """Two teams; seven customers around the period's edges. Expected figures for 2026-11-01 to
    2026-11-20 (Shanghai) are in ``test_admin_sees_every_figure`` below."""
    created = utc(9, 1)
    east = TeamRow(name="华东区", created_at=created)
    south = TeamRow(name="华南区", created_at=created)
    session.add_all([east, south])
    await session.flush()

    def member(telegram_id: int, name: str, role: Role, team: TeamRow | None) -> MemberRow:
        return MemberRow(
            telegram_id=telegram_id,
            name=name,
            role=role,
            team_id=team.id if team else None,
            language="zh",
            created_at=created,
            updated_at=created,
        )

    people = {
        "manager": member(MANAGER_TELEGRAM, "赵经理", Role.MANAGER, east),
        "r1": member(REP_TELEGRAM, "王芳", Role.REP, east),
        "r2": member(2003, "李雷", Role.REP, east),
        "r3": member(2004, "张伟", Role.REP, south),
    }
    if admin_id is None:
        people["admin"] = member(2000, "Ada", Role.ADMIN, None)
    session.add_all(people.values())
    await session.flush()
    ids = {key: row.id for key, row in people.items()}
    admin = admin_id if admin_id is not None else ids["admin"]

    def customer(
        code: str,
        name: str,
        owner: str,
        at: datetime,
        stage: Stage,
        industry: str | None = None,
        size: str | None = None,
        source: str | None = None,
        grade: str | None = None,
    ) -> CustomerRow:
        return CustomerRow(
            code=code,
            name=name,
            name_key=name,
            name_pinyin="",
            name_initials="",
            search_text=name,
            industry=industry,
            size=size,
            source=source,
            grade=grade,
            stage=stage,
            owner_id=ids[owner],
            custom_fields={},
            created_at=at,
            updated_at=at,
            stage_changed_at=at,
        )

    rows = {
        "c1": customer("CRM0001", "甲科技", "r1", utc(11, 2, 2), Stage.DEAL, "制造业",
                       "50-200人", "行业展会", "A"),
        "c2": customer("CRM0002", "乙集团", "r1", utc(11, 3), Stage.LOST, "零售",
                       "200人以上", "老客户转介绍", "B"),
        "c3": customer("CRM0003", "丙公司", "r2", utc(11, 10), Stage.DEAL, "制造业",
                       "50人以下", "行业展会", "A"),
        # 23:00 on Oct 31 in Shanghai: before the period
        "c4": customer("CRM0004", "丁商贸", "r2", utc(10, 31, 15), Stage.INTENT, "零售"),
        "c5": customer("CRM0005", "戊电子", "r3", utc(11, 5), Stage.DEAL, "制造业",
                       grade="C"),
        # 00:30 on Nov 21 in Shanghai: after the period
        "c6": customer("CRM0006", "己物流", "manager", utc(11, 20, 16, 30), Stage.POTENTIAL),
        "c7": customer("CRM0007", "庚医疗", "r1", utc(9, 1), Stage.POTENTIAL, "医疗"),
    }  # fmt: skip
    session.add_all(rows.values())
    await session.flush()
    c = {key: row.id for key, row in rows.items()}

    history = [
        ("c1", None, Stage.POTENTIAL, utc(11, 2, 2)),
        ("c1", Stage.POTENTIAL, Stage.INTENT, utc(11, 5, 2)),  # 3 days potential
        ("c1", Stage.INTENT, Stage.DEAL, utc(11, 9, 2)),  # 4 days intent
        ("c2", None, Stage.POTENTIAL, utc(11, 3)),
        ("c2", Stage.POTENTIAL, Stage.INTENT, utc(11, 4)),  # 1 day potential
        ("c2", Stage.INTENT, Stage.LOST, utc(11, 10)),  # 6 days intent
        ("c3", None, Stage.POTENTIAL, utc(11, 10)),
        ("c3", Stage.POTENTIAL, Stage.DEAL, utc(11, 12, 12)),  # 2.5 days potential
        ("c4", None, Stage.POTENTIAL, utc(10, 31, 15)),
        ("c4", Stage.POTENTIAL, Stage.INTENT, utc(11, 6, 15)),  # 6 days potential
        ("c5", None, Stage.POTENTIAL, utc(11, 5)),
        ("c5", Stage.POTENTIAL, Stage.DEAL, utc(11, 8)),  # 3 days potential
        ("c6", None, Stage.POTENTIAL, utc(11, 20, 16, 30)),
        ("c7", None, Stage.POTENTIAL, utc(9, 1)),
    ]
    session.add_all(
        StageChangeRow(customer_id=c[key], from_stage=old, to_stage=new, changed_at=at)
        for key, old, new, at in history
    )
    deals = [
        ("c1", "10000.00", date(2026, 11, 9)),
        ("c1", "5000.00", date(2026, 11, 15)),
        ("c1", "2500.50", date(2026, 11, 18)),
        ("c3", "8000.00", date(2026, 11, 12)),
        ("c4", "3000.00", date(2026, 10, 20)),  # before: lifetime value and repurchase only
        ("c4", "4000.00", date(2026, 11, 20)),  # the last day counts
        ("c5", "20000.00", date(2026, 11, 8)),
        ("c5", "1000.00", date(2026, 11, 21)),  # after the period: nowhere
    ]
    session.add_all(
        DealRow(
            customer_id=c[key],
            amount=Decimal(amount),
            deal_date=on,
            product="产品",
            created_at=utc(11, 25),
        )
        for key, amount, on in deals
    )
    follow_ups = [
        ("r1", "c1", utc(11, 2, 3)),
        ("r1", "c1", utc(11, 5, 3)),
        ("r1", "c1", utc(11, 19)),
        ("r1", "c2", utc(10, 30)),  # before
        ("r1", "c2", utc(11, 20, 17)),  # Nov 21 in Shanghai: after
        ("r2", "c3", utc(11, 11)),
        ("r3", "c5", utc(11, 6)),
        ("r3", "c5", utc(11, 7)),
    ]
    session.add_all(
        FollowUpRow(
            customer_id=c[key],
            author_id=ids[author],
            happened_at=at,
            method=ContactMethod.PHONE,
            summary="沟通报价",
            created_at=at,
        )
        for author, key, at in follow_ups
    )
    tasks = [
        ("r1", "c1", utc(11, 10, 1), TaskState.OPEN, None),  # overdue
        ("r1", "c2", utc(11, 12), TaskState.DONE, utc(11, 11)),  # done in time
        ("r2", "c3", utc(11, 15), TaskState.DONE, utc(11, 16)),  # done late: overdue
        ("r2", "c3", utc(11, 18), TaskState.CANCELLED, None),
        ("r3", "c5", utc(11, 22), TaskState.OPEN, None),  # after the period
        ("r1", "c7", utc(11, 19), TaskState.SNOOZED, None),  # overdue
    ]
    session.add_all(
        TaskRow(
            customer_id=c[key],
            assignee_id=ids[assignee],
            due_at=due,
            state=state,
            remind_at=due,
            completed_at=completed,
            created_at=utc(11, 1),
            updated_at=utc(11, 1),
        )
        for assignee, key, due, state, completed in tasks
    )
    await session.flush()
    return Known(admin, ids["manager"], east.id, ids["r1"], ids["r2"], ids["r3"], c)


@pytest.fixture
async def uow(engine: AsyncEngine) -> AsyncIterator[SqlUnitOfWork]:
    async with SqlUnitOfWork(session_factory(engine), FakeClock(NOW)) as unit:
        yield unit


def window(period: Period = PERIOD) -> Window:
    start, end = period.bounds(SHANGHAI)
    return Window(start, end, period.first_day, period.last_day)


def admin_of(known: Known) -> Visibility:
    return Visibility(known.admin, Role.ADMIN, None)


async def test_admin_sees_every_figure(uow: SqlUnitOfWork) -> None:
    known = await seed_known_data(uow.session)
    seen, w, q = admin_of(known), window(), uow.reports

    totals = await q.totals(seen, w)
    assert (totals.customers, totals.new_customers) == (6, 4)
    assert (totals.deals, totals.amount, totals.paying_customers) == (6, Decimal("49500.50"), 4)
    assert (totals.buyers, totals.repeat_buyers, totals.repurchase_rate) == (4, 2, 0.5)

    funnel = await q.funnel(seen, w)
    assert (funnel.leads, funnel.intent, funnel.deal, funnel.lost) == (4, 4, 3, 1)
    assert funnel.conversion == 0.75

    durations = {d.stage: (d.average_days, d.changes) for d in await q.stage_durations(seen, w)}
    assert durations == {Stage.POTENTIAL: (3.1, 5), Stage.INTENT: (5.0, 2)}

    industry = [
        (s.value, s.customers, s.paying, s.lifetime_value, s.average_value)
        for s in await q.segments(seen, w, "industry")
    ]
    assert industry == [
        ("制造业", 3, 3, Decimal("45500.50"), Decimal("15166.83")),
        ("零售", 2, 1, Decimal("7000.00"), Decimal("7000.00")),
        ("医疗", 1, 0, Decimal("0.00"), Decimal("0")),
    ]
    grades = [(s.value, s.customers) for s in await q.segments(seen, w, "grade")]
    assert grades == [("A", 2), (None, 2), ("B", 1), ("C", 1)]

    top = [(f.code, f.amount, f.deals) for f in await q.top_by_amount(seen, w, 10)]
    assert top == [
        ("CRM0005", Decimal("20000.00"), 1),
        ("CRM0001", Decimal("17500.50"), 3),
        ("CRM0003", Decimal("8000.00"), 1),
        ("CRM0004", Decimal("4000.00"), 1),
    ]
    again = [(f.code, f.deals, f.repurchases) for f in await q.top_by_repurchase(seen, w, 10)]
    assert again == [("CRM0001", 3, 2), ("CRM0004", 2, 1)]

    board = [
        (r.name, r.follow_ups, r.deals, r.amount, r.overdue)
        for r in await q.leaderboard(seen, w, NOW)
    ]
    assert board == [
        ("张伟", 2, 1, Decimal("20000.00"), 0),
        ("王芳", 3, 3, Decimal("17500.50"), 2),
        ("李雷", 1, 2, Decimal("12000.00"), 1),
    ]


async def test_a_manager_sees_the_team_only(uow: SqlUnitOfWork) -> None:
    known = await seed_known_data(uow.session)
    seen, w, q = Visibility(known.manager, Role.MANAGER, known.team), window(), uow.reports
    totals = await q.totals(seen, w)
    assert (totals.customers, totals.new_customers, totals.deals) == (5, 3, 5)
    assert totals.amount == Decimal("29500.50")
    funnel = await q.funnel(seen, w)
    assert (funnel.leads, funnel.intent, funnel.deal, funnel.lost) == (3, 3, 2, 1)
    assert [f.code for f in await q.top_by_amount(seen, w, 10)] == [
        "CRM0001",
        "CRM0003",
        "CRM0004",
    ]
    assert [r.name for r in await q.leaderboard(seen, w, NOW)] == ["王芳", "李雷"]


async def test_a_rep_scope_is_their_own_customers(uow: SqlUnitOfWork) -> None:
    known = await seed_known_data(uow.session)
    seen, w, q = Visibility(known.r1, Role.REP, known.team), window(), uow.reports
    totals = await q.totals(seen, w)
    assert (totals.customers, totals.new_customers, totals.deals) == (3, 2, 3)
    assert [r.name for r in await q.leaderboard(seen, w, NOW)] == ["王芳"]


async def test_a_period_without_data_gives_zeros(uow: SqlUnitOfWork) -> None:
    known = await seed_known_data(uow.session)
    empty = window(Period(date(2025, 1, 1), date(2025, 1, 31)))
    q, seen = uow.reports, admin_of(known)
    totals = await q.totals(seen, empty)
    assert (totals.customers, totals.deals, totals.amount, totals.buyers) == (0, 0, 0, 0)
    assert (await q.funnel(seen, empty)).conversion == 0.0
    assert await q.stage_durations(seen, empty) == []
    assert await q.segments(seen, empty, "industry") == []
    assert await q.top_by_amount(seen, empty, 10) == []
    board = await q.leaderboard(seen, empty, NOW)
    assert {r.name for r in board} == {"王芳", "李雷", "张伟"}  # reps with nothing still listed
    assert all(r.follow_ups == r.deals == r.overdue == 0 for r in board)
