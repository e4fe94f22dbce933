"""/export end to end: a manager gets only the team's customers with masked phones, an admin
everyone's with whole phones, a rep is refused; a formula-like name stays text, a very long note
survives; follow-ups keep the seed's template 2 headings; every export is audit-logged."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import text

from bot.fake_api import BotMessage, FakeTelegram, UserHandle
from crm.clock import FakeClock
from crm.exports import service as export_service
from crm.exports.records import ExportKind
from crm.exports.service import ExportService, Page
from crm.followups import ContactMethod, NewFollowUp, NewTask
from crm.surveys.records import Response, ResponseState
from tests.support.harness import Harness, settings_for

EVIL = '=HYPERLINK("http://evil.example/x","点我")'
LONG_NOTE = "很长的备注" * 8_000  # 40,000 characters: more than an Excel cell holds


async def export(kehu: Harness, user: UserHandle, *taps: str) -> BotMessage:
    """/export, press the buttons given (callback data prefixes), wait for the document."""
    message = (await kehu.say(user, "/export"))[-1]
    before = len(user.messages)
    for data in taps:
        message = await kehu.tap(user, message, data)
    await kehu.fake.wait_until(
        lambda: any(m.kind == "document" for m in user.messages[before:]), timeout=20
    )
    return next(m for m in user.messages[before:] if m.kind == "document")


def rows_of(document: BotMessage) -> tuple[Any, list[tuple[Any, ...]]]:
    assert document.document is not None
    sheet = openpyxl.load_workbook(io.BytesIO(document.document)).worksheets[0]
    return sheet, list(sheet.iter_rows(values_only=True))


async def team_world(kehu: Harness) -> dict[str, UserHandle]:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    people = {
        "admin": admin,
        "manager_a": kehu.user(4001, "张伟"),
        "rep_a": kehu.user(3001, "李娜"),
        "manager_b": kehu.user(4002, "赵强"),
        "rep_b": kehu.user(3002, "王芳"),
    }
    await kehu.join(people["manager_a"], "manager 华东区")
    await kehu.join(people["manager_b"], "manager 华南区")
    await kehu.join(people["rep_a"], "rep", inviter=people["manager_a"])
    await kehu.join(people["rep_b"], "rep", inviter=people["manager_b"])
    await kehu.create_customer(people["rep_a"], "华信科技", "张经理", "13912345678")
    await kehu.create_customer(people["rep_a"], EVIL, "刘总", "13700001111")
    await kehu.create_customer(people["rep_b"], "南方贸易", "陈经理", "13800005678")
    async with kehu.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE customers SET notes = :note WHERE code = 'CRM0001'"), {"note": LONG_NOTE}
        )
        await uow.commit()
    return people


async def test_a_manager_exports_only_the_team_with_masked_phones(kehu: Harness) -> None:
    people = await team_world(kehu)
    document = await export(kehu, people["manager_a"], "exp:k:customers")
    assert document.file_name == "customers-2026-11-25.xlsx"
    assert "手机号已脱敏" in document.text
    sheet, rows = rows_of(document)
    header = rows[0]
    assert header[:3] == ("客户编号", "客户名称", "所属行业")
    assert sheet.freeze_panes == "A2"
    phone = header.index("联系方式")
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {"CRM0001", "CRM0002"}  # team 华东区 only: no 南方贸易
    assert by_code["CRM0001"][phone] == "139****5678"
    assert by_code["CRM0002"][phone] == "137****1111"
    assert by_code["CRM0001"][header.index("负责人")] == "李娜"
    assert by_code["CRM0001"][header.index("合作阶段")] == "潜在"
    # The formula-like name is a plain string cell, never a formula.
    evil_cell = sheet.cell(row=[r[0] for r in rows].index("CRM0002") + 1, column=2)
    assert evil_cell.value == EVIL
    assert evil_cell.data_type == "s"
    # The long note is cut at Excel's limit for a cell, not lost, not an error.
    note = by_code["CRM0001"][header.index("备注")]
    assert len(note) == 32_767
    assert LONG_NOTE.startswith(note)

    # A rep is refused, with a clear message; the refusal is audit-logged too.
    (refused,) = await kehu.say(people["rep_a"], "/export")
    assert refused.text.startswith("只有经理和管理员可以导出数据")
    async with kehu.unit_of_work() as uow:
        actions = (
            await uow.session.execute(text("SELECT action, details FROM audit_log ORDER BY id"))
        ).all()
    exports = [(action, details) for action, details in actions if action.startswith("export.")]
    assert [action for action, _ in exports] == ["export.customers", "export.refused"]
    details = exports[0][1]
    if isinstance(details, str):
        import json

        details = json.loads(details)
    assert details["rows"] == 2
    assert details["phones"] == "masked"


async def test_an_admin_sees_every_customer_with_whole_phones(kehu: Harness) -> None:
    people = await team_world(kehu)
    document = await export(kehu, people["admin"], "exp:k:customers")
    assert "脱敏" not in document.text
    _, rows = rows_of(document)
    phone = rows[0].index("联系方式")
    assert {row[0]: row[phone] for row in rows[1:]} == {
        "CRM0001": "13912345678",
        "CRM0002": "13700001111",
        "CRM0003": "13800005678",
    }


async def test_follow_ups_use_the_template_headings_and_local_time(kehu: Harness) -> None:
    people = await team_world(kehu)
    async with kehu.unit_of_work() as uow:
        ids: dict[str, int] = dict(
            (await uow.session.execute(text("SELECT code, id FROM customers"))).all()
        )
        authors: dict[str, int] = dict(
            (await uow.session.execute(text("SELECT name, id FROM members"))).all()
        )
        for code, author in (("CRM0001", "李娜"), ("CRM0003", "王芳")):
            await uow.follow_ups.add(
                NewFollowUp(
                    customer_id=ids[code],
                    author_id=authors[author],
                    happened_at=datetime(2026, 11, 24, 6, 30, tzinfo=UTC),
                    method=ContactMethod.PHONE,
                    summary="介绍样品测试流程及报价",
                    feedback="对价格有疑虑，需对比竞品",
                    demand_change=None,
                    next_step="=1+1",
                )
            )
        await uow.commit()
    document = await export(kehu, people["manager_a"], "exp:k:followups", "exp:p:followups:30d")
    assert document.file_name == "followups-2026-11-25.xlsx"
    sheet, rows = rows_of(document)
    assert rows[0] == (
        "跟进日期",
        "客户编号",
        "跟进方式",
        "沟通要点",
        "客户反馈",
        "需求变化",
        "下一步计划",
        "负责人",
    )
    assert rows[1:] == [
        (
            datetime(2026, 11, 24, 14, 30),  # Asia/Shanghai
            "CRM0001",
            "电话",
            "介绍样品测试流程及报价",
            "对价格有疑虑，需对比竞品",
            None,
            "=1+1",
            "李娜",
        )
    ]
    assert sheet.cell(row=2, column=7).data_type == "s"


async def test_nothing_to_export_says_so(kehu: Harness) -> None:
    people = await team_world(kehu)
    menu = (await kehu.say(people["manager_b"], "/export"))[-1]
    periods = await kehu.tap(people["manager_b"], menu, "exp:k:deals")
    answer = await kehu.tap(people["manager_b"], periods, "exp:p:deals:month")
    assert answer.text == "没有可导出的「成交」（本月）。"


async def test_a_big_export_says_it_is_being_built_then_ready(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_service, "LARGE_EXPORT", 2)  # "big" from 2 rows in this test
    people = await team_world(kehu)
    manager = people["manager_a"]
    before = len(manager.messages)
    document = await export(kehu, manager, "exp:k:customers")
    progress = next(m for m in manager.messages[before:] if m.text.startswith("⏳"))
    assert progress.text == "⏳ 正在生成「客户」Excel：2 行，完成后发到这里…"
    assert manager.messages.index(progress) < manager.messages.index(document)
    await kehu.fake.wait_until(lambda: progress_text(manager, progress).startswith("✅"))
    assert progress_text(manager, progress) == "✅ 「客户」Excel 已生成：2 行。"


async def jobs_over(kehu: Harness) -> None:
    """Every export run over (they end just after their last message): no job left."""
    runs = [task for task in asyncio.all_tasks() if task.get_name().startswith("export-")]
    await asyncio.wait_for(asyncio.gather(*runs), 10)
    assert await kehu.count("export_jobs") == 0


def progress_text(user: UserHandle, progress: BotMessage) -> str:
    return next(m for m in user.messages if m.message_id == progress.message_id).text


async def test_survey_answers_only_from_customers_in_scope(kehu: Harness) -> None:
    people = await team_world(kehu)
    admin = people["admin"]
    templates = (await kehu.say(admin, "/survey templates"))[-1]
    await kehu.tap(admin, templates, "svm:tpl:")
    async with kehu.unit_of_work() as uow:
        (survey,) = await uow.surveys.all()
        ids: dict[str, int] = dict(
            (await uow.session.execute(text("SELECT code, id FROM customers"))).all()
        )
        for telegram_id, code in ((7001, "CRM0001"), (7002, "CRM0003"), (7003, None)):
            response = await uow.surveys.add_response(
                Response(
                    id=0,
                    survey_id=survey.id,
                    version_id=survey.version_id,
                    telegram_id=telegram_id,
                    customer_id=ids[code] if code else None,
                    channel="telegram" if code else "web",
                    language="zh",
                    state=ResponseState.ANSWERING,
                    seed=1,
                ),
                None,
                kehu.clock.now(),
            )
            await uow.session.execute(
                text(
                    "UPDATE survey_responses SET state = 'completed', consented_at = :start, "
                    "completed_at = :end WHERE id = :id"
                ),
                {
                    "start": datetime(2026, 11, 24, 1, 0),
                    "end": datetime(2026, 11, 24, 1, 6),
                    "id": response.id,
                },
            )
        await uow.commit()
    manager = people["manager_a"]
    menu = (await kehu.say(manager, "/export"))[-1]
    surveys = await kehu.tap(manager, menu, "exp:k:survey")
    assert surveys.text == "导出问卷回答：选择问卷"
    before = len(manager.messages)
    await kehu.tap(manager, surveys, f"exp:s:{survey.id}")
    document = next(m for m in manager.messages[before:] if m.kind == "document")
    assert document.file_name == f"survey-{survey.form_id}-2026-11-25.xlsx"
    assert "2 份回答" in document.text
    assert "你的范围外的 1 份未包含" in document.text
    _, rows = rows_of(document)
    codes = [row[1] for row in rows[1:]]
    assert sorted(code or "" for code in codes) == ["", "CRM0001"]  # not CRM0003 (team B)
    async with kehu.unit_of_work() as uow:
        audited = (
            await uow.session.execute(
                text("SELECT entity_id FROM audit_log WHERE action = 'export.survey'")
            )
        ).all()
    assert [row[0] for row in audited] == [str(survey.id)]


async def test_typed_arguments_usage_and_one_export_at_a_time(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await team_world(kehu)
    admin = people["admin"]
    async with kehu.unit_of_work() as uow:
        customer_id, owner_id = (
            await uow.session.execute(
                text("SELECT id, owner_id FROM customers WHERE code = 'CRM0003'")
            )
        ).one()
        await uow.tasks.add(
            NewTask(
                customer_id=customer_id,
                assignee_id=owner_id,
                created_by=owner_id,
                due_at=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
                method=ContactMethod.VISIT,
                talking_points="上门演示",
            )
        )
        await uow.commit()
    before = len(admin.messages)
    await kehu.say(admin, "/export tasks")
    await kehu.fake.wait_until(lambda: any(m.kind == "document" for m in admin.messages[before:]))
    document = next(m for m in admin.messages[before:] if m.kind == "document")
    assert document.file_name == "tasks-2026-11-25.xlsx"
    _, rows = rows_of(document)
    assert rows[0][:6] == ("到期时间", "客户编号", "客户名称", "跟进方式", "沟通要点", "状态")
    assert rows[1][:7] == (
        datetime(2026, 11, 24, 10, 0),
        "CRM0003",
        "南方贸易",
        "拜访",
        "上门演示",
        "已逾期",
        "王芳",
    )
    (usage,) = await kehu.say(admin, "/export everything")
    assert usage.text.startswith("用法：/export")
    (usage,) = await kehu.say(admin, "/export deals someday")
    assert usage.text.startswith("用法：/export")
    await jobs_over(kehu)  # delivered: the job is over
    async with kehu.unit_of_work() as uow:  # an export being built (here, or in another process)
        member = await uow.members.by_telegram_id(admin.user_id)
        assert member is not None
        at = kehu.clock.now()
        await uow.export_jobs.add(
            member.id, admin.user_id, ExportKind.DEALS, "all", "Asia/Shanghai", "zh", at
        )
        await uow.commit()
    (busy,) = await kehu.say(admin, "/export customers")
    assert busy.text == "上一个导出还在生成中，完成后再试。"


async def test_an_export_cut_short_by_a_restart_is_built_again_and_sent_once(
    database_url: str, telegram: FakeTelegram, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies while the export is being built. The job is still there; once its
    claim has gone stale, the next process builds it again (for the member's scope as it is
    now), sends the document and turns the first "building…" message into "ready"."""
    monkeypatch.setattr(export_service, "LARGE_EXPORT", 2)
    kehu = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    try:
        people = await team_world(kehu)
        manager = people["manager_a"]
        inside = asyncio.Event()
        original = ExportService.page

        async def stuck(self: ExportService, *args: Any) -> Page:
            inside.set()
            await asyncio.Event().wait()  # until the process dies
            raise AssertionError("unreachable")

        monkeypatch.setattr(ExportService, "page", stuck)
        menu = (await kehu.say(manager, "/export"))[-1]
        await kehu.tap(manager, menu, "exp:k:customers")
        await asyncio.wait_for(inside.wait(), 10)
        progress = next(m for m in manager.messages if m.text.startswith("⏳"))
        (run,) = [task for task in asyncio.all_tasks() if task.get_name().startswith("export-")]
        run.cancel()  # the process is killed
        with contextlib.suppress(asyncio.CancelledError):
            await run
    finally:
        await kehu.stop()
    monkeypatch.setattr(ExportService, "page", original)
    restarted = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    try:
        assert restarted.app.job_queue is not None  # (the tick that calls recover)
        assert "exports" in {job.name for job in restarted.app.job_queue.jobs()}
        assert await restarted.app.exports.recover() == 0, "its claim is not stale yet"
        clock.advance(export_service.EXPORT_LEASE + timedelta(seconds=1))
        assert await restarted.app.exports.recover() == 1
        await jobs_over(restarted)
        documents = [m for m in manager.messages if m.kind == "document"]
        assert [d.file_name for d in documents] == ["customers-2026-11-25.xlsx"]
        _, rows = rows_of(documents[0])
        assert [row[1] for row in rows[1:]] == ["华信科技", EVIL]  # the team's, as before
        assert progress_text(manager, progress) == "✅ 「客户」Excel 已生成：2 行。"
        assert sum(m.text.startswith("⏳") for m in manager.messages) == 0, "no second one"
        assert await restarted.app.exports.recover() == 0
    finally:
        await restarted.stop()


