"""The outbox against a misbehaving Telegram: flood control, server errors, timeouts, blocked
users, a worker killed mid-batch, two workers at once. Nothing lost, nothing doubled beyond the
one message in flight."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from datetime import timedelta

from bot.fake_api import Fault, RecordedCall
from crm.outbox import OutgoingMessage
from crm.texts import Text
from scheduler.outbox import OutboxDispatcher
from scheduler.rate_limit import SendRateLimiter
from tests.support.harness import ADMIN_ID, Harness

FIRST_CHAT = 50_000


async def enqueue(kehu: Harness, count: int, *, same_chat: bool = False) -> list[int]:
    chats = [FIRST_CHAT if same_chat else FIRST_CHAT + number for number in range(count)]
    for chat in set(chats):
        kehu.user(chat, f"客户{chat}", "zh")
    async with kehu.unit_of_work() as uow:
        for number, chat in enumerate(chats):
            message = OutgoingMessage(
                key=f"m{number}",
                chat_id=chat,
                language="en",
                text=Text(
                    "invite.accepted_notice", {"name": f"n{number}", "role": Text("roles.rep")}
                ),
            )
            await uow.outbox.enqueue(message, kehu.clock.now())
        await uow.commit()
    return chats


def delivered(kehu: Harness) -> Counter[str]:
    """How many times each message reached Telegram (keyed by the name inside its text)."""
    return Counter(
        call.params["text"].split(" ")[0]
        for call in kehu.fake.calls_to("sendMessage")
        if call.status == 200 and call.params["text"].startswith("n")
    )


def new_worker(kehu: Harness, name: str) -> OutboxDispatcher:
    """Another process's dispatcher: same database and bot, its own identity and limiter."""
    kehu.app.outbox.stopping = True  # type: ignore[union-attr]  # keep the app's own out of it
    return OutboxDispatcher(
        units=kehu.unit_of_work,
        bot=kehu.app.bot,
        clock=kehu.clock,
        catalogue=kehu.app.kehu.catalogue,
        worker_id=name,
        limiter=SendRateLimiter(kehu.clock),
        batch_size=20,
    )


async def counts(kehu: Harness) -> tuple[int, int, int, int]:
    async with kehu.unit_of_work() as uow:
        c = await uow.outbox.counts()
    return (c.pending, c.sending, c.sent, c.failed)


async def test_flood_control_waits_retry_after_and_delivers_each_once(kehu: Harness) -> None:
    await enqueue(kehu, 10)
    kehu.fake.inject(Fault.retry_after(5), method="sendMessage", times=3)
    start = kehu.clock.now()
    await kehu.deliver_outbox()
    assert delivered(kehu) == Counter({f"n{number}": 1 for number in range(10)})
    attempts = kehu.fake.calls_to("sendMessage")
    refused = [call for call in attempts if call.status == 429]
    assert len(refused) == 3
    for refusal in refused:  # nothing at all goes out while Telegram asked us to wait
        later = [call.at for call in attempts if call.at > refusal.at]
        assert all(at - refusal.at >= timedelta(seconds=5) for at in later)
    assert kehu.clock.now() - start >= timedelta(seconds=15)
    assert await counts(kehu) == (0, 0, 10, 0)


async def test_server_errors_and_dropped_connections_are_retried_with_backoff(
    kehu: Harness,
) -> None:
    (chat,) = await enqueue(kehu, 1)
    kehu.fake.inject(Fault.server_error(502), method="sendMessage", times=2)
    kehu.fake.inject(Fault.disconnect(), method="sendMessage", times=1)
    await kehu.deliver_outbox()
    attempts = [
        call for call in kehu.fake.calls_to("sendMessage") if int(call.params["chat_id"]) == chat
    ]
    assert [call.status for call in attempts] == [502, 502, 0, 200]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps == sorted(gaps)
    assert gaps[0] >= 2
    assert delivered(kehu) == Counter({"n0": 1})


async def test_a_timeout_repeats_at_most_the_message_in_flight(kehu: Harness) -> None:
    await enqueue(kehu, 5)
    kehu.app.outbox.send_timeout = 0.2  # type: ignore[union-attr]
    kehu.fake.inject(Fault.timeout(seconds=0.5), method="sendMessage", times=1)
    await kehu.deliver_outbox()
    counted = delivered(kehu)
    assert set(counted) == {f"n{number}" for number in range(5)}
    assert sum(counted.values()) <= 6
    assert await counts(kehu) == (0, 0, 5, 0)


