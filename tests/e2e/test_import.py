"""Importing customers end to end: /import, an .xlsx with a title row and problems gets a
mapping, a dry run and the rejected rows back as an .xlsx; a column is remapped with buttons;
Import writes everything at once, updating the customer made in the chat instead of
duplicating it; a failure in the middle leaves nothing written; hostile and wrong files get a
clear answer; survey workbooks and other people's files go where they went before."""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import zipfile
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import text

from bot.fake_api import FakeTelegram
from bot.fake_api.models import BotMessage
from bot.fake_api.users import UserHandle
from crm.clock import FakeClock
from crm.importing import source
from storage.repositories.imports import SqlImportRepository
from tests.support.harness import Harness, settings_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [
    "客户编号",
    "客户名称",
    "所属行业",
    "联系人*",
    "职位",
    "联系方式（脱敏）",
    "合作阶段",
    "微信",
    "建档日期",
]


def workbook(rows: list[list[Any]], *, title: str | None = "客户信息表") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("客户")
    line = 0
    if title:
        sheet.merge_range(0, 0, 0, 4, title)
        line = 2  # and a blank row
    sheet.write_row(line, 0, HEADERS)
    for offset, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is not None:
                sheet.write(line + offset, column, value)
    book.close()
    return buffer.getvalue()


ROWS: list[list[Any]] = [
    # updates the chat's 华信科技 by its phone, written another way; moves it to 成交
    [None, "华信科技", "制造业", "张伟", "采购经理", "+86 139-1234-5678", "成交", "wx1", 45352],
    ["CRM0100", "ＹＹ集团 ", "零售", "李娜", "总监", 13700009012, "意向", "wx2", "2024/3/1"],
    [None, "新星贸易", None, "王强", None, "021-6555 1234", None, None, None],
    [None, "没有联系人", None, None, None, "13800000000", None, None, None],
    [None, "新星贸易二号", None, "赵六", None, "(021) 65551234", None, None, None],
    [None, "坏阶段", None, "钱七", None, "13900001111", "差不多", None, "昨天"],
]


async def upload(kehu: Harness, user: UserHandle, data: bytes, name: str) -> list[BotMessage]:
    before = len(user.messages)
    await kehu.handled(await user.send_document(data, name, XLSX))
    return user.messages[before:]


async def press_import(kehu: Harness, admin: UserHandle, preview: BotMessage) -> BotMessage:
    """Press Import: the preview says "importing…" at once, and the result when the commit,
    which runs after the update, is over."""
    importing = await kehu.tap(admin, preview, "imp:go")
    assert importing.message_id == preview.message_id
    assert "⏳" in importing.text, importing.text

    def result() -> BotMessage:
        return next(m for m in admin.messages if m.message_id == preview.message_id)

    await kehu.fake.wait_until(lambda: "⏳" not in result().text)
    return result()


async def customers(kehu: Harness) -> list[tuple[Any, ...]]:
    async with kehu.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT code, name, stage, industry FROM customers ORDER BY code")
        )
        return [tuple(row) for row in rows.all()]


