"""The digest job as the JobQueue runs it: ``build_application`` registers it on the real
application's JobQueue every ``DIGEST_TICK_SECONDS``; its callback, run the way the JobQueue runs
it (``Job.run``) with the fake clock at the manager's hour, queues the digest and the outbox
sends it — nothing waits on the wall clock. And a chart that cannot be drawn at send time: its
text goes out instead, once, and its outbox row ends as sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

import scheduler.outbox
from crm.outbox import OutboxStatus
from scheduler.jobs import DIGEST_TICK_SECONDS, digest_tick
from storage.models import OutboxRow
from tests.e2e.test_digests import (
    THURSDAY_0829,
    THURSDAY_0830,
    activity,
    charts_in,
    digests_in,
    member_id,
    world,
)
from tests.support.harness import Harness

CHART_TITLE = "各销售跟进记录数"


async def run_digest_job(kehu: Harness) -> None:
    """What the JobQueue does when the digest job is due, then waiting for the run the tick
    starts (a task of its own) and for the outbox."""
    assert kehu.app.job_queue is not None
    (job,) = kehu.app.job_queue.get_jobs_by_name("digests")
    await job.run(kehu.app)
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "digests"))
    await kehu.deliver_outbox()


async def digest_rows(kehu: Harness) -> dict[str, tuple[OutboxStatus, int]]:
    """Each digest's outbox row: key → (status, failed attempts)."""
    async with kehu.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(OutboxRow.idempotency_key, OutboxRow.status, OutboxRow.attempts).where(
                OutboxRow.idempotency_key.like("digest:%")
            )
        )
        return {key: (OutboxStatus(status), attempts) for key, status, attempts in rows}


async def test_the_registered_digest_job_sends_the_digest_at_the_managers_hour(
    kehu: Harness,
) -> None:
    job_queue = kehu.app.job_queue
    assert job_queue is not None
    assert job_queue.scheduler.running
    (job,) = job_queue.get_jobs_by_name("digests")
    assert job.callback is digest_tick
    assert job.next_t is not None  # scheduled and not paused
    assert job.job.trigger.interval == timedelta(seconds=DIGEST_TICK_SECONDS)
    assert DIGEST_TICK_SECONDS == 60.0

    people = await world(kehu)
    await activity(kehu, people)
    manager = people["manager_a"]
    kehu.clock.set(THURSDAY_0829)  # a minute before the hour: nothing
    await run_digest_job(kehu)
    assert digests_in(manager, "📊") == []
    assert await digest_rows(kehu) == {}

    kehu.clock.set(THURSDAY_0830)
    await run_digest_job(kehu)
    (digest,) = digests_in(manager, "📊 每日简报")
    assert digest.text.startswith("📊 每日简报 · 11-26（本团队）")
    assert "· 李娜：跟进 2/2 · 完成 0/0 · 逾期 1" in digest.text.splitlines()
    (chart,) = charts_in(manager)
    assert chart.text == CHART_TITLE
    key = f"digest:{await member_id(kehu, manager)}:2026-11-26"
    rows = await digest_rows(kehu)
    assert rows[key] == rows[f"{key}:chart"] == (OutboxStatus.SENT, 0)
    assert len(rows) == 5 + 3  # everyone's digest, the admin's and managers' charts
    assert {status for status, _ in rows.values()} == {OutboxStatus.SENT}

    kehu.clock.set(THURSDAY_0830 + timedelta(seconds=DIGEST_TICK_SECONDS))  # the next tick
    await run_digest_job(kehu)
    assert len(digests_in(manager, "📊 每日简报")) == 1
    assert len(await digest_rows(kehu)) == 5 + 3


async def test_a_chart_that_cannot_be_drawn_is_sent_as_its_text_once(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []

    def broken(*args: object) -> bytes:
        drawn.append(str(args[1]))
        raise RuntimeError("matplotlib is broken")

    monkeypatch.setattr(scheduler.outbox, "chart_png", broken)
    people = await world(kehu)
    await activity(kehu, people)
    manager = people["manager_a"]
    kehu.clock.set(THURSDAY_0830)
    await run_digest_job(kehu)

    (digest,) = digests_in(manager, "📊 每日简报")
    assert "📝 跟进记录：2 / 2" in digest.text.splitlines()
    assert charts_in(manager) == []
    assert [m.text for m in manager.messages if m.text == CHART_TITLE] == [CHART_TITLE]
    assert kehu.fake.calls_to("sendPhoto") == []
    assert sorted(drawn) == ["en", "zh", "zh"]  # each chart tried once: admin, both managers
    key = f"digest:{await member_id(kehu, manager)}:2026-11-26"
    rows = await digest_rows(kehu)
    assert rows[key] == rows[f"{key}:chart"] == (OutboxStatus.SENT, 0)
    assert {status for status, _ in rows.values()} == {OutboxStatus.SENT}
