"""Surveys end to end: a manager imports a workbook and invites customers by tag; customers
consent, answer one question at a time (Back, skip logic, a restart in the middle), get tagged;
status, export and charts; decline, withdraw, speeders, full quota cells and bad input."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import openpyxl
from sqlalchemy import text

from bot.fake_api import FakeTelegram
from bot.fake_api.models import BotMessage
from bot.fake_api.users import UserHandle
from crm.clock import FakeClock
from crm.customers import TagSource
from tests.support.harness import Harness, settings_for

KANO = ["like", "expect", "neutral", "tolerate", "dislike"]
SURVEY_ROWS: list[list[Any]] = [
    [
        "type",
        "name",
        "label::zh",
        "label::en",
        "required",
        "relevant",
        "constraint",
        "constraint_message::zh",
        "parameters",
        "x_kano",
        "x_check",
    ],
    ["note", "intro", "感谢参与", "Thanks", "", "", "", "", "", "", ""],
    [
        "select_one yn",
        "uses",
        "是否在用我们的产品？",
        "Do you use it?",
        "yes",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "select_one freq",
        "freq",
        "使用频率？",
        "How often?",
        "yes",
        "${uses} = 'yes'",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "select_multiple concern",
        "concerns",
        "最关心什么？",
        "What matters?",
        "yes",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["range", "sat", "满意度", "Satisfaction", "yes", "", "", "", "start=1 end=5 step=1", "", ""],
    [
        "integer",
        "staff",
        "员工人数？",
        "Staff?",
        "yes",
        "",
        ". > 0 and . < 100000",
        "请输入 1-99999",
        "",
        "",
        "",
    ],
    ["select_one yn", "check", "请选择「是」", "Pick yes", "yes", "", "", "", "", "", "yes"],
    [
        "select_one kano",
        "export_f",
        "有导出功能您觉得？",
        "With export?",
        "yes",
        "",
        "",
        "",
        "",
        "functional:导出",
        "",
    ],
    [
        "select_one kano",
        "export_d",
        "没有导出功能您觉得？",
        "Without export?",
        "yes",
        "",
        "",
        "",
        "",
        "dysfunctional:导出",
        "",
    ],
    ["text", "comment", "其他建议？", "Anything else?", "", "", "", "", "", "", ""],
]
CHOICE_ROWS: list[list[Any]] = [
    ["list_name", "name", "label::zh", "label::en", "x_tag"],
    ["yn", "yes", "是", "Yes", ""],
    ["yn", "no", "否", "No", ""],
    ["freq", "daily", "每天", "Daily", ""],
    ["freq", "weekly", "每周", "Weekly", ""],
    ["concern", "price", "价格", "Price", "价格敏感型"],
    ["concern", "quality", "质量", "Quality", ""],
    ["concern", "service", "服务", "Service", ""],
    *[["kano", name, name, name, ""] for name in KANO],
]


def workbook(
    survey: list[list[Any]] | None = None,
    settings: dict[str, Any] | None = None,
    quotas: list[list[Any]] | None = None,
) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey or SURVEY_ROWS:
        sheet.append(row)
    choices = book.create_sheet("choices")
    for row in CHOICE_ROWS:
        choices.append(row)
    values = {
        "form_title": "产品调研",
        "form_id": "product_research",
        "version": "1",
        "x_minutes": 3,
        "x_target": 10,
        "x_min_seconds": 20,
        **(settings or {}),
    }
    book.create_sheet("settings").append(list(values))
    book["settings"].append(list(values.values()))
    if quotas:
        quota_sheet = book.create_sheet("quotas")
        quota_sheet.append(["field", "value", "limit"])
        for row in quotas:
            quota_sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(
    kehu: Harness, user: UserHandle, data: bytes, name: str = "调研.xlsx"
) -> BotMessage:
    before = len(user.messages)
    await kehu.handled(await user.send_document(data, name, XLSX))
    assert len(user.messages) > before, "the bot did not answer the workbook"
    return user.messages[-1]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def customer(kehu: Harness, admin: UserHandle, name: str, industry: str) -> int:
    await kehu.create_customer(
        admin, name, "联系人", "139 0000 " + str(1000 + len(name)), industry=industry
    )
    async with kehu.unit_of_work() as uow:
        customer_id = await uow.session.scalar(
            text("SELECT id FROM customers WHERE name = :name"), {"name": name}
        )
    assert customer_id is not None
    return int(customer_id)


async def tag(kehu: Harness, customer_id: int, name: str) -> None:
    async with kehu.unit_of_work() as uow:
        await uow.customers.add_tag(customer_id, name, TagSource.MANUAL, None)
        await uow.commit()


async def link_chat(kehu: Harness, customer_id: int, chat_id: int) -> None:
    async with kehu.unit_of_work() as uow:
        await uow.customers.link_chat(customer_id, chat_id, "客户")
        await uow.commit()


async def customer_tags(kehu: Harness, customer_id: int) -> dict[str, tuple[str, bool]]:
    async with kehu.unit_of_work() as uow:
        tags = await uow.customers.tags(customer_id)
    return {t.name: (t.source.value, t.automatic) for t in tags}


async def imported_survey(kehu: Harness, admin: UserHandle, data: bytes | None = None) -> int:
    await kehu.say(admin, "/start")
    reply = await upload(kehu, admin, data or workbook())
    assert "已导入问卷「产品调研」" in reply.text, reply.text
    async with kehu.unit_of_work() as uow:
        return int(await uow.session.scalar(text("SELECT max(id) FROM surveys")) or 0)


async def channel_token(kehu: Harness, admin: UserHandle, survey_id: int) -> str:
    (menu,) = await kehu.say(admin, "/survey")
    survey = await kehu.tap(admin, menu, f"svm:menu:{survey_id}")
    picker = await kehu.tap(admin, survey, f"svm:link:{survey_id}")
    link = await kehu.tap(admin, picker, f"svm:link:{survey_id}:wechat")
    found = re.search(r"start=s_([\w-]+)", link.text)
    assert found, link.text
    return found.group(1)


def button_data(message: BotMessage, label: str) -> str:
    for row in message.buttons:
        for button in row:
            if label in button.text:
                assert button.callback_data is not None
                return button.callback_data
    raise AssertionError(f"no button {label!r} in {message.button_texts}")


async def choose(kehu: Harness, user: UserHandle, label: str) -> BotMessage:
    """Press the button labelled ``label`` on the latest question."""
    question = user.messages[-1]
    before = len(user.messages)
    await kehu.handled(await user.press_data(question, button_data(question, label)))
    if len(user.messages) > before:
        return user.messages[-1]
    return next(m for m in user.messages if m.message_id == question.message_id)


async def answer_all(kehu: Harness, respondent: UserHandle, *, seconds: float = 0) -> BotMessage:
    """From the consent screen to the end, taking ``seconds`` per question."""
    step = timedelta(seconds=seconds)
    await choose(kehu, respondent, "同意")
    for label in ("继续", "是", "每天", "价格"):
        kehu.clock.advance(step)
        await choose(kehu, respondent, label)
    await choose(kehu, respondent, "完成")
    kehu.clock.advance(step)
    await choose(kehu, respondent, "4")
    kehu.clock.advance(step)
    await kehu.say(respondent, "120")
    kehu.clock.advance(step)
    await choose(kehu, respondent, "是")
    await choose(kehu, respondent, "like")
    kehu.clock.advance(step)
    await choose(kehu, respondent, "dislike")
    kehu.clock.advance(step)
    (thanks,) = await kehu.say(respondent, "希望增加接口集成功能，价格太贵")
    return thanks


async def test_import_invite_by_tag_answer_with_back_and_restart_then_status_export_charts(
    database_url: str, telegram: FakeTelegram, clock: FakeClock
) -> None:
    kehu = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    linked = await customer(kehu, admin, "华信科技", "制造业")
    unlinked = await customer(kehu, admin, "百货商城", "零售")
    other = await customer(kehu, admin, "远方物流", "物流")
    for customer_id in (linked, unlinked):
        await tag(kehu, customer_id, "重点客户")
    await link_chat(kehu, linked, 5001)

    # The admin sends the survey to every customer tagged 重点客户.
    (listing,) = await kehu.say(admin, "/survey")
    menu = await kehu.tap(admin, listing, f"svm:menu:{survey_id}")
    kinds = await kehu.tap(admin, menu, f"svm:send:{survey_id}")
    values = await kehu.tap(admin, kinds, f"svm:send:{survey_id}:tag")
    preview = await kehu.press(admin, values, "重点客户")
    assert "2 位客户" in preview.text
    sent = await kehu.tap(admin, preview, f"svm:send:{survey_id}:tag:")
    assert "已在聊天中邀请 1 位客户；1 位客户尚未连接 Telegram" in sent.text
    assert "百货商城: https://t.me/" in sent.text
    assert "华信科技:" not in sent.text
    assert other not in (linked, unlinked)

    # The linked customer gets the invitation through the outbox and answers.
    respondent = kehu.user(5001, "张经理", "zh")
    await kehu.deliver_outbox()
    invitation = respondent.messages[-1]
    assert "产品调研" in invitation.text
    consent = await kehu.tap(respondent, invitation, "sv:o:")
    assert "预计用时约 3 分钟" in consent.text
    assert "保存 365 天" in consent.text
    note = await choose(kehu, respondent, "同意")
    assert note.text.startswith("感谢参与")
    uses = await choose(kehu, respondent, "继续")
    assert "（1/" in uses.text
    assert "是否在用" in uses.text
    freq = await choose(kehu, respondent, "是")
    assert "使用频率" in freq.text  # shown because of the answer "是"
    back = await choose(kehu, respondent, "上一题")
    assert "是否在用" in back.text
    assert "✓ 是" in back.button_texts
    concerns = await choose(kehu, respondent, "否")
    assert "最关心" in concerns.text  # skip logic: no frequency question after "否"

    # A restart in the middle: the new process resumes at the same question.
    await kehu.stop()
    kehu = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    (resumed,) = await kehu.say(respondent, "随便说一句")  # text where buttons are expected
    assert "最关心" in resumed.text
    toggled = await choose(kehu, respondent, "价格")
    assert "☑ 价格" in toggled.button_texts
    assert toggled.message_id == resumed.message_id
    clock.advance(timedelta(minutes=1))
    sat = await choose(kehu, respondent, "完成")
    assert "满意度" in sat.text
    assert [b.text for b in sat.buttons[0]] == ["1", "2", "3", "4", "5"]
    staff = await choose(kehu, respondent, "4")
    (refused,) = await kehu.say(respondent, "0")
    assert "请输入 1-99999" in refused.text
    clock.advance(timedelta(minutes=1))
    await kehu.say(respondent, "120")
    await choose(kehu, respondent, "是")
    await choose(kehu, respondent, "like")
    await choose(kehu, respondent, "dislike")
    (thanks,) = await kehu.say(respondent, "希望增加接口集成功能")
    assert "已完成" in thanks.text
    assert staff is not None

    # Tags on the customer: participant, the x_tag answer and a keyword, all automatic.
    tags = await customer_tags(kehu, linked)
    assert tags["高活跃度"] == ("survey", True)
    assert tags["价格敏感型"] == ("survey", True)
    assert tags["技术偏好型"] == ("keyword", True)
    assert tags["重点客户"] == ("manual", False)

    # Progress, the Excel export and a chart.
    status = await kehu.tap(admin, menu, f"svm:status:{survey_id}")
    assert "Telegram 邀请：邀请 1 · 打开 1 · 同意 1 · 完成 1 · 有效 1" in status.text
    assert "专属链接：邀请 1 · 打开 0" in status.text
    assert "目标：有效 1 / 10（10%）" in status.text
    before = len(admin.messages)
    await kehu.handled(await admin.press_data(menu, f"svm:export:{survey_id}"))
    export = admin.messages[before]
    assert export.kind == "document"
    assert export.document is not None
    sheet = openpyxl.load_workbook(io.BytesIO(export.document)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert "CRM0001" in rows[1]
    before = len(admin.messages)
    await kehu.handled(await admin.press_data(menu, f"svm:charts:{survey_id}"))
    photos = [m for m in admin.messages[before:] if m.kind == "photo"]
    assert photos
    assert photos[0].document is not None
    assert photos[0].document.startswith(b"\x89PNG")
    await kehu.stop()


async def test_declining_consent_is_recorded_with_its_time(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    token = await channel_token(kehu, admin, survey_id)
    stranger = kehu.user(6001, "路人", "zh")
    (consent,) = await kehu.say(stranger, f"/start s_{token}")
    assert "是否同意参与" in consent.text
    declined = await choose(kehu, stranger, "不参与")
    assert "已记录您不参与" in declined.text
    async with kehu.unit_of_work() as uow:
        row = (
            await uow.session.execute(
                text("SELECT state, declined_at, customer_id, channel FROM survey_responses")
            )
        ).one()
    assert row[0] == "declined"
    assert row[1] is not None
    assert row[2] is None
    assert row[3] == "wechat"


async def test_withdraw_deletes_the_answers_and_the_tags_they_gave(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    customer_id = await customer(kehu, admin, "华信科技", "制造业")
    await tag(kehu, customer_id, "重点客户")
    await link_chat(kehu, customer_id, 5001)
    async with kehu.unit_of_work() as uow:
        await kehu.app.kehu.services(uow).research.send(
            await _member(uow, admin), survey_id, "tag", "重点客户"
        )
        await uow.commit()
    respondent = kehu.user(5001, "张经理", "zh")
    await kehu.deliver_outbox()
    await kehu.tap(respondent, respondent.messages[-1], "sv:o:")
    await answer_all(kehu, respondent, seconds=30)
    assert "价格敏感型" in await customer_tags(kehu, customer_id)

    (confirm,) = await kehu.say(respondent, "/withdraw")
    done = await kehu.tap(respondent, confirm, "svw:y")
    assert "已删除" in done.text
    assert await kehu.count("survey_responses") == 0
    assert set(await customer_tags(kehu, customer_id)) == {"重点客户"}


async def test_a_speeder_is_flagged_with_its_reason_and_kept(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    token = await channel_token(kehu, admin, survey_id)
    fast = kehu.user(6002, "飞快", "zh")
    await kehu.say(fast, f"/start s_{token}")
    await answer_all(kehu, fast, seconds=0)
    async with kehu.unit_of_work() as uow:
        (completed,) = await uow.surveys.completed(survey_id)
    assert not completed.valid
    assert [flag.kind.value for flag in completed.flags] == ["speeder"]
    reason = kehu.app.kehu.catalogue.render("zh", completed.flags[0].reason)
    assert reason.startswith("作答过快")


async def test_a_full_quota_cell_closes_the_survey_for_new_respondents_in_it(
    kehu: Harness,
) -> None:
    admin = kehu.admin("zh")
    data = workbook(quotas=[["industry", "制造业", 1], ["industry", "零售", 5]])
    survey_id = await imported_survey(kehu, admin, data)
    first_id = await customer(kehu, admin, "华信科技", "制造业")
    second_id = await customer(kehu, admin, "华丰机械", "制造业")
    for customer_id in (first_id, second_id):
        await tag(kehu, customer_id, "重点客户")
    sent = await _send(kehu, admin, survey_id)
    links = dict(re.findall(r"(\S+): https://t\.me/\w+\?start=s_([\w-]+)", sent))
    first, second = kehu.user(7001, "甲", "zh"), kehu.user(7002, "乙", "zh")
    await kehu.say(first, f"/start s_{links['华信科技']}")
    await answer_all(kehu, first, seconds=30)
    (closed,) = await kehu.say(second, f"/start s_{links['华丰机械']}")
    assert "已收满样本" in closed.text
    status = await _status(kehu, admin, survey_id)
    assert "配额 industry=制造业：1/1（已满" in status
    assert "配额 industry=零售：0/5" in status


async def test_a_bad_workbook_gets_sheet_row_and_column(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    rows = [list(row) for row in SURVEY_ROWS]
    rows[3][5] = "${nowhere} = 'yes'"
    rows.append(["photo", "selfie", "自拍", "Selfie", "", "", "", "", "", "", ""])
    reply = await upload(kehu, admin, workbook(rows))
    assert "未导入任何内容" in reply.text
    assert "工作表 survey 第 4 行 relevant 列" in reply.text
    assert "工作表 survey 第 12 行 type 列" in reply.text
    assert await kehu.count("surveys") == 0
    garbage = await upload(kehu, admin, b"not a workbook at all", "fake.xlsx")
    assert "未导入任何内容" in garbage.text


async def test_respondent_bad_input_gets_a_clear_answer(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    token = await channel_token(kehu, admin, survey_id)
    person = kehu.user(6003, "客户", "zh")
    (invalid,) = await kehu.say(person, "/start s_garbage!!")
    assert "链接无效" in invalid.text
    (unknown,) = await kehu.say(person, "/start s_AAAAAAAAAAAAAAAA")
    assert "链接无效" in unknown.text
    await kehu.say(person, f"/start s_{token}")
    await choose(kehu, person, "同意")
    await choose(kehu, person, "继续")
    before = len(person.messages)
    await kehu.handled(await person.send_sticker())
    assert "贴纸、语音和文件无法作为答案" in person.messages[before].text
    (too_long,) = await kehu.say(person, "长" * 5000)
    assert "1000" in too_long.text
    question = person.messages[-1]
    forged = await kehu.tap_data(person, question, "sv:a:99999:1:0")
    assert "找不到" in forged
    async with kehu.unit_of_work() as uow:
        answers = await uow.session.scalar(text("SELECT answers FROM survey_responses"))
    assert answers in ({}, "{}")

    # Someone else replays this respondent's button in their own chat: refused.
    other = kehu.user(6004, "旁人", "zh")
    (their_consent,) = await kehu.say(other, f"/start s_{token}")
    replayed = await kehu.tap_data(other, their_consent, button_data(question, "是"))
    assert "找不到" in replayed
    async with kehu.unit_of_work() as uow:
        answers = await uow.session.scalar(
            text("SELECT answers FROM survey_responses WHERE telegram_id = 6003")
        )
    assert answers in ({}, "{}")


async def test_an_expired_personal_link_is_refused(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    survey_id = await imported_survey(kehu, admin)
    customer_id = await customer(kehu, admin, "华信科技", "制造业")
    await tag(kehu, customer_id, "重点客户")
    sent = await _send(kehu, admin, survey_id)
    token = re.search(r"start=s_([\w-]+)", sent)
    assert token
    kehu.clock.advance(timedelta(days=31))
    late = kehu.user(7003, "迟到", "zh")
    (expired,) = await kehu.say(late, f"/start s_{token.group(1)}")
    assert "已过期" in expired.text


async def _member(uow: Any, user: UserHandle) -> Any:
    member = await uow.members.by_telegram_id(user.user_id)
    assert member is not None
    return member


async def _send(kehu: Harness, admin: UserHandle, survey_id: int) -> str:
    (listing,) = await kehu.say(admin, "/survey")
    menu = await kehu.tap(admin, listing, f"svm:menu:{survey_id}")
    kinds = await kehu.tap(admin, menu, f"svm:send:{survey_id}")
    values = await kehu.tap(admin, kinds, f"svm:send:{survey_id}:tag")
    preview = await kehu.press(admin, values, "重点客户")
    sent = await kehu.tap(admin, preview, f"svm:send:{survey_id}:tag:")
    return sent.text


async def _status(kehu: Harness, admin: UserHandle, survey_id: int) -> str:
    (listing,) = await kehu.say(admin, "/survey")
    menu = await kehu.tap(admin, listing, f"svm:menu:{survey_id}")
    status = await kehu.tap(admin, menu, f"svm:status:{survey_id}")
    return status.text