async def test_dry_run_returns_an_error_file_then_an_atomic_commit_updates(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    await kehu.create_customer(admin, "华信科技", "张伟", "13912345678", stage="意向")
    intro = await kehu.say(admin, "/import")
    assert "客户名称" in intro[-1].text

    replies = await upload(kehu, admin, workbook(ROWS), "客户.xlsx")
    document = next(m for m in replies if m.kind == "document")
    preview = replies[-1]
    assert "新增 2 · 更新 1 · 重复 1 · 有问题 2" in preview.text, preview.text
    assert "联系人* → 联系人" in preview.text
    assert "微信 → （不导入）" in preview.text
    assert document.document is not None
    sheet = openpyxl.load_workbook(io.BytesIO(document.document)).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][-3:] == ("行号", "字段", "原因")
    by_row = {row[-3]: row for row in table[1:]}
    assert set(by_row) == {7, 8, 9}
    assert by_row[7][-2] == "联系人"
    assert "必填" in by_row[7][-1]
    assert "第 6 行" in by_row[8][-1]  # the same phone as 新星贸易
    assert "合作阶段" in by_row[9][-2]
    assert "日期" in by_row[9][-1]
    assert await customers(kehu) == [("CRM0001", "华信科技", "intent", None)]

    # map the 微信 column to notes with the buttons: the dry run runs again
    picker = await kehu.tap(admin, preview, "imp:col:7")
    assert "微信" in picker.text
    preview = await kehu.tap(admin, picker, "imp:set:7:notes")
    assert preview.message_id == picker.message_id  # edited in place, no new file
    assert "微信 → 备注" in preview.text

    # a failure halfway through the commit writes nothing
    original = SqlImportRepository.update_customers

    async def broken(self: SqlImportRepository, *args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlImportRepository, "update_customers", broken)
    failed = await press_import(kehu, admin, preview)
    assert "均未保存" in failed.text, failed.text
    assert await customers(kehu) == [("CRM0001", "华信科技", "intent", None)]
    assert await kehu.count("contacts") == 1

    monkeypatch.setattr(SqlImportRepository, "update_customers", original)
    done = await press_import(kehu, admin, failed)  # Import again, on the failure message
    assert "新增 2 位客户，更新 1 位，跳过 3 行" in done.text, done.text
    assert await customers(kehu) == [
        ("CRM0001", "华信科技", "deal", "制造业"),
        ("CRM0100", "YY集团", "intent", "零售"),
        ("CRM0101", "新星贸易", "potential", None),  # a given code comes after the file's
    ]
    async with kehu.unit_of_work() as uow:
        notes = await uow.session.scalar(text("SELECT notes FROM customers WHERE code='CRM0001'"))
        created = await uow.session.scalar(
            text("SELECT created_at FROM customers WHERE code='CRM0100'")
        )
    assert notes == "wx1"
    assert str(created).startswith("2024-02-29 16:00")  # 2024-03-01 00:00 in Shanghai
    assert await kehu.count("contacts") == 3  # the chat's 张伟 was updated, not added again
    found = await kehu.say(admin, "YY集团")
    assert any("YY集团" in m.text + str(m.button_texts) for m in found), [
        (m.text, m.button_texts) for m in found
    ]
    again = await kehu.say(admin, "/new")
    assert again  # the chat still works after an import


async def test_a_csv_in_gbk_is_imported_by_code(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    csv = "Code,Customer name,Contact,Phone,Stage\nCRM0007,Acme,Ann,139 0000 0007,deal\n"
    replies = await upload(kehu, admin, csv.encode("gbk"), "c.csv")
    assert "new 1 · updated 0" in replies[-1].text
    assert not [m for m in replies if m.kind == "document"]
    done = await press_import(kehu, admin, replies[-1])
    assert "1 new customers" in done.text
    assert await customers(kehu) == [("CRM0007", "Acme", "deal", None)]
    # an .xlsx customer table without /import (no survey sheet) is an import too
    replies = await upload(kehu, admin, workbook(ROWS[:1]), "more.xlsx")
    assert "Dry run: new 1" in replies[-1].text
    cancelled = await kehu.tap(admin, replies[-1], "imp:x")
    assert "nothing was written" in cancelled.text
    assert len(await customers(kehu)) == 1


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (
            b"\xd0\xcf\x11\xe0" + b"\x00" * 64 + "EncryptionInfo".encode("utf-16-le"),
            "a.xlsx",
            "密码",
        ),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 600, "old.xls", ".xls"),
        (b"%PDF-1.4 hello", "a.pdf", ".xlsx"),
        ("随便写点什么\n没有表头\n".encode(), "a.csv", "表头"),
    ],
)
async def test_bad_files_get_a_clear_answer_while_importing(
    kehu: Harness, data: bytes, name: str, expected: str
) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    await kehu.say(admin, "/import")
    replies = await upload(kehu, admin, data, name)
    assert expected in replies[-1].text, replies[-1].text
    assert await kehu.count("customers") == 0


async def test_a_zip_bomb_is_refused_unread(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    await kehu.say(admin, "/import")
    buffer = io.BytesIO()

    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (320 * 1024 * 1024))
    replies = await upload(kehu, admin, buffer.getvalue(), "bomb.xlsx")
    assert "解压后超过" in replies[-1].text


