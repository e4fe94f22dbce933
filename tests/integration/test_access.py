"""Who sees what, on real SQL: role × action × own / team / foreign record. A rep reaches only
their own customers, a manager the team's, an admin everyone's; a refusal reveals nothing
(the same "not found" as a missing record) and carries an audit entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.clock import FakeClock
from crm.customers import NewContact, NewCustomer, Stage
from crm.errors import DomainError, NotFound
from crm.members import Member, NewMember, Role
from crm.onboarding import OnboardingPolicy
from crm.services import DomainConfig, Services
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork


@dataclass
class World:
    engine: AsyncEngine
    clock: FakeClock
    people: dict[str, Member]
    customers: dict[str, int]  # owner key → customer id

    async def run(
        self, who: str, action: Callable[[Services, Member], Awaitable[object]]
    ) -> object:
        async with SqlUnitOfWork(session_factory(self.engine), self.clock) as uow:
            services = Services(uow, self.clock, CONFIG)
            result = await action(services, self.people[who])
            await uow.commit()
            return result


CONFIG = DomainConfig(
    onboarding=OnboardingPolicy(frozenset(), timedelta(hours=72), "zh"),
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    engine = create_engine(database_url)
    clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    people: dict[str, Member] = {}
    customers: dict[str, int] = {}
    async with SqlUnitOfWork(session_factory(engine), clock) as uow:
        team_a, team_b = await uow.teams.add("A"), await uow.teams.add("B")
        roster = {
            "admin": (Role.ADMIN, None),
            "manager_a": (Role.MANAGER, team_a.id),
            "rep_a": (Role.REP, team_a.id),
            "mate_a": (Role.REP, team_a.id),
            "manager_b": (Role.MANAGER, team_b.id),
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
        services = Services(uow, clock, CONFIG)
        for owner in ("rep_a", "rep_b"):
            customer = await services.customers.create(
                people[owner],
                NewCustomer(
                    name=f"{owner} 的客户",
                    owner_id=0,
                    contact=NewContact(name="张三", phone="13912345678"),
                ),
            )
            customers[owner] = customer.id
        await uow.commit()
    yield World(engine, clock, people, customers)
    await engine.dispose()


ACTIONS: dict[str, Callable[[int], Callable[[Services, Member], Awaitable[object]]]] = {
    "open": lambda cid: lambda s, m: s.customers.card(m, cid),
    "stage": lambda cid: lambda s, m: s.customers.change_stage(m, cid, Stage.INTENT),
    "deal": lambda cid: (
        lambda s, m: s.customers.add_deal(m, cid, "1000", "试用", date(2026, 11, 25))
    ),
    "tag": lambda cid: lambda s, m: s.customers.add_tag(m, cid, "重点"),
    "log": lambda cid: lambda s, m: s.follow_ups.start_for_customer(m, cid),
    "reveal": lambda cid: lambda s, m: s.customers.reveal_phone(m, cid, cid),  # contact id == cid
}

# who → record owner → the actions allowed (everything else must be refused).
EDIT = {"open", "stage", "deal", "tag", "log"}
MATRIX = {
    ("rep_a", "rep_a"): EDIT | {"reveal"},  # own
    ("mate_a", "rep_a"): set(),  # team mate's
    ("rep_a", "rep_b"): set(),  # foreign
    ("manager_a", "rep_a"): EDIT,  # team: no phone reveal (owner and admins only)
    ("manager_a", "rep_b"): set(),  # foreign team
    ("admin", "rep_a"): EDIT | {"reveal"},
    ("admin", "rep_b"): EDIT | {"reveal"},
}


@pytest.mark.parametrize(("who", "owner"), list(MATRIX))
async def test_the_permission_matrix(world: World, who: str, owner: str) -> None:
    allowed = MATRIX[(who, owner)]
    for action, make in ACTIONS.items():
        call = make(world.customers[owner])
        if action in allowed:
            await world.run(who, call)
            continue
        with pytest.raises(DomainError) as refused:
            await world.run(who, call)
        if not allowed:  # not even visible: the same answer as a missing record
            assert isinstance(refused.value, NotFound), action
            assert refused.value.text.key == "customer.not_found"
            assert refused.value.audit is not None
            assert refused.value.audit.action == "customer.access_denied"


async def test_search_is_scoped(world: World) -> None:
    async def find(who: str) -> list[str]:
        page = await world.run(who, lambda s, m: s.customers.find(m, "张三"))
        return sorted(hit.name for hit in page.hits)  # type: ignore[attr-defined]

    assert await find("rep_a") == ["rep_a 的客户"]
    assert await find("mate_a") == []
    assert await find("manager_a") == ["rep_a 的客户"]
    assert await find("manager_b") == ["rep_b 的客户"]
    assert await find("admin") == ["rep_a 的客户", "rep_b 的客户"]


async def test_reassigning_is_for_managers_of_the_team_and_admins(world: World) -> None:
    customer = world.customers["rep_a"]
    mate = world.people["mate_a"].id
    for who in ("rep_a", "manager_b"):
        with pytest.raises(DomainError):
            await world.run(who, lambda s, m: s.customers.reassign(m, customer, mate))
    with pytest.raises(DomainError) as other_team:
        await world.run(
            "manager_a", lambda s, m: s.customers.reassign(m, customer, world.people["rep_b"].id)
        )
    assert other_team.value.text.key == "customer.reassign_own_team"
    moved = await world.run("manager_a", lambda s, m: s.customers.reassign(m, customer, mate))
    assert moved.owner_id == mate  # type: ignore[attr-defined]
    async with SqlUnitOfWork(session_factory(world.engine), world.clock) as uow:
        notices = await uow.outbox.counts()
    assert notices.pending == 1  # the new owner is told
    # the former owner has lost it
    with pytest.raises(NotFound):
        await world.run("rep_a", lambda s, m: s.customers.card(m, customer))
