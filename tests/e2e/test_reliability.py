"""Each update is handled once, in one transaction: a redelivery changes nothing, a failure
rolls everything back and says so, and bad input (forged buttons, stickers) gets a clear answer."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from bot.fake_api import Fault
from storage.repositories.invitations import SqlInvitationRepository
from storage.uow import SqlUnitOfWork
from tests.support.harness import ADMIN_ID, Harness, invitation_payload, texts

GENERIC_ZH = "抱歉，刚才的操作没有成功，所有内容均未保存。请稍后再试。"


async def test_a_redelivered_update_is_ignored(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    update_id = await admin.send("/invite rep")
    await kehu.handled(update_id)
    kehu.fake.redeliver(update_id)
    await kehu.handled(update_id, times=2)
    assert await kehu.count("invitations") == 1
    assert [m.text.split(" (")[0] for m in admin.messages[1:]] == [
        "Invitation link for a sales rep"
    ]
    assert await kehu.count("processed_updates") == 2


async def test_a_failure_rolls_back_everything_and_says_nothing_was_saved(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    (invitation,) = await kehu.say(admin, "/invite rep")
    payload = invitation_payload(invitation)
    members_before, audit_before = await kehu.count("members"), await kehu.count("audit_log")

    async def broken_mark_used(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SqlInvitationRepository, "mark_used", broken_mark_used)
    joiner = kehu.user(3001, "李雷", "zh")
    update_id = await joiner.send(f"/start {payload}")
    await kehu.handled(update_id)
    assert texts(joiner.messages) == [GENERIC_ZH]
    assert await kehu.count("members") == members_before  # the new member row rolled back
    assert await kehu.count("audit_log") == audit_before
    assert await kehu.count("outbox") == 0  # no "joined" notice either

    kehu.fake.redeliver(update_id)  # handled once: the failed update is not replayed
    await kehu.handled(update_id, times=2)
    assert len(joiner.messages) == 1

    monkeypatch.undo()
    assert texts(await kehu.say(joiner, f"/start {payload}")) == [
        "欢迎加入，李雷！您的角色：销售。发送 /help 查看可用命令。"
    ]


async def test_forged_or_stale_buttons_are_refused(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    (choice,) = await kehu.say(admin, "/lang")
    for forged in ("lang:fr", "invite:admin", "lang:zh;drop table", "x" * 64):
        update_id = await admin.press_data(choice, forged)
        answer = await admin.wait_for_answer(update_id)
        assert answer.text == "This button is no longer valid; please send the command again."
        assert answer.show_alert
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert member.language is not None
    assert await kehu.count("invitations") == 0


async def test_a_rep_cannot_use_an_admin_button_even_when_forged(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    (reply,) = await kehu.say(rep, "/help")
    update_id = await rep.press_data(reply, "invite:manager")
    await kehu.handled(update_id)
    assert rep.messages[-1].text == "Your role cannot do that. Send /help to see what you can do."
    assert await kehu.count("invitations") == 1  # only the admin's


async def test_a_stranger_pressing_a_button_learns_nothing(kehu: Harness) -> None:
    stranger = kehu.user(2001, "路人", "en")
    (reply,) = await kehu.say(stranger, "/start")
    update_id = await stranger.press_data(reply, "lang:zh")
    await kehu.handled(update_id)
    assert texts(stranger.messages[1:]) == [reply.text]
    assert await kehu.count("members") == 0


async def test_stickers_files_and_unknown_text_get_a_clear_answer(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    await kehu.handled(await admin.send_sticker())
    assert admin.messages[-1].text == (
        "I can only read text and commands. Send /help to see what you can do."
    )
    await kehu.handled(await admin.send_photo(b"\x89PNG fake"))
    assert admin.messages[-1].text.startswith("To attach a file, first write a follow-up")
    (unknown_command,) = await kehu.say(admin, "/nonsense")
    assert unknown_command.text == (
        "I did not understand that. Send /help to see what you can do, for example: /lang"
    )
    (search,) = await kehu.say(admin, "hello there")  # plain text is a customer search
    assert search.text.startswith("No customer matches “hello there”.")
    (too_long,) = await kehu.say(admin, "你好" * 2000)
    assert too_long.text == "That is too long (at most 100 characters); please shorten it."
    for hostile in ("'; DROP TABLE customers; --", '"*" OR NEAR(', "\u202e\x07💥", "%_%"):
        (answer,) = await kehu.say(admin, hostile)
        assert answer.text.startswith("No customer matches"), hostile
    assert await kehu.count("customers") == 0


async def test_a_reply_hit_by_flood_control_still_arrives_once(kehu: Harness) -> None:
    admin = kehu.admin("en")
    kehu.fake.inject(Fault.retry_after(3), method="sendMessage", chat_id=ADMIN_ID)
    before = kehu.clock.now()
    assert texts(await kehu.say(admin, "/start")) == [
        "Welcome back, Ada! Your role: admin. Send /help to see what you can do."
    ]
    assert (kehu.clock.now() - before).total_seconds() >= 3


async def test_blocking_the_bot_marks_the_member_unreachable_until_they_return(
    kehu: Harness,
) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    admin.blocked = True  # Telegram sends a my_chat_member update: member → kicked
    await kehu.handled(max(kehu.fake.state.updates.history))
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert not member.reachable
    await kehu.say(admin, "/start")  # writing again unblocks the bot
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert member.reachable


async def test_a_failing_commit_saves_nothing_and_says_so(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    real_commit = SqlUnitOfWork.commit
    failures = iter([True])

    async def commit_failing_once(self: SqlUnitOfWork) -> None:
        if next(failures, False):
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        await real_commit(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit_failing_once)
    assert texts(await kehu.say(admin, "/invite rep")) == [GENERIC_ZH]
    assert await kehu.count("invitations") == 0