async def test_a_rep_csv_is_an_ordinary_file_and_surveys_still_import(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    rep = kehu.user(3001, "韩梅梅", "zh")
    await kehu.join(rep, "rep")
    replies = await upload(kehu, rep, "客户名称,联系人\nA,B\n".encode(), "c.csv")
    assert "/log" in replies[-1].text
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    book.add_worksheet("survey").write_row(0, 0, ["type", "name", "label"])
    book.close()
    replies = await upload(kehu, admin, buffer.getvalue(), "survey.xlsx")
    assert "问卷" in replies[-1].text  # the survey import answered, not the customer import
    replies = await upload(kehu, admin, b"not a workbook", "fake.xlsx")
    assert "未导入任何内容" in replies[-1].text
    assert await kehu.count("customers") == 0


async def test_others_are_answered_while_an_import_commits(
    kehu: Harness, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit runs after the Import press. On PostgreSQL everybody else is answered while
    it runs; on SQLite the import (one transaction) holds the write lock, so others wait for it
    (up to the busy timeout) and are answered right after."""
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    await kehu.say(admin, "/import")
    replies = await upload(kehu, admin, workbook(ROWS), "客户.xlsx")
    preview = replies[-1]
    inside, release = asyncio.Event(), asyncio.Event()
    original = SqlImportRepository.add_customers

    async def slow(self: SqlImportRepository, *args: Any) -> None:
        inside.set()
        await release.wait()  # the import is "still running", its transaction open
        await original(self, *args)

    monkeypatch.setattr(SqlImportRepository, "add_customers", slow)
    importing = await kehu.tap(admin, preview, "imp:go")
    assert "⏳" in importing.text
    await asyncio.wait_for(inside.wait(), 10)
    before = len(admin.messages)
    asked = await admin.send("/help")  # a member's update: it writes (its processed mark)
    if backend == "postgresql":
        await kehu.handled(asked)
        assert len(admin.messages) > before, "answered while the import runs"
        assert "⏳" in next(m for m in admin.messages if m.message_id == importing.message_id).text
    else:
        await asyncio.sleep(0.3)  # real time: the update is waiting for the write lock
        assert len(admin.messages) == before
    release.set()

    def shown() -> BotMessage:
        return next(m for m in admin.messages if m.message_id == importing.message_id)

    await kehu.fake.wait_until(lambda: "⏳" not in shown().text)
    await kehu.handled(asked)
    assert len(admin.messages) > before
    assert "✅" in shown().text, shown().text


async def test_a_big_file_goes_through_the_reader_process(
    kehu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same preview and import when a helper process reads the file (as for files of
    512 KB and more), inside the running bot."""
    monkeypatch.setattr(source, "HELPER_FROM_BYTES", 1)
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    await kehu.say(admin, "/import")
    replies = await upload(kehu, admin, workbook(ROWS), "客户.xlsx")
    preview = replies[-1]
    assert "新增 3 · 更新 0 · 重复 1 · 有问题 2" in preview.text, preview.text
    done = await press_import(kehu, admin, preview)
    assert "新增 3 位客户" in done.text, done.text
    assert len(await customers(kehu)) == 3
    assert not multiprocessing.active_children()


async def test_an_import_cut_short_by_a_restart_is_handed_back_then_imports_once(
    database_url: str,
    backend: str,
    telegram: FakeTelegram,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process dies while the commit runs, so its transaction never commits. The next one
    to start says so on the "importing…" message, with the preview's Import; pressed, it
    imports the file, once."""
    kehu = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    admin = kehu.admin()
    try:
        await kehu.say(admin, "/start")
        await kehu.say(admin, "/import")
        preview = (await upload(kehu, admin, workbook(ROWS), "客户.xlsx"))[-1]
        inside = asyncio.Event()
        original = SqlImportRepository.add_customers

        async def stuck(self: SqlImportRepository, *args: Any) -> None:
            inside.set()
            await asyncio.Event().wait()  # until the process dies

        monkeypatch.setattr(SqlImportRepository, "add_customers", stuck)
        importing = await kehu.tap(admin, preview, "imp:go")
        await asyncio.wait_for(inside.wait(), 10)
        if backend == "postgresql":  # (on SQLite the import holds the write lock)
            (busy,) = await kehu.say(admin, "/import")
            assert "正在导入一个文件" in busy.text, busy.text
        (commit,) = [task for task in asyncio.all_tasks() if task.get_name() == "import-1"]
        commit.cancel()  # the process is killed: the transaction is never committed
        with contextlib.suppress(asyncio.CancelledError):
            await commit
    finally:
        await kehu.stop()
    monkeypatch.setattr(SqlImportRepository, "add_customers", original)
    clock.advance(timedelta(seconds=20))
    restarted = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    try:
        assert await restarted.count("customers") == 0
        before = len(admin.messages)
        await restarted.deliver_outbox()
        shown = next(m for m in admin.messages if m.message_id == importing.message_id)
        assert shown.text.startswith("⚠️ 导入 客户.xlsx 时机器人重启了，所有内容均未保存")
        assert [b.text for row in shown.buttons for b in row] == ["✅ 导入 3 行", "✖ 取消"]
        done = await press_import(restarted, admin, shown)
        assert "新增 3 位客户" in done.text, done.text
        assert len(await customers(restarted)) == 3
        await restarted.deliver_outbox()
        assert len(admin.messages) == before, "each told on the message, none besides"
    finally:
        await restarted.stop()
    again = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    try:  # a later start finds nothing to hand back
        await again.deliver_outbox()
        assert len(await customers(again)) == 3
        assert len(admin.messages) == before
    finally:
        await again.stop()
