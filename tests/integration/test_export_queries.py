"""``SqlExportQueries`` on real SQL (SQLite and PostgreSQL): each query is scoped (rep: own,
manager: team, admin: all), pages follow their cursors without gaps or repeats, periods
filter, and customers come with their primary contact and tags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.access import Visibility
from crm.clock import FakeClock
from crm.customers import Deal, NewContact, NewCustomer, TagSource
from crm.exports.records import DateWindow, Window
from crm.followups import ContactMethod, NewFollowUp, NewTask, TaskState
from crm.members import Member, NewMember, Role
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@dataclass
class World:
    engine: AsyncEngine
    clock: FakeClock
    people: dict[str, Member]
    customers: dict[str, list[int]]  # owner → customer ids

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(session_factory(self.engine), self.clock)

    def sees(self, who: str) -> Visibility:
        return Visibility.of(self.people[who])


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    engine = create_engine(database_url)
    clock = FakeClock(NOW)
    people: dict[str, Member] = {}
    customers: dict[str, list[int]] = {}
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        team_a, team_b = await uow.teams.add("A"), await uow.teams.add("B")
        roster = {
            "admin": (Role.ADMIN, None),
            "manager_a": (Role.MANAGER, team_a.id),
            "rep_a": (Role.REP, team_a.id),
            "mate_a": (Role.REP, team_a.id),
            "rep_b": (Role.REP, team_b.id),
        }
        for number, (key, (role, team)) in enumerate(roster.items(), start=1):
            people[key] = await uow.members.add(
                NewMember(
                    telegram_id=9000 + number,
                    name=key,
                    username=None,
                    role=role,
                    team_id=team,
                    language="zh",
                )
            )
        for owner, count in (("rep_a", 4), ("mate_a", 2), ("rep_b", 3)):
            for number in range(count):
                code = await uow.customers.next_code()
                created = await uow.customers.add(
                    NewCustomer(
                        name=f"{owner} 客户 {number}",
                        owner_id=people[owner].id,
                        contact=NewContact(name="张三", phone=f"1391234{number:04d}"),
                    ),
                    code,
                    people[owner].id,
                )
                customers.setdefault(owner, []).append(created.id)
                await uow.follow_ups.add(
                    NewFollowUp(
                        customer_id=created.id,
                        author_id=people[owner].id,
                        happened_at=NOW - timedelta(days=10 * number),
                        method=ContactMethod.PHONE,
                        summary=f"第 {number} 次",
                    )
                )
                await uow.tasks.add(
                    NewTask(
                        customer_id=created.id,
                        assignee_id=people[owner].id,
                        created_by=people[owner].id,
                        due_at=NOW + timedelta(hours=number),
                    )
                )
                await uow.customers.add_deal(
                    Deal(
                        id=0,
                        customer_id=created.id,
                        amount=Decimal("1000.50"),
                        deal_date=date(2026, 11, 1) - timedelta(days=20 * number),
                        product="试用",
                        note=None,
                    ),
                    people[owner].id,
                )
        first = customers["rep_a"][0]
        await uow.customers.add_contact(
            first, NewContact(name="李四", phone="13700000000", title="总监")
        )
        await uow.customers.add_tag(first, "重点客户", TagSource.MANUAL, people["rep_a"].id)
        await uow.customers.add_tag(first, "价格敏感型", TagSource.MANUAL, people["rep_a"].id)
        await uow.commit()
    yield World(engine, clock, people, customers)
    await engine.dispose()


SCOPES = {
    "rep_a": ("rep_a",),
    "manager_a": ("rep_a", "mate_a"),
    "admin": ("rep_a", "mate_a", "rep_b"),
}


@pytest.mark.parametrize("who", list(SCOPES))
async def test_customers_are_scoped_and_paged(world: World, who: str) -> None:
    expected = sorted(cid for owner in SCOPES[who] for cid in world.customers[owner])
    async with world.uow() as uow:
        assert await uow.exports.count_customers(world.sees(who)) == len(expected)
        seen: list[int] = []
        after: int | None = None
        while True:
            page = await uow.exports.customers(world.sees(who), after, 2)
            seen += [record.id for record in page]
            if len(page) < 2:
                break
            after = page[-1].id
    assert seen == expected


async def test_customers_come_with_the_primary_contact_and_tags(world: World) -> None:
    async with world.uow() as uow:
        (first, *_) = await uow.exports.customers(world.sees("rep_a"), None, 1)
    assert first.contact_name == "张三"  # the first contact is the primary one
    assert first.phone == "13912340000"
    assert set(first.tags) == {"价格敏感型", "重点客户"}
    assert first.owner_name == "rep_a"


@pytest.mark.parametrize("who", list(SCOPES))
async def test_follow_ups_tasks_and_deals_are_scoped(world: World, who: str) -> None:
    count = sum(len(world.customers[owner]) for owner in SCOPES[who])
    visibility = world.sees(who)
    async with world.uow() as uow:
        exports = uow.exports
        assert await exports.count_follow_ups(visibility, Window()) == count
        assert await exports.count_tasks(visibility) == count
        assert await exports.count_deals(visibility, DateWindow()) == count
        names = {world.people[owner].name for owner in SCOPES[who]}
        follow_ups = await exports.follow_ups(visibility, Window(), None, 100)
        assert {record.author_name for record in follow_ups} == names
        tasks = await exports.tasks(visibility, None, 100)
        assert {record.assignee_name for record in tasks} == names
        assert all(record.state is TaskState.OPEN for record in tasks)
        deals = await exports.deals(visibility, DateWindow(), None, 100)
        assert {record.owner_name for record in deals} == names
        assert all(record.amount == Decimal("1000.50") for record in deals)


async def test_time_cursors_page_without_gaps_or_repeats(world: World) -> None:
    visibility = world.sees("admin")
    async with world.uow() as uow:
        everything = await uow.exports.follow_ups(visibility, Window(), None, 100)
        paged = []
        after = None
        while True:
            page = await uow.exports.follow_ups(visibility, Window(), after, 2)
            paged += page
            if len(page) < 2:
                break
            after = (page[-1].happened_at, page[-1].id)
        tasks = []
        task_after = None
        while True:
            task_page = await uow.exports.tasks(visibility, task_after, 3)
            tasks += task_page
            if len(task_page) < 3:
                break
            task_after = (task_page[-1].due_at, task_page[-1].id)
        deals = []
        deal_after = None
        while True:
            deal_page = await uow.exports.deals(visibility, DateWindow(), deal_after, 4)
            deals += deal_page
            if len(deal_page) < 4:
                break
            deal_after = (deal_page[-1].deal_date, deal_page[-1].id)
    assert [r.id for r in paged] == [r.id for r in everything]
    assert [r.happened_at for r in paged] == sorted(r.happened_at for r in paged)
    assert len(tasks) == len({t.id for t in tasks}) == 9
    assert len(deals) == len({d.id for d in deals}) == 9
    assert [d.deal_date for d in deals] == sorted(d.deal_date for d in deals)


async def test_periods_filter(world: World) -> None:
    visibility = world.sees("admin")
    async with world.uow() as uow:
        recent = Window(start=NOW - timedelta(days=15))
        # Each owner's follow-ups happened 0, 10, 20, ... days ago: two per owner are recent.
        assert await uow.exports.count_follow_ups(visibility, recent) == 6
        before = Window(end=NOW - timedelta(days=15))
        assert await uow.exports.count_follow_ups(visibility, before) == 3
        november = DateWindow(date(2026, 11, 1), date(2026, 11, 30))
        assert await uow.exports.count_deals(visibility, november) == 3
        october = DateWindow(date(2026, 10, 1), date(2026, 10, 31))
        deals = await uow.exports.deals(visibility, october, None, 100)
    assert {d.deal_date for d in deals} == {date(2026, 10, 12)}


async def test_visible_customers(world: World) -> None:
    everyone = [cid for ids in world.customers.values() for cid in ids]
    async with world.uow() as uow:
        mine = await uow.exports.visible_customers(world.sees("manager_a"), everyone)
    assert mine == set(world.customers["rep_a"]) | set(world.customers["mate_a"])
