"""/report end to end on a known data set (the one of tests/integration/test_report_queries.py):
an admin's custom period with every figure checked, the charts and the PDF (Chinese text in
the embedded font, audit-logged), a manager's preset scoped to the team, a rep refused, and
bad periods answered in the user's language without anything written. A preset's PDF is titled
with the period's name, a custom range's with its dates only."""

from __future__ import annotations

from sqlalchemy import text

from bot.fake_api.models import BotMessage
from bot.fake_api.users import UserHandle
from tests.integration.test_report_queries import (
    MANAGER_TELEGRAM,
    REP_TELEGRAM,
    Known,
    seed_known_data,
)
from tests.support.harness import ADMIN_ID, Harness
from tests.unit.test_reports_pdf import embedded_fonts, pdf_text

REPORT_LINES = [
    "📊 经营报表 · 2026-11-01 至 2026-11-20",
    "范围：全部客户",
    "新增客户 4 位 · 期末客户总数 6 位",
    "成交 6 笔，金额 ¥49,500.50（4 位客户，单笔平均 ¥8,250.08）",
    "线索→成交转化率 75%（本期 4 条新线索中 3 条已成交）",
    "复购率 50%（4 位购买客户中 2 位复购）",
    "潜在 4 → 意向 4 → 成交 3 · 流失 1",
    "平均停留：潜在 3.1 天 · 意向 5.0 天",
    "行业：制造业 3（50%） · 零售 2（33.3%） · 医疗 1（16.7%）",
    "等级：A 级 2（33.3%） · 未填写 2（33.3%） · B 级 1（16.7%） · C 级 1（16.7%）",
    "制造业：平均 ¥15,166.83（3 位购买客户）",
    "零售：平均 ¥7,000.00（1 位购买客户）",
    "1. CRM0005 戊电子 · ¥20,000.00（1 笔）",
    "2. CRM0001 甲科技 · ¥17,500.50（3 笔）",
    "3. CRM0003 丙公司 · ¥8,000.00（1 笔）",
    "4. CRM0004 丁商贸 · ¥4,000.00（1 笔）",
    "1. CRM0001 甲科技 · 复购 2 次（共 3 笔，复购占比 66.7%）",
    "2. CRM0004 丁商贸 · 复购 1 次（共 2 笔，复购占比 50%）",
    "1. 张伟 · 跟进 2 · 成交 1 笔 ¥20,000.00 · 逾期 0",
    "2. 王芳 · 跟进 3 · 成交 3 笔 ¥17,500.50 · 逾期 2",
    "3. 李雷 · 跟进 1 · 成交 2 笔 ¥12,000.00 · 逾期 1",
]


async def seeded(kehu: Harness) -> tuple[UserHandle, Known]:
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    async with kehu.unit_of_work() as uow:
        known = await seed_known_data(uow.session, admin_id=member.id)
        await uow.commit()
    return admin, known


async def audit_count(kehu: Harness, action: str) -> int:
    async with kehu.unit_of_work() as uow:
        found = await uow.session.scalar(
            text("SELECT count(*) FROM audit_log WHERE action = :action"), {"action": action}
        )
    return int(found or 0)


def report_of(messages: list[BotMessage]) -> BotMessage:
    return next(m for m in messages if m.kind == "text" and m.text.startswith("📊 经营报表"))


