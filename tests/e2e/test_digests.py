"""The daily digest end to end: pushed through the outbox at each member's hour in their time
zone (injected clock), once per person per day even with two bot instances or a restart, a
one-line digest on a quiet day, the chart, /digest settings and bad input, and each drill-down
button scoped to what the presser may see (a forged rep id from another team is refused)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text, update

from bot.app import build_application
from bot.fake_api import BotMessage, FakeTelegram, UserHandle
from crm.clock import FakeClock
from crm.customers import Deal, Stage, StageChange
from crm.followups import ContactMethod, NewFollowUp, NewTask
from scheduler.jobs import dispatch_digests
from storage.models import CustomerRow
from tests.support.harness import Harness, settings_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The clock starts on Wed 2026-11-25 09:00 Shanghai; members join then, so their first digest
# is the next morning's.
THURSDAY_0829 = datetime(2026, 11, 26, 8, 29, tzinfo=SHANGHAI)
THURSDAY_0830 = datetime(2026, 11, 26, 8, 30, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def world(kehu: Harness) -> dict[str, UserHandle]:
    """Two teams: 华东区 (张伟 managing 李娜) and 华南区 (赵强 managing 王芳), and the admin."""
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    people = {
        "admin": admin,
        "manager_a": kehu.user(4001, "张伟"),
        "rep_a": kehu.user(3001, "李娜"),
        "manager_b": kehu.user(4002, "赵强", "en"),
        "rep_b": kehu.user(3002, "王芳"),
    }
    await kehu.join(people["manager_a"], "manager 华东区")
    await kehu.join(people["manager_b"], "manager 华南区")
    await kehu.join(people["rep_a"], "rep", inviter=people["manager_a"])
    await kehu.join(people["rep_b"], "rep", inviter=people["manager_b"])
    await kehu.create_customer(people["rep_a"], "华信科技", "张经理", "13912345678")
    await kehu.create_customer(people["rep_a"], "东方仪器", "刘总", "13700001111")
    await kehu.create_customer(people["rep_b"], "南方贸易", "陈经理", "13800005678")
    return people


async def member_id(kehu: Harness, user: UserHandle) -> int:
    member = await kehu.member(user.user_id)
    assert member is not None
    return member.id


async def customer_id(kehu: Harness, code: str) -> int:
    async with kehu.unit_of_work() as uow:
        found = await uow.session.scalar(
            text("SELECT id FROM customers WHERE code = :code"), {"code": code}
        )
    assert found is not None
    return int(found)


async def activity(kehu: Harness, people: dict[str, UserHandle]) -> None:
    """Wednesday's work: 李娜 logs two follow-ups, moves 华信 to deal and wins ¥12,000; a task of
    hers falls overdue; 王芳 logs one follow-up and wins a deal dated Thursday."""
    rep_a, rep_b = await member_id(kehu, people["rep_a"]), await member_id(kehu, people["rep_b"])
    huaxin, dongfang = await customer_id(kehu, "CRM0001"), await customer_id(kehu, "CRM0002")
    nanfang = await customer_id(kehu, "CRM0003")
    async with kehu.unit_of_work() as uow:
        for customer, author, hour in ((huaxin, rep_a, 10), (dongfang, rep_a, 11)):
            await uow.follow_ups.add(
                NewFollowUp(customer, author, at(25, hour), ContactMethod.PHONE, "谈了价格")
            )
        await uow.follow_ups.add(
            NewFollowUp(nanfang, rep_b, at(25, 14), ContactMethod.VISIT, "拜访")
        )
        await uow.customers.set_stage(
            StageChange(huaxin, Stage.POTENTIAL, Stage.DEAL, rep_a, at(25, 15))
        )
        await uow.customers.add_deal(
            Deal(0, huaxin, Decimal("12000"), datetime(2026, 11, 25).date(), "软件", None), rep_a
        )
        await uow.customers.add_deal(
            Deal(0, nanfang, Decimal("800"), datetime(2026, 11, 26).date(), "耗材", None), rep_b
        )
        await uow.tasks.add(NewTask(dongfang, rep_a, rep_a, at(25, 16), talking_points="报价"))
        await uow.commit()


def digests_in(user: UserHandle, head: str) -> list[BotMessage]:
    return [m for m in user.messages if m.kind == "text" and m.text.startswith(head)]


def charts_in(user: UserHandle) -> list[BotMessage]:
    return [m for m in user.messages if m.kind == "photo"]


async def push(kehu: Harness, moment: datetime) -> int:
    kehu.clock.set(moment)
    queued = await dispatch_digests(kehu.app)
    await kehu.deliver_outbox()
    return queued


async def test_digests_arrive_at_each_members_hour_with_team_content_and_chart(
    kehu: Harness,
) -> None:
    people = await world(kehu)
    await activity(kehu, people)
    assert await push(kehu, THURSDAY_0829) == 0  # not yet (and nobody's hour passed on Wed)
    assert await push(kehu, THURSDAY_0830) == 5

    (digest_a,) = digests_in(people["manager_a"], "📊 每日简报")
    lines = digest_a.text.splitlines()
    assert lines[0] == "📊 每日简报 · 11-26（本团队）"
    assert "📝 跟进记录：2 / 2" in lines
    assert "✅ 完成任务：0 / 0 · ⚠️ 当前逾期：1" in lines
    assert "🆕 新客户：2 / 2" in lines
    assert "🔀 阶段变更：1 / 1 · 转为成交：1 / 1" in lines
    assert "💰 成交：1 笔 ¥12,000.00 / 1 笔 ¥12,000.00" in lines
    assert "· 李娜：跟进 2/2 · 完成 0/0 · 逾期 1" in lines
    assert "王芳" not in digest_a.text
    assert "南方" not in digest_a.text
    data = [b.callback_data for row in digest_a.buttons for b in row]
    rep_a = await member_id(kehu, people["rep_a"])
    assert data == [f"dg:overdue:{rep_a}", "dg:stale", "dg:deals"]
    (chart,) = charts_in(people["manager_a"])
    assert chart.text == "各销售跟进记录数"
    assert chart.document is not None
    assert chart.document.startswith(b"\x89PNG")

    (digest_b,) = digests_in(people["manager_b"], "📊 Daily digest")  # in his language
    assert "📝 Follow-ups logged: 1 / 1" in digest_b.text
    assert "💰 Deals: 0 for ¥0.00 / 1 for ¥800.00" in digest_b.text
    assert "李娜" not in digest_b.text

    (everyone,) = digests_in(people["admin"], "📊 每日简报 · 11-26（全员）")
    assert "📝 跟进记录：3 / 3" in everyone.text
    assert "🆕 新客户：3 / 3" in everyone.text

    (agenda,) = digests_in(people["rep_a"], "☀️ 早上好，李娜！")
    assert "⚠️ 逾期 1 项：" in agenda.text
    assert "⚠️ 11-25 16:00 东方仪器（CRM0002）" in agenda.text
    assert charts_in(people["rep_a"]) == []
    (quiet_rep,) = digests_in(people["rep_b"], "☀️ 早上好，王芳！")
    assert quiet_rep.text == "☀️ 早上好，王芳！今天（11-26）没有待办、逾期任务或久未跟进的客户。"

    # Later the same day nothing more; the next morning again, once.
    assert await push(kehu, THURSDAY_0830 + timedelta(hours=3)) == 0
    assert len(digests_in(people["manager_a"], "📊 每日简报")) == 1
    assert await push(kehu, THURSDAY_0830 + timedelta(days=1)) == 5
    assert len(digests_in(people["manager_a"], "📊 每日简报")) == 2

    now = await kehu.say(people["manager_a"], "/digest now")  # on demand, chart included
    assert [m.kind for m in now] == ["text", "photo"]
    assert now[0].text.startswith("📊 每日简报 · 11-27（本团队）")


async def test_two_instances_and_a_restart_send_each_digest_once(
    kehu: Harness, database_url: str, telegram: FakeTelegram, clock: FakeClock
) -> None:
    people = await world(kehu)
    await activity(kehu, people)
    second = build_application(settings_for(database_url, telegram), clock=clock)
    try:
        clock.set(THURSDAY_0830)
        first_run, second_run = await asyncio.gather(
            dispatch_digests(kehu.app), dispatch_digests(second)
        )
        assert first_run + second_run >= 5
        restarted = build_application(settings_for(database_url, telegram), clock=clock)
        try:
            assert await dispatch_digests(restarted) == 0
        finally:
            await restarted.kehu.engine.dispose()
        await kehu.deliver_outbox()
    finally:
        await second.kehu.engine.dispose()
    async with kehu.unit_of_work() as uow:
        keys = (
            await uow.session.scalars(
                text("SELECT idempotency_key FROM outbox WHERE idempotency_key LIKE 'digest:%'")
            )
        ).all()
    assert len(keys) == len(set(keys)) == 5 + 3  # five digests, three charts (admin, managers)
    for user in people.values():
        assert len(digests_in(user, "📊")) + len(digests_in(user, "☀️")) == 1


async def test_a_quiet_day_sends_a_one_line_digest(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    manager = kehu.user(4001, "张伟")
    await kehu.join(manager, "manager 华东区")
    kehu.clock.set(THURSDAY_0830)
    await kehu.app.digests.run()  # what the scheduler's tick starts (one run at a time)
    await kehu.deliver_outbox()
    (digest,) = digests_in(manager, "📊")
    assert digest.text == (
        "📊 每日简报 · 11-26（本团队）：昨天没有新动态，也没有逾期任务和久未跟进的客户。"
    )
    assert digest.buttons == []
    assert charts_in(manager) == []


async def test_digest_settings_hour_off_on_now_and_bad_input(kehu: Harness) -> None:
    people = await world(kehu)
    manager = people["manager_a"]
    (settings,) = await kehu.say(manager, "/digest")
    assert settings.text.splitlines()[0] == (
        "📬 每日简报（团队日报）：每天 08:30（Asia/Shanghai）推送，已开启。"
    )
    (refused,) = await kehu.say(manager, "/digest 25:00")
    assert refused.text.startswith("「25:00」不是有效的时间。")
    assert "/digest 07:45" in refused.text
    (refused_en,) = await kehu.say(people["manager_b"], "/digest 8h")
    assert refused_en.text.startswith("“8h” is not a time of day.")
    assert (await kehu.member(manager.user_id)).digest_time is None  # type: ignore[union-attr]

    (saved,) = await kehu.say(manager, "/digest 7:45")
    assert saved.text == "✅ 好的，以后每天 07:45（Asia/Shanghai）推送每日简报。"
    (off,) = await kehu.say(people["rep_b"], "/digest off")
    assert off.text.startswith("🔕 每日简报已关闭。")

    assert await push(kehu, at(26, 7, 44)) == 0
    assert await push(kehu, at(26, 7, 45)) == 1  # only 张伟, at his own hour
    assert len(digests_in(manager, "📊 每日简报")) == 1
    assert await push(kehu, THURSDAY_0830) == 3  # admin, 赵强, 李娜 — not 王芳 (off)
    assert digests_in(people["rep_b"], "☀️") == []

    on = await kehu.tap(people["rep_b"], (await kehu.say(people["rep_b"], "/digest"))[0], "dg:on")
    assert on.text.startswith("✅ 每日简报已开启")

    now = await kehu.say(manager, "/digest now")
    assert now[0].text.startswith("📊 每日简报 · 11-26（本团队）")
    assert [m.kind for m in now] == ["text"]  # nothing logged: no chart


async def test_drill_downs_open_scoped_lists_and_refuse_forged_reps(kehu: Harness) -> None:
    people = await world(kehu)
    await activity(kehu, people)
    async with kehu.unit_of_work() as uow:  # a customer of 李娜's gone quiet
        await uow.session.execute(
            update(CustomerRow)
            .where(CustomerRow.code == "CRM0002")
            .values(created_at=at(1, 9), last_followup_at=None)
        )
        await uow.commit()
    await push(kehu, THURSDAY_0830)
    manager = people["manager_a"]
    (digest,) = digests_in(manager, "📊 每日简报")
    rep_a = await member_id(kehu, people["rep_a"])
    rep_b = await member_id(kehu, people["rep_b"])

    overdue = await kehu.tap(manager, digest, f"dg:overdue:{rep_a}")
    assert overdue.text.splitlines() == [
        "⚠️ 李娜 的逾期任务（1）：",
        "· 11-25 16:00 东方仪器（CRM0002）报价",
    ]
    assert [b.callback_data for row in overdue.buttons for b in row] == [
        f"cust:open:{await customer_id(kehu, 'CRM0002')}"
    ]

    stale = await kehu.tap(manager, digest, "dg:stale")
    assert stale.text.splitlines() == ["💤 久未跟进的客户（1）：", "💤 东方仪器（CRM0002）"]

    deals_b = await kehu.tap(
        people["manager_b"], digests_in(people["manager_b"], "📊")[0], "dg:deals"
    )
    assert deals_b.text.splitlines() == [
        "💰 Today's deals (11-26): 1 for ¥800.00",
        "· 南方贸易 (CRM0003) ¥800.00 · 耗材 · 王芳",
    ]
    deals_a = await kehu.tap(manager, digest, "dg:deals")
    assert deals_a.text == "今天（11-26）还没有成交。"  # 王芳's deal is the other team's

    # A forged rep id from the other team, and a rep peeking at a colleague: refused.
    assert await kehu.tap_data(manager, digest, f"dg:overdue:{rep_b}") == (
        "这位成员不在您的查看范围内。"
    )
    (agenda,) = digests_in(people["rep_b"], "☀️")
    assert await kehu.tap_data(people["rep_b"], agenda, f"dg:overdue:{rep_a}") == (
        "这位成员不在您的查看范围内。"
    )
    # The admin may look at anyone's.
    everyone = digests_in(people["admin"], "📊")[0]
    assert (await kehu.tap_data(people["admin"], everyone, f"dg:overdue:{rep_b}")) == (
        "王芳 目前没有逾期任务。🎉"
    )
