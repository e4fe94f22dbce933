"""The SQL repositories on SQLite and PostgreSQL: what they store comes back the same, the
outbox claim hands each message to one worker only, and a unit of work without commit writes
nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.audit import AuditEntry
from crm.clock import FakeClock
from crm.invitations import NewInvitation
from crm.members import NewMember, Role
from crm.outbox import OutgoingMessage
from crm.texts import Text
from storage.db import session_factory
from storage.uow import SqlUnitOfWork


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


def unit(engine: AsyncEngine, clock: FakeClock) -> SqlUnitOfWork:
    return SqlUnitOfWork(session_factory(engine), clock)


def message(key: str, chat_id: int = 1001) -> OutgoingMessage:
    return OutgoingMessage(key=key, chat_id=chat_id, text=Text("gate.unknown"), language="zh")


async def add_member(uow: SqlUnitOfWork, telegram_id: int = 1001, role: Role = Role.REP) -> int:
    member = await uow.members.add(
        NewMember(
            telegram_id=telegram_id,
            name="王芳",
            username=None,
            role=role,
            team_id=None,
            language="zh",
        )
    )
    return member.id


async def test_member_round_trip_keeps_chinese_and_aware_times(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        team = await uow.teams.add("华东区")
        member = await uow.members.add(
            NewMember(
                telegram_id=9_000_000_001,
                name="王芳",
                username="wangfang",
                role=Role.MANAGER,
                team_id=team.id,
                language="zh",
            )
        )
        await uow.commit()
    async with unit(engine, clock) as uow:
        loaded = await uow.members.by_telegram_id(9_000_000_001)
        assert loaded == member
        assert loaded.name == "王芳"
        assert loaded.role is Role.MANAGER
        assert loaded.created_at == clock.now()
        assert loaded.created_at.tzinfo is not None
        assert (await uow.teams.by_name("华东区")) == team


async def test_times_in_other_zones_are_stored_as_the_same_instant(engine, clock) -> None:
    shanghai = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with unit(engine, clock) as uow:
        creator = await add_member(uow)
        invitation = await uow.invitations.add(
            NewInvitation(
                token_hash="h" * 64,
                role=Role.REP,
                team_id=None,
                created_by=creator,
                created_at=shanghai,
                expires_at=shanghai + timedelta(days=3),
            )
        )
        await uow.commit()
    async with unit(engine, clock) as uow:
        loaded = await uow.invitations.by_token_hash("h" * 64)
    assert loaded is not None
    assert loaded.id == invitation.id
    assert loaded.created_at == shanghai
    assert loaded.created_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        with pytest.raises(Exception, match="naive datetime"):
            await uow.outbox.enqueue(
                OutgoingMessage(
                    key="k",
                    chat_id=1,
                    text=Text("gate.unknown"),
                    language="zh",
                    not_before=datetime(2026, 1, 1),
                ),
                clock.now(),
            )


async def test_leaving_without_commit_writes_nothing(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        await add_member(uow)
    async with unit(engine, clock) as uow:
        assert await uow.members.by_telegram_id(1001) is None


async def test_invitation_can_be_used_once(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        creator = await add_member(uow)
        invitation = await uow.invitations.add(
            NewInvitation(
                token_hash="x" * 64,
                role=Role.REP,
                team_id=None,
                created_by=creator,
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(days=1),
            )
        )
        joiner = await add_member(uow, telegram_id=1002)
        assert await uow.invitations.mark_used(invitation.id, joiner, clock.now())
        assert not await uow.invitations.mark_used(invitation.id, joiner, clock.now())
        await uow.commit()


async def test_outbox_enqueue_is_idempotent_by_key(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        assert await uow.outbox.enqueue(message("reminder:1"), clock.now())
        assert not await uow.outbox.enqueue(message("reminder:1"), clock.now())
        assert uow.enqueued_messages == 1
        await uow.commit()
    async with unit(engine, clock) as uow:
        assert (await uow.outbox.counts()).pending == 1


async def test_claim_takes_due_messages_in_order_and_not_twice(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        for number in range(5):
            await uow.outbox.enqueue(message(f"m{number}", chat_id=number), clock.now())
        later = OutgoingMessage(
            key="later",
            chat_id=9,
            text=Text("gate.unknown"),
            language="en",
            not_before=clock.now() + timedelta(hours=1),
        )
        await uow.outbox.enqueue(later, clock.now())
        await uow.commit()
    stale = clock.now() - timedelta(minutes=2)
    async with unit(engine, clock) as uow:
        first = await uow.outbox.claim(worker="a", now=clock.now(), stale_before=stale, limit=3)
        second = await uow.outbox.claim(worker="b", now=clock.now(), stale_before=stale, limit=10)
        await uow.commit()
    assert [item.key for item in first] == ["m0", "m1", "m2"]
    assert [item.key for item in second] == ["m3", "m4"]
    assert first[0].payload["text"] == {"key": "gate.unknown", "vars": {}}


async def test_a_claim_left_by_a_dead_worker_is_taken_again_after_the_lease(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        await uow.outbox.enqueue(message("m"), clock.now())
        await uow.commit()
    lease = timedelta(minutes=2)
    async with unit(engine, clock) as uow:
        assert await uow.outbox.claim(
            worker="dead", now=clock.now(), stale_before=clock.now() - lease, limit=10
        )
        await uow.commit()
    clock.advance(timedelta(minutes=1))
    async with unit(engine, clock) as uow:
        assert not await uow.outbox.claim(
            worker="b", now=clock.now(), stale_before=clock.now() - lease, limit=10
        )
    clock.advance(timedelta(minutes=2))
    async with unit(engine, clock) as uow:
        again = await uow.outbox.claim(
            worker="b", now=clock.now(), stale_before=clock.now() - lease, limit=10
        )
    assert [item.key for item in again] == ["m"]


async def test_marks_and_counts(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        for key in ("sent", "retry", "failed"):
            await uow.outbox.enqueue(message(key), clock.now())
        items = await uow.outbox.claim(
            worker="w", now=clock.now(), stale_before=clock.now(), limit=10
        )
        by_key = {item.key: item for item in items}
        await uow.outbox.mark_sent(by_key["sent"].id, 77, clock.now())
        await uow.outbox.reschedule(
            by_key["retry"].id, clock.now() + timedelta(seconds=5), "RetryAfter(5)", attempts=0
        )
        await uow.outbox.mark_failed(by_key["failed"].id, "Forbidden", clock.now())
        await uow.commit()
        counts = await uow.outbox.counts()
    assert (counts.pending, counts.sending, counts.sent, counts.failed) == (1, 0, 1, 1)


async def test_concurrent_claimers_never_share_a_message(engine, clock, backend) -> None:
    """Two workers claiming at the same time (two bot processes on one database)."""
    async with unit(engine, clock) as uow:
        for number in range(60):
            await uow.outbox.enqueue(message(f"m{number}", chat_id=number), clock.now())
        await uow.commit()

    async def worker(name: str) -> list[str]:
        taken: list[str] = []
        while True:
            async with unit(engine, clock) as uow:
                batch = await uow.outbox.claim(
                    worker=name,
                    now=clock.now(),
                    stale_before=clock.now() - timedelta(minutes=2),
                    limit=4,
                )
                await uow.commit()
            if not batch:
                return taken
            taken += [item.key for item in batch]
            await asyncio.sleep(0)

    first, second = await asyncio.gather(worker("a"), worker("b"))
    assert not set(first) & set(second)
    assert len(first) + len(second) == 60


async def test_processed_updates_are_remembered_and_pruned(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        await uow.updates.record(7, 100, clock.now() - timedelta(days=8))
        await uow.updates.record(7, 101, clock.now())
        await uow.commit()
    async with unit(engine, clock) as uow:
        assert await uow.updates.seen(7, 100)
        assert not await uow.updates.seen(8, 100)
        assert await uow.updates.prune(clock.now() - timedelta(days=7)) == 1
        await uow.commit()
    async with unit(engine, clock) as uow:
        assert not await uow.updates.seen(7, 100)
        assert await uow.updates.seen(7, 101)


async def test_audit_entries_by_entity(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        actor = await add_member(uow)
        await uow.audit.record(
            AuditEntry(
                action="phone.revealed",
                entity_type="customer",
                entity_id="CRM0001",
                actor_id=actor,
                at=clock.now(),
                details={"phone": "139****5678"},
            )
        )
        await uow.commit()
        entries = await uow.audit.for_entity("customer", "CRM0001")
    assert [(entry.action, entry.actor_id, entry.details) for entry in entries] == [
        ("phone.revealed", actor, {"phone": "139****5678"})
    ]


async def test_member_statuses(engine, clock) -> None:
    async with unit(engine, clock) as uow:
        member_id = await add_member(uow)
        await uow.members.set_reachable(1001, False)
        await uow.members.set_language(member_id, "en")
        await uow.members.set_menu_signature(member_id, "abc")
        await uow.commit()
    async with unit(engine, clock) as uow:
        member = await uow.members.by_id(member_id)
    assert member is not None
    assert (member.reachable, member.language, member.menu_signature) == (False, "en", "abc")
    assert member.active
