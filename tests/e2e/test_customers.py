"""Reps in the chat: creating customers (with the duplicate warning), finding them from any
fragment, the card and its buttons, a dialog that survives a restart."""

from __future__ import annotations

from sqlalchemy import text

from bot.fake_api import FakeTelegram
from crm.clock import FakeClock
from tests.support.harness import Harness, settings_for, texts


async def test_create_a_customer_in_a_short_dialog(kehu: Harness) -> None:
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    created = await kehu.create_customer(
        rep, "华信科技", "张经理", "139 1234 5678", industry="制造业", stage="意向", grade="A 级"
    )
    assert created.text == "已创建客户 华信科技（CRM0001）。"
    async with kehu.unit_of_work() as uow:
        row = (
            await uow.session.execute(
                text(
                    "SELECT c.code, c.industry, c.stage, c.grade, c.name_initials, k.phone "
                    "FROM customers c JOIN contacts k ON k.customer_id = c.id"
                )
            )
        ).one()
        stages = (
            await uow.session.execute(text("SELECT from_stage, to_stage FROM stage_changes"))
        ).all()
    assert tuple(row) == ("CRM0001", "制造业", "intent", "A", "hxkj", "13912345678")
    assert [tuple(change) for change in stages] == [(None, "intent")]


async def test_required_steps_cannot_be_skipped_and_bad_phones_are_refused(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    (prompt,) = await kehu.say(rep, "/new")
    assert prompt.text.startswith("New customer 1/")
    assert "Skip" not in prompt.button_texts
    await kehu.say(rep, "Acme Trading")
    await kehu.say(rep, "Jane Smith")
    (refusal,) = await kehu.say(rep, "call me maybe")
    assert refusal.text.startswith("I cannot read that phone number")
    (still,) = await kehu.say(rep, "+86 (139) 1234-5678")
    assert still.text.startswith("New customer 4/")
    update_id = await rep.press_data(prompt, "nc:skip:name")  # an old message's button
    await kehu.handled(update_id)
    assert rep.messages[-1].text == (
        "This button is no longer valid; please send the command again."
    )


async def test_duplicate_warning_shows_the_existing_record_masked(kehu: Harness) -> None:
    first, second = kehu.user(3001, "李娜", "zh"), kehu.user(3002, "王强", "zh")
    await kehu.join(first, "rep")
    await kehu.join(second, "rep")
    await kehu.create_customer(first, "华信科技", "张经理", "13912345678")
    await kehu.say(second, "/new")
    await kehu.say(second, "华信科技有限公司")
    await kehu.say(second, "刘总")
    (warning,) = await kehu.say(second, "+86 139-1234-5678")
    assert "⚠️ 可能已经有这个客户了：" in warning.text
    assert "已存在：华信科技，负责人 李*，139****5678" in warning.text
    assert "13912345678" not in warning.text
    assert not any(label.startswith("打开") for label in warning.button_texts)  # not theirs
    continued = await kehu.tap(second, warning, "nc:go")
    assert continued.text.startswith("新客户 4/")


async def test_the_owner_may_open_the_duplicate(kehu: Harness) -> None:
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    await kehu.create_customer(rep, "华信科技", "张经理", "13912345678")
    await kehu.say(rep, "/new")
    await kehu.say(rep, "华新科技")  # a homophone typo
    await kehu.say(rep, "张经理")
    (warning,) = await kehu.say(rep, "13800000000")
    assert "已存在：华信科技" in warning.text
    card = await kehu.tap(rep, warning, "cust:open:")
    assert card.text.startswith("🏢 华信科技（CRM0001）")


async def test_a_half_finished_dialog_survives_a_restart(
    database_url: str, telegram: FakeTelegram, clock: FakeClock
) -> None:
    kehu = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    rep = kehu.user(3001, "Li", "en")
    try:
        await kehu.join(rep, "rep")
        await kehu.say(rep, "/new")
        await kehu.say(rep, "Blue River Foods")
    finally:
        await kehu.stop()
    restarted = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    try:
        (offer,) = await restarted.say(rep, "/new")
        assert offer.text == "You have an unfinished new customer (step 2/10: Blue River Foods)."
        resumed = await restarted.tap(rep, offer, "nc:resume")
        assert resumed.text.startswith("New customer 2/10 · Contact person?")
        (cancelled,) = await restarted.say(rep, "/cancel")
        assert cancelled.text == "Cancelled; what was in progress was not saved."
        assert await restarted.count("dialogs") == 0
        assert await restarted.count("customers") == 0
    finally:
        await restarted.stop()


async def test_find_by_pinyin_initials_phone_tail_code_and_plain_text(kehu: Harness) -> None:
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    await kehu.create_customer(rep, "华信科技", "张经理", "13912345678")
    await kehu.create_customer(rep, "北京中联物流", "王总", "13600001111")
    for query in ("/find hxkj", "/find 5678", "/find CRM0001", "华信"):
        (results,) = await kehu.say(rep, query)
        assert results.button_texts[0] == "华信科技 · CRM0001", query
        assert "北京中联物流 · CRM0002" not in results.button_texts[:1]
    (none,) = await kehu.say(rep, "/find 不存在的公司")
    assert none.text.startswith("没有找到和「不存在的公司」相关的客户")
    (usage,) = await kehu.say(rep, "/find")
    assert usage.text.startswith("要找谁？")
    (card,) = [await kehu.tap(rep, results, "cust:open:")]
    assert "联系人：张经理 139****5678" in card.text


async def test_search_pages_through_many_results(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    for number in range(10):
        await kehu.create_customer(rep, f"Acme {number:02d}", "Jane", f"1391234{number:04d}")
    (first_page,) = await kehu.say(rep, "/find acme")
    assert first_page.text == "Results for “acme”: 1-8 of 10"
    second = await kehu.tap(rep, first_page, "find:1:")
    assert second.text == "Results for “acme”: 9-10 of 10"
    assert len([b for b in second.button_texts if b.startswith("Acme")]) == 2


async def test_card_buttons_stage_deal_tags_and_phone_reveal(kehu: Harness) -> None:
    rep = kehu.user(3001, "Li", "en")
    await kehu.join(rep, "rep")
    card = await kehu.create_customer(rep, "Acme Trading", "Jane", "13912345678")
    stages = await kehu.tap(rep, card, "card:stage:")
    card = await kehu.tap(rep, stages, "stage:1:intent")
    assert "Stage: Intent" in card.text
    await kehu.tap(rep, card, "card:deal:")
    (saved,) = await kehu.say(rep, "50000 CRM upgrade")
    assert saved.text == "Deal recorded: 50000.00 CRM upgrade 2026-11-25"
    await kehu.tap(rep, saved, "card:deal:")
    (repurchase,) = await kehu.say(rep, "5万 yearly support Nov 20; renewal")
    assert repurchase.text == "Deal recorded: 50000.00 yearly support 2026-11-20"
    await kehu.tap(rep, saved, "card:deal:")
    (future,) = await kehu.say(rep, "100 trial tomorrow")
    assert future.text == "A deal date cannot be in the future, e.g. Nov 20 or today"
    opened = await kehu.tap(rep, saved, "card:tags:")
    await kehu.tap(rep, opened, "card:tags_new:")
    (tagged,) = await kehu.say(rep, "#price-sensitive")
    assert tagged.text == "Tag added: price-sensitive"
    more = await kehu.tap(rep, tagged, "card:more:")
    revealed = await kehu.tap(rep, more, "card:reveal:")
    assert revealed.text == "Jane's phone: 13912345678 (this look is logged)"
    card = await kehu.tap(rep, revealed, "cust:open:") if revealed.buttons else None
    async with kehu.unit_of_work() as uow:
        actions = (
            (
                await uow.session.execute(
                    text("SELECT action FROM audit_log WHERE entity_type = 'customer' ORDER BY id")
                )
            )
            .scalars()
            .all()
        )
        stage_rows = (
            await uow.session.execute(
                text("SELECT from_stage, to_stage FROM stage_changes ORDER BY id")
            )
        ).all()
    assert "phone.revealed" in actions
    assert [tuple(row) for row in stage_rows] == [
        (None, "potential"),
        ("potential", "intent"),
        ("intent", "deal"),
    ]


async def test_a_rep_cannot_open_someone_elses_customer(kehu: Harness) -> None:
    owner, other = kehu.user(3001, "李娜", "zh"), kehu.user(3002, "王强", "zh")
    await kehu.join(owner, "rep")
    await kehu.join(other, "rep")
    card = await kehu.create_customer(owner, "华信科技", "张经理", "13912345678")
    update_id = await other.press_data(other.messages[-1], "cust:open:1")
    await kehu.handled(update_id)
    assert texts(other.messages[-1:]) == ["找不到这个客户，或者你没有查看权限。"]
    (results,) = await kehu.say(other, "/find 华信")
    assert results.text.startswith("没有找到")
    async with kehu.unit_of_work() as uow:
        denied = (
            await uow.session.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'customer.access_denied'")
            )
        ).scalar_one()
    assert denied == 1
    assert card.text.startswith("已创建客户")


async def test_admin_defined_fields_are_edited_from_the_card(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    (added,) = await kehu.say(admin, "/fields add budget number 预算")
    assert added.text == "已添加字段 budget。"
    await kehu.say(admin, "/fields add level choice 客户层级 高 中 低")
    (listing,) = await kehu.say(admin, "/fields")
    assert "level · 选项 · 客户层级（高 / 中 / 低）" in listing.text
    rep = kehu.user(3001, "李娜", "zh")
    await kehu.join(rep, "rep")
    (refused,) = await kehu.say(rep, "/fields add x text X")
    assert refused.text.startswith("您的角色无权执行此操作")
    card = await kehu.create_customer(rep, "华信科技", "张经理", "13912345678")
    more = await kehu.tap(rep, card, "card:more:")
    fields = await kehu.tap(rep, more, "card:fields:")
    await kehu.tap(rep, fields, "card:field:1:cf_budget")
    (bad,) = await kehu.say(rep, "很多")
    assert bad.text == "请填数字，例如：50000"
    (saved,) = await kehu.say(rep, "50000")
    assert saved.text == "已修改为：50000"
    await kehu.tap(rep, fields, "card:field:1:cf_level")
    (not_an_option,) = await kehu.say(rep, "超高")
    assert not_an_option.text == "只能选：高 / 中 / 低"
    await kehu.say(rep, "高")
    card = await kehu.tap(rep, saved, "card:more:")
    assert "预算：50000" in card.text
    assert "客户层级：高" in card.text