async def test_custom_period_report_with_charts_and_pdf(kehu: Harness) -> None:
    admin, _ = await seeded(kehu)
    (menu,) = await kehu.say(admin, "/report")
    assert "请选择报表周期" in menu.text
    assert {"rp:p:this_week", "rp:p:quarter", "rp:p:custom"} <= {
        b.callback_data for row in menu.buttons for b in row
    }
    asked = await kehu.tap(admin, menu, "rp:p:custom")
    assert "请发送开始和结束日期" in asked.text
    assert "\n2026-11-01 2026-11-20\n" in asked.text
    # the next text is the period: a backwards one is refused and the question stays open
    (backwards,) = await kehu.say(admin, "2026-11-20 至 2026-11-01")
    assert "早于开始日期" in backwards.text
    replies = await kehu.say(admin, "2026-11-01 2026-11-20")
    report = report_of(replies)
    assert await kehu.count("dialogs") == 0  # answered: the next text is a search again
    lines = report.text.splitlines()
    for expected in REPORT_LINES:
        assert expected in lines, f"{expected!r} not in\n{report.text}"
    photos = [m for m in replies if m.kind == "photo"]
    assert len(photos) == 3  # funnel, industry, leaderboard
    assert all(p.document and p.document.startswith(b"\x89PNG") for p in photos)

    before = len(admin.messages)
    await kehu.handled(await admin.press_data(report, "rp:pdf:20261101-20261120"))
    document = next(m for m in admin.messages[before:] if m.kind == "document")
    assert document.file_name == "kehu-report-20261101-20261120.pdf"
    assert document.document is not None
    assert document.document.startswith(b"%PDF")
    assert any("WenQuanYiMicroHei" in font for font in embedded_fonts(document.document))
    content = pdf_text(document.document)
    assert content.splitlines()[0] == "经营报表 · 2026-11-01 至 2026-11-20"  # a custom range: dates
    typed = report_of(await kehu.say(admin, "/report 2026-11-01 2026-11-20"))  # typed at once
    assert typed.text == report.text
    for expected in ("经营报表", "全部客户", "甲科技", "¥49,500.50", "制造业", "张伟", "复购"):
        assert expected in content, expected
    assert content.index("概览") < content.index("阶段漏斗") < content.index("客户构成")
    assert content.index("客户构成") < content.index("成交金额 Top 10") < content.index("图表")
    assert await audit_count(kehu, "report.pdf") == 1


async def test_manager_this_month_is_scoped_to_the_team(kehu: Harness) -> None:
    await seeded(kehu)
    manager = kehu.user(MANAGER_TELEGRAM, "赵经理")
    (menu,) = await kehu.say(manager, "/report")
    before = len(manager.messages)
    await kehu.handled(await manager.press_data(menu, "rp:p:this_month"))
    report = report_of(manager.messages[before:])
    lines = report.text.splitlines()
    for expected in [
        "📊 经营报表 · 2026-11-01 至 2026-11-30（本月）",
        "范围：本团队客户",
        "新增客户 4 位 · 期末客户总数 6 位",
        "成交 5 笔，金额 ¥29,500.50（3 位客户，单笔平均 ¥5,900.10）",
        "线索→成交转化率 50%（本期 4 条新线索中 2 条已成交）",
        "潜在 4 → 意向 3 → 成交 2 · 流失 1",
        "1. 王芳 · 跟进 4 · 成交 3 笔 ¥17,500.50 · 逾期 2",
        "2. 李雷 · 跟进 1 · 成交 2 笔 ¥12,000.00 · 逾期 1",
    ]:
        assert expected in lines, f"{expected!r} not in\n{report.text}"
    assert "戊电子" not in report.text
    assert "张伟" not in report.text

    document = await kehu.tap(manager, report, "rp:pdf:")  # the PDF of the preset: its name too
    assert document.kind == "document"
    assert document.file_name == "kehu-report-20261101-20261130.pdf"
    assert document.document is not None
    assert pdf_text(document.document).splitlines()[0] == (
        "经营报表 · 2026-11-01 至 2026-11-30（本月）"
    )


async def test_a_rep_may_not_see_reports(kehu: Harness) -> None:
    await seeded(kehu)
    rep = kehu.user(REP_TELEGRAM)
    (refused,) = await kehu.say(rep, "/report")
    assert "无权" in refused.text
    answer = await kehu.tap_data(rep, refused, "rp:pdf:20261101-20261120")
    assert "无权" in answer
    assert not [m for m in rep.messages if m.kind == "document"]
    assert await audit_count(kehu, "report.pdf") == 0


async def test_bad_periods_get_a_clear_answer_and_nothing_is_written(kehu: Harness) -> None:
    admin, _ = await seeded(kehu)
    audit_before = await kehu.count("audit_log")
    (backwards,) = await kehu.say(admin, "/report 2026-11-20 2026-11-01")
    assert backwards.text == (
        "结束日期 2026-11-01 早于开始日期 2026-11-20。请先写开始日期，再写结束日期，"
        "例如：/report 2026-11-01 2026-11-20"
    )
    (impossible,) = await kehu.say(admin, "/report 2026-02-30 2026-03-01")
    assert "日期不存在" in impossible.text
    assert "/report 2026-11-01 2026-11-20" in impossible.text
    (unreadable,) = await kehu.say(admin, "/report 下个月")
    assert "没看懂这个周期" in unreadable.text
    (forged,) = [await kehu.tap_data(admin, backwards, "rp:pdf:20261120-20261101")]
    assert "早于开始日期" in forged
    assert await kehu.count("audit_log") == audit_before
