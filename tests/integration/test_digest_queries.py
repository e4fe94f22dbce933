"""The digest's SQL aggregates on SQLite and PostgreSQL: per rep, yesterday and week to date,
window edges exact (local midnight in the reader's zone), owners filter, stale and overdue
counts, deals by local date, survey progress, and the outbox keys already there."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.access import Visibility
from crm.clock import FakeClock
from crm.customers import Deal, NewContact, NewCustomer, Stage, StageChange
from crm.digests.records import Activity
from crm.digests.service import period_at
from crm.followups import ContactMethod, NewFollowUp, NewTask, TaskState
from crm.members import NewMember, Role
from crm.outbox import OutgoingMessage
from crm.surveys.records import ResponseState, SurveyStatus
from crm.texts import Text
from storage.db import session_factory
from storage.models import CustomerRow, SurveyResponseRow, SurveyRow, SurveyVersionRow
from storage.uow import SqlUnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 8, 30, tzinfo=SHANGHAI)  # Thursday; the week began Mon 11-23
STALE = {Stage.POTENTIAL: NOW - timedelta(days=14)}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def seed(engine: AsyncEngine) -> dict[str, int]:
    clock = FakeClock(datetime(2026, 11, 1, tzinfo=UTC))
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        ids: dict[str, int] = {}
        for number, name in enumerate(("rep_a", "rep_b"), start=1):
            member = await uow.members.add(
                NewMember(9000 + number, name, None, Role.REP, None, "zh")
            )
            ids[name] = member.id
        for name in ("old_a", "new_a", "new_b"):
            owner = ids["rep_a"] if name.endswith("_a") else ids["rep_b"]
            code = await uow.customers.next_code()
            customer = await uow.customers.add(
                NewCustomer(name, owner, NewContact(name="张三")), code, owner
            )
            ids[name] = customer.id
        created = {"old_a": local(1, 9), "new_a": local(25, 0, 0), "new_b": local(24, 23, 59)}
        for name, moment in created.items():
            await uow.session.execute(
                update(CustomerRow).where(CustomerRow.id == ids[name]).values(created_at=moment)
            )
        rep_a, rep_b = ids["rep_a"], ids["rep_b"]
        for author, moment in (
            (rep_a, local(25, 0, 0)),  # yesterday's first instant
            (rep_a, local(25, 23, 59)),
            (rep_a, local(23, 0, 0)),  # Monday: week only
            (rep_a, local(22, 23, 59)),  # Sunday: neither
            (rep_a, local(26, 0, 0)),  # today: week only
            (rep_b, local(25, 12)),
        ):
            await uow.follow_ups.add(
                NewFollowUp(ids["new_a"], author, moment, ContactMethod.PHONE, "x")
            )
        done = await uow.tasks.add(NewTask(ids["new_a"], rep_a, rep_a, local(25, 10)))
        await uow.tasks.set_state(done.id, TaskState.DONE, local(25, 11))
        await uow.tasks.add(NewTask(ids["new_a"], rep_a, rep_a, local(26, 8)))  # overdue
        await uow.tasks.add(NewTask(ids["new_a"], rep_a, rep_a, local(26, 9)))  # not yet
        await uow.customers.set_stage(
            StageChange(ids["new_a"], Stage.POTENTIAL, Stage.DEAL, rep_a, local(25, 15))
        )
        await uow.customers.set_stage(
            StageChange(ids["new_b"], Stage.POTENTIAL, Stage.INTENT, rep_b, local(24, 15))
        )
        for customer, amount, day in (
            (ids["new_a"], "1000.50", date(2026, 11, 25)),
            (ids["new_a"], "99.50", date(2026, 11, 23)),
            (ids["new_a"], "5", date(2026, 11, 22)),  # last week
            (ids["new_b"], "800", date(2026, 11, 26)),
        ):
            await uow.customers.add_deal(
                Deal(0, customer, Decimal(amount), day, "软件", None), rep_a
            )
        await uow.outbox.enqueue(
            OutgoingMessage("digest:1:2026-11-26", 1, Text("gate.unknown"), "zh"), NOW
        )
        await uow.commit()
    return ids


async def test_rep_stats_count_each_window_exactly(engine: AsyncEngine) -> None:
    ids = await seed(engine)
    clock = FakeClock(NOW.astimezone(UTC))
    period = period_at(clock.now(), SHANGHAI)
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        stats = await uow.digests.rep_stats(None, period, STALE, clock.now())
        only_b = await uow.digests.rep_stats([ids["rep_b"]], period, STALE, clock.now())
        keys = await uow.digests.existing_keys(["digest:1:2026-11-26", "digest:2:2026-11-26"])
        deals = await uow.digests.deals_between(
            Visibility(ids["rep_b"], Role.REP, None), date(2026, 11, 26), date(2026, 11, 26), 10
        )
        overdue = await uow.digests.overdue_tasks(ids["rep_a"], clock.now(), 10)
    a, b = stats[ids["rep_a"]], stats[ids["rep_b"]]
    assert a.yesterday == Activity(
        follow_ups=2,
        tasks_done=1,
        new_customers=1,
        stage_moves=1,
        conversions=1,
        deals=1,
        amount=Decimal("1000.50"),
    )
    assert a.week == Activity(
        follow_ups=4,
        tasks_done=1,
        new_customers=1,
        stage_moves=1,
        conversions=1,
        deals=2,
        amount=Decimal("1100.00"),
    )
    assert (a.overdue, a.stale) == (1, 1)  # old_a: potential, untouched since 11-01
    assert b.yesterday == Activity(follow_ups=1)
    assert b.week == Activity(
        follow_ups=1, new_customers=1, stage_moves=1, deals=1, amount=Decimal("800.00")
    )
    assert set(only_b) == {ids["rep_b"]}
    assert only_b[ids["rep_b"]] == b
    assert keys == {"digest:1:2026-11-26"}
    assert [(d.customer_name, d.amount, d.owner_name) for d in deals] == [
        ("new_b", Decimal("800"), "rep_b")
    ]
    assert [task.due_at for task in overdue] == [local(26, 8).astimezone(UTC)]


async def test_survey_progress_counts_completed_responses_of_open_surveys(
    engine: AsyncEngine,
) -> None:
    clock = FakeClock(NOW.astimezone(UTC))
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        assert await uow.digests.survey_progress(period_at(clock.now(), SHANGHAI)) == []
        for form_id, status in (("open", SurveyStatus.OPEN), ("closed", SurveyStatus.CLOSED)):
            survey = SurveyRow(
                form_id=form_id, title=f"满意度{form_id}", status=status,
                created_at=local(1, 9), updated_at=local(1, 9),
            )  # fmt: skip
            uow.session.add(survey)
            await uow.session.flush()
            version = SurveyVersionRow(
                survey_id=survey.id, number=1, version="1", form={}, created_at=local(1, 9)
            )
            uow.session.add(version)
            await uow.session.flush()
            answers = (
                (local(25, 10), ResponseState.COMPLETED, True),  # yesterday
                (local(23, 10), ResponseState.COMPLETED, False),  # this week
                (local(10, 10), ResponseState.COMPLETED, True),  # earlier
                (None, ResponseState.ANSWERING, None),  # not finished
            )
            for number, (done, state, valid) in enumerate(answers):
                uow.session.add(
                    SurveyResponseRow(
                        survey_id=survey.id, version_id=version.id,
                        telegram_id=70000 + number, channel="chat", language="zh",
                        state=state, seed=1, path={}, answers={}, flags={}, valid=valid,
                        opened_at=local(1, 9), completed_at=done, updated_at=local(1, 9),
                    )
                )  # fmt: skip
        await uow.session.flush()
        progress = await uow.digests.survey_progress(period_at(clock.now(), SHANGHAI))
    assert [(p.title, p.yesterday, p.week, p.total, p.valid) for p in progress] == [
        ("满意度open", 1, 2, 3, 2)
    ]


async def test_agendas_give_totals_and_the_first_rows_of_each_rep(engine: AsyncEngine) -> None:
    ids = await seed(engine)
    clock = FakeClock(NOW.astimezone(UTC))
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        rep_a, rep_b = ids["rep_a"], ids["rep_b"]
        for hour in (7, 6):  # two more overdue today (8:00 is already there)
            await uow.tasks.add(NewTask(ids["old_a"], rep_a, rep_a, local(26, hour)))
        await uow.tasks.add(NewTask(ids["new_a"], rep_a, rep_a, local(27, 9)))  # tomorrow
        await uow.session.execute(  # both of 李娜's potential customers have gone quiet
            update(CustomerRow)
            .where(CustomerRow.id == ids["new_a"])
            .values(created_at=local(2, 9), stage=Stage.POTENTIAL)
        )
        await uow.commit()
        until = datetime(2026, 11, 27, tzinfo=SHANGHAI).astimezone(UTC)
        agendas = await uow.digests.agendas(
            [rep_a, rep_b], clock.now(), until, {Stage.POTENTIAL: NOW - timedelta(days=14)}, 2
        )
    a, b = agendas[rep_a], agendas[rep_b]
    assert [t.due_at for t in a.overdue] == [local(26, 6), local(26, 7)]
    assert a.overdue_total == 3
    assert [(t.due_at, t.customer_name) for t in a.today] == [(local(26, 9), "new_a")]
    assert a.today_total == 1
    assert [c.name for c in a.stale] == ["old_a", "new_a"]  # the longest untouched first
    assert a.stale_total == 2
    assert b.empty
