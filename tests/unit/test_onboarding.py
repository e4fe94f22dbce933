"""Membership use cases against in-memory storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.clock import FakeClock
from crm.errors import DomainError, InvalidInput, NotAllowed
from crm.invitations import token_from_payload
from crm.members import Member, Person, Role
from crm.onboarding import MemberService, OnboardingPolicy
from crm.texts import Text
from tests.support.fakes import InMemoryUnitOfWork

ADMIN_ID = 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


@pytest.fixture
def uow(clock: FakeClock) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(clock)


@pytest.fixture
def service(uow: InMemoryUnitOfWork, clock: FakeClock) -> MemberService:
    policy = OnboardingPolicy(
        bootstrap_admin_ids=frozenset({ADMIN_ID}),
        invite_ttl=timedelta(hours=72),
        default_language="zh",
    )
    return MemberService(uow, clock, policy)


def person(telegram_id: int, name: str = "王芳", language: str | None = "zh") -> Person:
    return Person(telegram_id=telegram_id, first_name=name, language_code=language)


async def admin(service: MemberService) -> Member:
    member = await service.identify(person(ADMIN_ID, "Boss", "en"))
    assert member is not None
    return member


async def test_strangers_are_not_members(service: MemberService) -> None:
    assert await service.identify(person(99)) is None


async def test_bootstrap_admin_joins_on_first_contact_in_their_app_language(service) -> None:
    member = await admin(service)
    assert (member.role, member.name, member.language) == (Role.ADMIN, "Boss", "en")
    again = await service.identify(person(ADMIN_ID, "Boss", "en"))
    assert again == member


async def test_profile_follows_telegram_name_changes(service, uow) -> None:
    await admin(service)
    renamed = await service.identify(Person(ADMIN_ID, "老板", username="laoban"))
    assert renamed is not None
    assert (renamed.name, renamed.username) == ("老板", "laoban")
    assert uow.members.rows[renamed.id].name == "老板"


async def test_invitation_round_trip(service, uow, clock) -> None:
    inviter = await admin(service)
    issued = await service.create_invitation(inviter, Role.REP)
    assert len(issued.start_payload) <= 64
    assert token_from_payload(issued.start_payload) == issued.token
    assert issued.expires_at == clock.now() + timedelta(hours=72)
    joined = await service.accept_invitation(person(2, "李雷", "en"), issued.token)
    assert (joined.member.role, joined.member.language, joined.team) == (Role.REP, "en", None)
    notice = uow.outbox.messages[-1]
    assert notice.chat_id == ADMIN_ID
    assert notice.language == "en"
    assert notice.text == Text(
        "invite.accepted_notice", {"name": "李雷", "role": Text("roles.rep")}
    )
    assert [entry.action for entry in uow.audit.entries] == [
        "member.joined",
        "invitation.created",
        "member.joined",
    ]


async def test_an_invitation_works_once(service) -> None:
    issued = await service.create_invitation(await admin(service), Role.REP)
    await service.accept_invitation(person(2), issued.token)
    with pytest.raises(DomainError) as refused:
        await service.accept_invitation(person(3), issued.token)
    assert refused.value.text.key == "invite.used"


async def test_an_expired_invitation_is_refused(service, clock) -> None:
    issued = await service.create_invitation(await admin(service), Role.REP)
    clock.advance(timedelta(hours=72))
    with pytest.raises(DomainError) as refused:
        await service.accept_invitation(person(2), issued.token)
    assert refused.value.text.key == "invite.expired"


async def test_unknown_token_and_existing_member(service) -> None:
    inviter = await admin(service)
    with pytest.raises(DomainError) as unknown:
        await service.accept_invitation(person(2), "A" * 24)
    assert unknown.value.text.key == "invite.invalid"
    issued = await service.create_invitation(inviter, Role.REP)
    with pytest.raises(DomainError) as member:
        await service.accept_invitation(person(ADMIN_ID), issued.token)
    assert member.value.text.key == "invite.already_member"


async def test_a_manager_gets_a_team_and_invites_reps_into_it(service) -> None:
    inviter = await admin(service)
    issued = await service.create_invitation(inviter, Role.MANAGER)
    manager = (await service.accept_invitation(person(2, "张经理"), issued.token)).member
    team = await service.team_of(manager)
    assert team is not None
    assert team.name == "张经理"
    rep_invite = await service.create_invitation(manager, Role.REP)
    assert rep_invite.team_name == "张经理"
    rep = (await service.accept_invitation(person(3, "小李"), rep_invite.token)).member
    assert rep.team_id == team.id


async def test_admin_names_the_team_and_team_names_stay_unique(service) -> None:
    inviter = await admin(service)
    first = await service.create_invitation(inviter, Role.MANAGER, "华东区")
    assert first.team_name == "华东区"
    manager = (await service.accept_invitation(person(2, "华东区"), first.token)).member
    second = await service.create_invitation(inviter, Role.MANAGER)
    other = (await service.accept_invitation(person(3, "华东区"), second.token)).member
    assert (await service.team_of(manager)).name == "华东区"  # type: ignore[union-attr]
    assert (await service.team_of(other)).name == "华东区 2"  # type: ignore[union-attr]


async def test_who_may_invite_whom(service) -> None:
    inviter = await admin(service)
    manager = (
        await service.accept_invitation(
            person(2), (await service.create_invitation(inviter, Role.MANAGER)).token
        )
    ).member
    rep = (
        await service.accept_invitation(
            person(3), (await service.create_invitation(manager, Role.REP)).token
        )
    ).member
    with pytest.raises(NotAllowed):
        await service.create_invitation(manager, Role.MANAGER)
    with pytest.raises(NotAllowed):
        await service.create_invitation(manager, Role.REP, "别的团队")
    with pytest.raises(NotAllowed):
        await service.create_invitation(rep, Role.REP)
    with pytest.raises(NotAllowed):
        await service.create_invitation(inviter, Role.ADMIN)
    with pytest.raises(InvalidInput):
        await service.create_invitation(inviter, Role.MANAGER, "区" * 65)


async def test_language_switch(service) -> None:
    member = await admin(service)
    assert (await service.set_language(member, "zh")).language == "zh"
    with pytest.raises(InvalidInput) as refused:
        await service.set_language(member, "fr")
    assert refused.value.text.vars["choices"] == "zh / en"


async def test_cli_admin_add_promotes_or_creates(service) -> None:
    created = await service.add_admin(500, "Ops")
    assert (created.role, created.name) == (Role.ADMIN, "Ops")
    issued = await service.create_invitation(created, Role.REP)
    rep = (await service.accept_invitation(person(6), issued.token)).member
    promoted = await service.add_admin(rep.telegram_id)
    assert promoted.role is Role.ADMIN
