"""The export use cases on fakes: who may export, the scope handed to storage, masking by role,
the audit entries, periods in the member's calendar, pages and cursors."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from crm.access import Visibility
from crm.clock import FakeClock
from crm.customers import Stage
from crm.errors import InvalidInput, NotAllowed
from crm.exports.records import (
    CustomerRecord,
    DateCursor,
    DateWindow,
    DealRecord,
    ExportKind,
    FollowUpRecord,
    TaskRecord,
    TimeCursor,
    Window,
)
from crm.exports.service import ExportService, date_window, file_name, period_window
from crm.followups import ContactMethod, TaskState
from crm.members import Member, Role
from crm.ports import UnitOfWork
from crm.texts import Text
from tests.support.fakes import InMemoryAudit

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def member(role: Role, team_id: int | None = 7) -> Member:
    return Member(
        id=3,
        telegram_id=3003,
        name="张伟",
        username=None,
        role=role,
        team_id=team_id,
        language="zh",
        timezone=None,
        active=True,
        reachable=True,
        menu_signature=None,
        created_at=NOW,
    )


def customer(number: int) -> CustomerRecord:
    return CustomerRecord(
        id=number,
        code=f"CRM{number:04d}",
        name=f"客户{number}",
        industry="制造业",
        size=None,
        source=None,
        demand_type=None,
        stage=Stage.INTENT,
        grade="A",
        region=None,
        owner_name="李娜",
        notes=None,
        created_at=NOW,
        last_followup_at=None,
        contact_name="张经理",
        contact_title=None,
        phone="13912345678",
        email=None,
        tags=("重点客户", "价格敏感型"),
    )


class FakeQueries:
    def __init__(self, customers: int = 3) -> None:
        self.records = [customer(n) for n in range(1, customers + 1)]
        self.calls: list[tuple[str, Any]] = []

    async def count_customers(self, visibility: Visibility) -> int:
        self.calls.append(("count_customers", visibility))
        return len(self.records)

    async def customers(
        self, visibility: Visibility, after: int | None, limit: int
    ) -> Sequence[CustomerRecord]:
        self.calls.append(("customers", (visibility, after, limit)))
        start = (
            0 if after is None else next(i for i, r in enumerate(self.records) if r.id == after) + 1
        )
        return self.records[start : start + limit]

    async def count_follow_ups(self, visibility: Visibility, window: Window) -> int:
        self.calls.append(("count_follow_ups", window))
        return 1

    async def follow_ups(
        self, visibility: Visibility, window: Window, after: TimeCursor | None, limit: int
    ) -> Sequence[FollowUpRecord]:
        return [
            FollowUpRecord(
                id=9,
                happened_at=NOW,
                customer_code="CRM0001",
                customer_name="客户1",
                method=ContactMethod.VISIT,
                summary="演示",
                feedback=None,
                demand_change=None,
                next_step=None,
                author_name="李娜",
            )
        ]

    async def count_tasks(self, visibility: Visibility) -> int:
        return 2

    async def tasks(
        self, visibility: Visibility, after: TimeCursor | None, limit: int
    ) -> Sequence[TaskRecord]:
        def task(number: int, due: datetime, state: TaskState) -> TaskRecord:
            return TaskRecord(
                id=number,
                due_at=due,
                customer_code="CRM0001",
                customer_name="客户1",
                method=None,
                talking_points="报价",
                state=state,
                assignee_name="李娜",
                completed_at=None,
                created_at=NOW,
            )

        return [
            task(1, datetime(2026, 11, 20, tzinfo=UTC), TaskState.OPEN),
            task(2, datetime(2026, 11, 20, tzinfo=UTC), TaskState.DONE),
            task(3, datetime(2026, 11, 30, tzinfo=UTC), TaskState.OPEN),
        ]

    async def count_deals(self, visibility: Visibility, window: DateWindow) -> int:
        self.calls.append(("count_deals", window))
        return 1

    async def deals(
        self, visibility: Visibility, window: DateWindow, after: DateCursor | None, limit: int
    ) -> Sequence[DealRecord]:
        return [
            DealRecord(
                id=4,
                deal_date=date(2026, 11, 2),
                customer_code="CRM0001",
                customer_name="客户1",
                product="CRM 升级",
                amount=Decimal("5000.00"),
                note=None,
                owner_name="李娜",
            )
        ]

    async def visible_customers(
        self, visibility: Visibility, customer_ids: Collection[int]
    ) -> set[int]:
        return set(customer_ids)


class FakeUnitOfWork:
    def __init__(self, queries: FakeQueries) -> None:
        self.exports = queries
        self.audit = InMemoryAudit()


def service(queries: FakeQueries | None = None) -> tuple[ExportService, FakeUnitOfWork]:
    uow = FakeUnitOfWork(queries or FakeQueries())
    return ExportService(cast(UnitOfWork, uow), FakeClock(NOW)), uow


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_a_rep_is_refused_and_the_refusal_is_kept_for_the_audit() -> None:
    exports, uow = service()
    with pytest.raises(NotAllowed) as refused:
        run(exports.prepare(member(Role.REP), ExportKind.CUSTOMERS, "all", SHANGHAI))
    assert refused.value.text.key == "export.not_allowed"
    assert refused.value.audit is not None
    assert refused.value.audit.action == "export.refused"
    assert uow.exports.calls == []  # nothing was read


def test_a_manager_gets_the_team_scope_and_masked_phones() -> None:
    exports, uow = service()
    plan = run(exports.prepare(member(Role.MANAGER), ExportKind.CUSTOMERS, "all", SHANGHAI))
    assert plan.visibility == Visibility(member_id=3, role=Role.MANAGER, team_id=7)
    assert not plan.full_phones
    assert plan.rows == 3
    assert plan.file_name == "customers-2026-11-25.xlsx"
    (entry,) = uow.audit.entries
    assert entry.action == "export.customers"
    assert entry.actor_id == 3
    assert entry.details == {"rows": 3, "period": "all", "phones": "masked", "scope": "team:7"}
    page = run(exports.page(plan, None))
    phone_column = 11
    assert page.rows[0][phone_column] == "139****5678"
    assert page.rows[0][6] == Text("stages.intent")
    assert page.rows[0][13] == "重点客户、价格敏感型"
    assert page.after is None  # fewer rows than a page: the last one


def test_an_admin_sees_whole_phones() -> None:
    exports, uow = service()
    plan = run(exports.prepare(member(Role.ADMIN, None), ExportKind.CUSTOMERS, "all", SHANGHAI))
    assert plan.full_phones
    assert run(exports.page(plan, None)).rows[0][11] == "13912345678"
    assert uow.audit.entries[0].details["scope"] == "all"


def test_pages_follow_the_cursor() -> None:
    exports, _ = service(FakeQueries(customers=5))
    plan = run(exports.prepare(member(Role.ADMIN), ExportKind.CUSTOMERS, "all", SHANGHAI))
    first = run(exports.page(plan, None, limit=2))
    assert [row[0] for row in first.rows] == ["CRM0001", "CRM0002"]
    assert first.after == 2
    second = run(exports.page(plan, first.after, limit=2))
    assert [row[0] for row in second.rows] == ["CRM0003", "CRM0004"]
    third = run(exports.page(plan, second.after, limit=2))
    assert [row[0] for row in third.rows] == ["CRM0005"]
    assert third.after is None


def test_open_tasks_past_due_are_overdue() -> None:
    exports, _ = service()
    plan = run(exports.prepare(member(Role.MANAGER), ExportKind.TASKS, "month", SHANGHAI))
    assert plan.period == "all"  # tasks have no period
    states = [row[5] for row in run(exports.page(plan, None)).rows]
    assert states == [
        Text("export.task_state.overdue"),
        Text("export.task_state.done"),
        Text("export.task_state.open"),
    ]


def test_deals_for_last_month_in_the_members_calendar() -> None:
    exports, uow = service()
    plan = run(exports.prepare(member(Role.MANAGER), ExportKind.DEALS, "last_month", SHANGHAI))
    assert plan.dates == DateWindow(date(2026, 10, 1), date(2026, 10, 31))
    assert ("count_deals", plan.dates) in uow.exports.calls
    row = run(exports.page(plan, None)).rows[0]
    assert row[4] == Decimal("5000.00")


def test_unknown_periods_and_kinds_are_refused() -> None:
    exports, _ = service()
    with pytest.raises(InvalidInput):
        run(exports.prepare(member(Role.ADMIN), ExportKind.FOLLOW_UPS, "forever", SHANGHAI))
    with pytest.raises(InvalidInput):
        run(exports.prepare(member(Role.ADMIN), ExportKind.SURVEY_RESPONSES, "all", SHANGHAI))


def test_periods() -> None:
    # 01:00 UTC on 25 Nov is 09:00 in Shanghai.
    assert period_window("all", NOW, SHANGHAI) == Window()
    month = period_window("month", NOW, SHANGHAI)
    assert month.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert month.end is None
    last = period_window("last_month", NOW, SHANGHAI)
    assert last.start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert last.end == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert date_window(last, SHANGHAI) == DateWindow(date(2026, 10, 1), date(2026, 10, 31))
    year = period_window("year", NOW, SHANGHAI)
    assert year.start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    recent = period_window("30d", NOW, SHANGHAI)
    assert recent.start == datetime(2026, 10, 26, 1, 0, tzinfo=UTC)
    january = datetime(2026, 1, 10, 4, 0, tzinfo=UTC)
    assert period_window("last_month", january, SHANGHAI).start == datetime(
        2025, 11, 30, 16, 0, tzinfo=UTC
    )


def test_file_names_use_the_local_date() -> None:
    late = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # already the 26th in Shanghai
    assert file_name("followups", late, SHANGHAI) == "followups-2026-11-26.xlsx"
    assert file_name("followups", late, UTC) == "followups-2026-11-25.xlsx"