async def test_a_run_too_slow_to_renew_its_claim_is_taken_over_and_sends_nothing(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that stalls past the lease (its process frozen, say) finds, when it wakes, that
    another run has the job: only the other one's document goes out."""
    people = await team_world(kehu)
    manager = people["manager_a"]
    stalled, release = asyncio.Event(), asyncio.Event()
    original = ExportService.page
    calls = 0

    async def first_run_stalls(self: ExportService, *args: Any) -> Page:
        nonlocal calls
        calls += 1
        if calls == 1:
            stalled.set()
            await release.wait()
        return await original(self, *args)

    monkeypatch.setattr(ExportService, "page", first_run_stalls)
    menu = (await kehu.say(manager, "/export"))[-1]
    await kehu.tap(manager, menu, "exp:k:customers")
    await asyncio.wait_for(stalled.wait(), 10)
    kehu.clock.advance(export_service.EXPORT_LEASE + timedelta(seconds=1))
    assert await kehu.app.exports.recover() == 1
    await kehu.fake.wait_until(lambda: any(m.kind == "document" for m in manager.messages))
    release.set()
    await jobs_over(kehu)
    assert [m.kind for m in manager.messages].count("document") == 1


async def test_an_abandoned_job_that_cannot_be_planned_again_is_dropped_not_retried(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await team_world(kehu)
    async with kehu.unit_of_work() as uow:
        member = await uow.members.by_telegram_id(people["manager_a"].user_id)
        assert member is not None
        at = kehu.clock.now()
        await uow.export_jobs.add(
            member.id, 4001, ExportKind.DEALS, "all", "Asia/Shanghai", "zh", at
        )
        await uow.commit()

    async def broken(self: ExportService, *args: Any) -> None:
        raise RuntimeError("cannot plan it")

    monkeypatch.setattr(ExportService, "resume", broken)
    kehu.clock.advance(export_service.EXPORT_LEASE + timedelta(seconds=1))
    assert await kehu.app.exports.recover() == 1
    await jobs_over(kehu)
    assert not any(m.kind == "document" for m in people["manager_a"].messages)
