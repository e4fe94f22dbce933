"""Sending limits, on a fake clock: no more than 30 a second overall, one a second per chat,
and a full stop while Telegram asks us to wait."""

from __future__ import annotations

from datetime import timedelta

from crm.clock import FakeClock
from crm.outbox import MAX_TRANSIENT_ATTEMPTS, backoff_after, gives_up_after
from scheduler.rate_limit import SendRateLimiter


async def test_one_message_a_second_per_chat() -> None:
    clock = FakeClock()
    start = clock.now()
    limiter = SendRateLimiter(clock)
    times = []
    for _ in range(4):
        await limiter.wait_turn(chat_id=1)
        times.append((clock.now() - start).total_seconds())
    assert times == [0.0, 1.0, 2.0, 3.0]


async def test_thirty_a_second_overall() -> None:
    clock = FakeClock()
    start = clock.now()
    limiter = SendRateLimiter(clock)
    sent_at = []
    for chat in range(95):
        await limiter.wait_turn(chat_id=chat)
        sent_at.append(clock.now() - start)
    for index in range(len(sent_at) - 30):
        assert sent_at[index + 30] - sent_at[index] >= timedelta(seconds=1)
    assert sent_at[-1] <= timedelta(seconds=3 * 1.02 + 0.01)  # windows of 1 s + margin


async def test_pause_after_retry_after() -> None:
    clock = FakeClock()
    start = clock.now()
    limiter = SendRateLimiter(clock)
    limiter.pause(7)
    await limiter.wait_turn(chat_id=5)
    assert clock.now() - start == timedelta(seconds=7)


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff_after(attempt) for attempt in range(1, 15)]
    assert delays == sorted(delays)
    assert delays[0] == timedelta(seconds=2)
    assert max(delays) == timedelta(minutes=10)
    assert not gives_up_after(MAX_TRANSIENT_ATTEMPTS - 1)
    assert gives_up_after(MAX_TRANSIENT_ATTEMPTS)