async def test_a_blocked_member_is_given_up_and_marked_unreachable(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    admin.blocked = True
    async with kehu.unit_of_work() as uow:
        await uow.outbox.enqueue(
            OutgoingMessage(
                key="to-admin", chat_id=ADMIN_ID, language="en", text=Text("gate.unknown")
            ),
            kehu.clock.now(),
        )
        await uow.commit()
    await enqueue(kehu, 2)
    await kehu.deliver_outbox()
    assert await counts(kehu) == (0, 0, 2, 1)
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert not member.reachable
    await kehu.say(admin, "/start")  # writing again unblocks: reachable again
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert member.reachable


async def test_an_unknown_chat_is_not_retried(kehu: Harness) -> None:
    async with kehu.unit_of_work() as uow:
        await uow.outbox.enqueue(
            OutgoingMessage(key="ghost", chat_id=999_999, language="zh", text=Text("gate.unknown")),
            kehu.clock.now(),
        )
        await uow.commit()
    await kehu.deliver_outbox()
    assert await counts(kehu) == (0, 0, 0, 1)
    assert len(kehu.fake.calls_to("sendMessage")) == 1


async def test_killed_mid_batch_then_restarted_loses_nothing(kehu: Harness) -> None:
    await enqueue(kehu, 30)
    first = new_worker(kehu, "first")
    task = asyncio.create_task(first.settle())
    successes = 0

    def kill_after_tenth(call: RecordedCall) -> None:
        nonlocal successes
        if call.method == "sendMessage" and call.status == 200:
            successes += 1
            if successes == 10:
                task.cancel()  # the 10th message reached Telegram, its "sent" mark never will

    kehu.fake.on_call(kill_after_tenth)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert successes == 10
    _pending, sending, sent, _ = await counts(kehu)
    assert (sent, sending) == (9, 11)  # the rest of the claimed batch waits for its lease

    kehu.clock.advance(timedelta(minutes=2, seconds=1))
    await new_worker(kehu, "restarted").settle()
    counted = delivered(kehu)
    assert set(counted) == {f"n{number}" for number in range(30)}, "nothing lost"
    assert [name for name, times in counted.items() if times > 1] == ["n9"], "one repeat at most"
    assert await counts(kehu) == (0, 0, 30, 0)


async def test_two_workers_on_one_database_send_each_message_once(kehu: Harness) -> None:
    await enqueue(kehu, 40)
    await asyncio.gather(new_worker(kehu, "a").settle(), new_worker(kehu, "b").settle())
    assert delivered(kehu) == Counter({f"n{number}": 1 for number in range(40)})


async def test_one_chat_gets_at_most_one_message_a_second(kehu: Harness) -> None:
    await enqueue(kehu, 5, same_chat=True)
    await kehu.deliver_outbox()
    times = [call.at for call in kehu.fake.calls_to("sendMessage") if call.status == 200]
    assert len(times) == 5
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(times))


async def replace_with(kehu: Harness, key: str, chat_id: int, message_id: int) -> None:
    async with kehu.unit_of_work() as uow:
        message = OutgoingMessage(
            key=key,
            chat_id=chat_id,
            language="en",
            text=Text("invite.accepted_notice", {"name": key, "role": Text("roles.rep")}),
            replaces=message_id,
        )
        await uow.outbox.enqueue(message, kehu.clock.now())
        await uow.commit()


async def test_a_message_that_replaces_another_edits_it_or_else_comes_anew(
    kehu: Harness,
) -> None:
    """The result of something long ("importing…") edits that message in place; if the message
    is gone, a new one says it; if it already says it ("not modified"), that counts as sent."""
    admin = kehu.admin("en")
    (shown,) = await kehu.say(admin, "/start")
    await replace_with(kehu, "edited", ADMIN_ID, shown.message_id)
    await kehu.deliver_outbox()
    assert [m.text.split(" ")[0] for m in admin.messages] == ["edited"]
    await replace_with(kehu, "anew", ADMIN_ID, 987_654)  # no such message
    await kehu.deliver_outbox()
    kehu.fake.inject(Fault.not_modified(), method="editMessageText")
    await replace_with(kehu, "same", ADMIN_ID, shown.message_id)
    await kehu.deliver_outbox()
    assert [m.text.split(" ")[0] for m in admin.messages] == ["edited", "anew"]
    assert await counts(kehu) == (0, 0, 3, 0)
