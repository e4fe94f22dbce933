"""Bad input while a rep works with customers: each gets a clear answer in the rep's language,
and nothing is half-saved."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.harness import Harness


async def test_bad_answers_inside_the_new_customer_dialog(kehu: Harness) -> None:
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    (prompt,) = await kehu.say(rep, "/new")
    (too_long,) = await kehu.say(rep, "长" * 5000)
    assert too_long.text == "太长了（最多 4096 个字），请精简后再发。"
    (blank,) = await kehu.say(rep, "\u200b \u3000")
    assert blank.text == "客户名称？（必填，例如：华信科技）"
    await kehu.handled(await rep.send_sticker())
    assert rep.messages[-1].text.startswith("我只能识别文字和命令。")
    (named,) = await kehu.say(rep, "华信\x07科技🚀")
    assert named.text.startswith("新客户 2/")
    await kehu.say(rep, "张经理")
    (bad_phone,) = await kehu.say(rep, "一三九")
    assert bad_phone.text.startswith("这个电话号码看不懂")
    (not_an_option,) = await kehu.say(rep, "13912345678")
    assert not_an_option.text.startswith("新客户 4/")
    (pick,) = await kehu.say(rep, "不存在的行业")
    assert pick.text == "请从按钮里选一个，或点「跳过」。"
    assert await kehu.count("customers") == 0
    update_id = await rep.press_data(prompt, "nc:pick:name:0")  # a stale, impossible button
    await kehu.handled(update_id)
    assert rep.messages[-1].text == "这个按钮已失效，请重新发送命令。"


async def test_control_characters_are_dropped_and_emoji_kept(kehu: Harness) -> None:
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    created = await kehu.create_customer(rep, "华信\x07科技🚀", "张\u202e经理", "13912345678")
    assert created.text == "已创建客户 华信科技🚀（CRM0001）。"
    async with kehu.unit_of_work() as uow:
        names = (
            await uow.session.execute(
                text(
                    "SELECT c.name, k.name FROM customers c JOIN contacts k ON k.customer_id = c.id"
                )
            )
        ).one()
    assert tuple(names) == ("华信科技🚀", "张经理")


async def test_sql_looking_names_are_just_names(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    name = "Robert'); DROP TABLE customers;--"
    await kehu.create_customer(rep, name, "Bobby", "13912345678")
    (found,) = await kehu.say(rep, "/find DROP TABLE")
    assert found.button_texts == [f"{name[:28]} · CRM0001"]
    assert await kehu.count("customers") == 1


async def test_a_past_time_for_a_task_is_refused(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    card = await kehu.create_customer(rep, "Acme", "Jane", "13912345678")
    await kehu.tap(rep, card, "card:task:")
    (past,) = await kehu.say(rep, "yesterday 3pm")
    assert past.text.startswith("That next-contact time is in the past")
    assert await kehu.count("tasks") == 0
    (again,) = await kehu.say(rep, "tomorrow 3pm")  # the question is still open
    assert again.text == "Task created: 2026-11-26 15:00"
