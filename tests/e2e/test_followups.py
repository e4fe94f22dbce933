"""Logging a follow-up in one message, and the reminders that come from its next task."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.fake_api import BotMessage, Fault, UserHandle
from scheduler.jobs import dispatch_reminders
from tests.support.harness import Harness

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def rep_with_customer(kehu: Harness, language: str = "zh") -> UserHandle:
    rep = kehu.user(3001, "李娜" if language == "zh" else "Li", language)
    await kehu.join(rep, "rep")
    await kehu.create_customer(rep, "华信科技", "张经理", "13912345678")
    await kehu.create_customer(rep, "Acme Trading", "Jane", "13800001111")
    return rep


async def rows(kehu: Harness, sql: str) -> list[tuple[object, ...]]:
    async with kehu.unit_of_work() as uow:
        return [tuple(row) for row in (await uow.session.execute(text(sql))).all()]


async def test_log_a_follow_up_from_one_chinese_message(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    (draft,) = await kehu.say(rep, "/log 华信 电话 对价格有疑虑，需要竞品对比 下周三下午3点再联系")
    # now = Wed 2026-11-25 09:00 Shanghai → next Wednesday 15:00
    assert draft.text.splitlines() == [
        "📝 跟进记录草稿：华信科技（CRM0001）",
        "方式：电话",
        "客户反馈：对价格有疑虑",
        "需求变化：需要竞品对比",
        "下一步：再联系 · 12-02 15:00",
        "可以继续发照片或文件作为附件。",
    ]
    saved = await kehu.tap(rep, draft, "log:save")
    assert saved.text == "✅ 跟进记录已保存。\n⏰ 已建下次跟进任务：12-02 15:00"
    follow_up = await rows(
        kehu, "SELECT method, feedback, demand_change, next_step FROM follow_ups"
    )
    assert follow_up == [("phone", "对价格有疑虑", "需要竞品对比", "再联系")]
    tasks = await rows(kehu, "SELECT state, method, talking_points FROM tasks")
    assert tasks == [("open", "phone", "再联系")]
    assert await kehu.count("dialogs") == 0


async def test_log_in_english_with_edit_and_attachment(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu, "en")
    (draft,) = await kehu.say(
        rep, "/log acme visit demo went well, wants training; call back Friday 10am"
    )
    assert "Method: Visit" in draft.text
    assert "Feedback: demo went well" in draft.text
    assert "Demand change: wants training" in draft.text
    assert "Next step: call back · 11-27 10:00" in draft.text
    await kehu.handled(await rep.send_document(b"%PDF-1.4 brochure", file_name="brochure.pdf"))
    assert rep.messages[-1].text == "📎 Attached (1 in all)."
    fields = await kehu.tap(rep, draft, "log:edit")
    await kehu.tap(rep, fields, "log:field:feedback")
    (edited,) = await kehu.say(rep, "great demo, CTO joined")
    assert "Feedback: great demo, CTO joined" in edited.text
    assert "Attachments: 1" in edited.text
    await kehu.tap(rep, edited, "log:save")
    assert await rows(kehu, "SELECT kind, file_name FROM attachments") == [
        ("document", "brochure.pdf")
    ]


async def test_ambiguous_customer_is_picked_from_buttons(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    await kehu.create_customer(rep, "华信物流", "赵总", "13700002222")
    (choice,) = await kehu.say(rep, "/log 华信 拜访 聊得不错")
    assert choice.text == "「华信」对应多个客户，是哪一个？"
    assert set(choice.button_texts) >= {"华信科技 · CRM0001", "华信物流 · CRM0003"}
    draft = await kehu.tap(rep, choice, "log:pick:3")
    assert draft.text.startswith("📝 跟进记录草稿：华信物流（CRM0003）")


async def test_bad_log_input_gets_a_clear_answer(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    (usage,) = await kehu.say(rep, "/log")
    assert usage.text.startswith("用法：/log 客户 方式 情况")
    (unknown,) = await kehu.say(rep, "/log 不存在 电话 聊了聊")
    assert unknown.text.startswith("没有找到「不存在」这个客户")
    (past,) = await kehu.say(rep, "/log 华信 电话 聊了聊 昨天下午3点再联系")
    assert past.text.startswith("下次跟进时间已经过去了")
    (no_draft,) = await kehu.say(rep, "/cancel")
    assert no_draft.text == "现在没有进行中的操作。"
    await kehu.handled(await rep.send_photo(b"\x89PNG"))
    assert rep.messages[-1].text.startswith("要附加文件，请先用 /log 写一条跟进记录")
    assert await kehu.count("follow_ups") == 0


async def schedule_task(kehu: Harness, rep: UserHandle, when: str) -> BotMessage:
    (draft,) = await kehu.say(rep, f"/log 华信 电话 报价已发 {when}再联系")
    return await kehu.tap(rep, draft, "log:save")


async def reminder_for(kehu: Harness, rep: UserHandle) -> BotMessage:
    seen = len(rep.messages)
    await dispatch_reminders(kehu.app)
    await kehu.deliver_outbox(wait_for_retries=False)
    assert len(rep.messages) > seen, "no reminder arrived"
    return rep.messages[-1]


async def test_the_reminder_arrives_on_time_and_each_button_works(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    await schedule_task(kehu, rep, "明天上午10点")
    await dispatch_reminders(kehu.app)
    queued = "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'reminder:%'"
    assert await rows(kehu, queued) == [(0,)]  # not due yet
    kehu.clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI))
    reminder = await reminder_for(kehu, rep)
    assert reminder.text.splitlines()[0] == "⏰ 跟进提醒：华信科技（CRM0001）"
    assert reminder.button_texts == ["✅ 已完成", "⏰ 推迟1小时", "📅 明天9:00", "📝 记录结果"]

    snoozed = await kehu.tap(rep, reminder, "task:snooze:")
    assert snoozed.text == "⏰ 已推迟到 11-26 11:00"
    kehu.clock.advance(timedelta(hours=1))
    again = await reminder_for(kehu, rep)
    tomorrow = await kehu.tap(rep, again, "task:tomorrow:")
    assert tomorrow.text == "⏰ 已推迟到 11-27 09:00"
    kehu.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI))
    third = await reminder_for(kehu, rep)
    asked = await kehu.tap(rep, third, "task:log:")
    assert asked.text == "华信科技：这次是怎么沟通的？"
    asked = await kehu.tap(rep, asked, "log:method:phone")
    (draft,) = await kehu.say(rep, "客户同意签约")
    await kehu.tap(rep, draft, "log:save")
    assert await rows(kehu, "SELECT state FROM tasks ORDER BY id") == [("done",)]
    update_id = await rep.press_data(third, "task:done:1")  # the old reminder's button
    await kehu.handled(update_id)
    assert rep.messages[-1].text == "这个任务已经处理过了。"


async def test_done_button_and_overdue_warning(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    await schedule_task(kehu, rep, "明天上午10点")
    await schedule_task(kehu, rep, "明天上午11点")
    kehu.clock.set(datetime(2026, 11, 26, 11, 0, tzinfo=SHANGHAI))
    await reminder_for(kehu, rep)
    first, second = rep.messages[-2:]
    done = await kehu.tap(rep, first, "task:done:")
    assert done.text == "✅ 已完成：华信科技"
    kehu.clock.advance(timedelta(hours=2))
    warning = await reminder_for(kehu, rep)
    assert warning.text.startswith("⚠️ 任务已逾期：华信科技（CRM0001）")
    (today,) = await kehu.say(rep, "/today")
    assert today.text.splitlines()[0] == "⚠️ 逾期 1 项："
    assert second.text.startswith("⏰ 跟进提醒")


async def test_after_a_restart_overdue_reminders_go_out_once_marked_late(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    await schedule_task(kehu, rep, "明天上午10点")
    kehu.clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=SHANGHAI))  # the bot was down 10:00-13:00
    late = await reminder_for(kehu, rep)
    assert late.text.startswith("⏰ 跟进提醒（迟到，原定 11-26 10:00）：华信科技（CRM0001）")
    await dispatch_reminders(kehu.app)
    await kehu.deliver_outbox(wait_for_retries=False)
    reminders = [m for m in rep.messages if m.text.startswith("⏰ 跟进提醒")]
    assert len(reminders) == 1


async def test_a_429_storm_delays_reminders_but_loses_none(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    for hour in range(10, 15):
        await schedule_task(kehu, rep, f"明天{hour}点")
    kehu.clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI))
    kehu.fake.inject(Fault.retry_after(7), method="sendMessage", times=4)
    await dispatch_reminders(kehu.app)
    await kehu.deliver_outbox()
    reminders = [m for m in rep.messages if m.text.startswith("⏰ 跟进提醒")]
    assert len(reminders) == 5


async def test_two_instances_never_send_a_reminder_twice(kehu: Harness) -> None:
    import asyncio

    rep = await rep_with_customer(kehu)
    for hour in range(10, 16):
        await schedule_task(kehu, rep, f"明天{hour}点")
    kehu.clock.set(datetime(2026, 11, 26, 16, 0, tzinfo=SHANGHAI))
    await asyncio.gather(*(dispatch_reminders(kehu.app) for _ in range(4)))
    await kehu.deliver_outbox()
    reminders = [m for m in rep.messages if m.text.startswith("⏰ 跟进提醒")]
    assert len(reminders) == 6


async def test_new_task_from_the_card_and_the_agenda(kehu: Harness) -> None:
    rep = await rep_with_customer(kehu)
    (results,) = await kehu.say(rep, "hxkj")
    card = await kehu.tap(rep, results, "cust:open:")
    await kehu.tap(rep, card, "card:task:")
    (bad,) = await kehu.say(rep, "改天吧")
    assert bad.text.startswith("这个时间看不懂")
    await kehu.tap(rep, card, "card:task:")
    (saved,) = await kehu.say(rep, "今天下午3点")
    assert saved.text == "已建任务：2026-11-25 15:00"
    (today,) = await kehu.say(rep, "/today")
    assert today.text.splitlines()[:2] == ["📅 今天 1 项：", "11-25 15:00 华信科技（CRM0001）"]
    (later,) = await kehu.say(rep, "/tasks")
    assert later.text == "今天之后还没有安排跟进任务。"
