"""Journeys of the foundation, through the real application and real HTTP: strangers are turned
away, the admin invites, people join, languages switch and /help follows the role."""

from __future__ import annotations

from datetime import timedelta

from tests.support.harness import ADMIN_ID, Harness, invitation_payload, texts

STRANGER_ZH = (
    "您好！这里是客户（Kehu）销售助手，仅供受邀成员使用。如需加入，请向团队管理员索取邀请链接。"
)
STRANGER_EN = (
    "Hello! This is Kehu, a sales assistant for invited members only. To join, ask your "
    "team's admin for an invitation link."
)


async def test_a_stranger_gets_one_polite_answer_and_nothing_else(kehu: Harness) -> None:
    stranger = kehu.user(2001, "路人", "zh-hans")
    for attempt in ("/start", "/help", "/invite rep", "你好", "/lang en"):
        assert texts(await kehu.say(stranger, attempt)) == [STRANGER_ZH]
    await kehu.handled(await stranger.send_sticker())
    assert len(stranger.messages) == 6
    english = kehu.user(2002, "Passer-by", "en")
    assert texts(await kehu.say(english, "/start")) == [STRANGER_EN]
    assert await kehu.member(2001) is None
    assert await kehu.count("members") == 0
    assert kehu.fake.commands_for("chat", chat_id=2001) == []


async def test_a_stranger_with_a_bogus_link_is_told_it_is_invalid(kehu: Harness) -> None:
    stranger = kehu.user(2001, "路人", "en")
    replies = await kehu.say(stranger, "/start inv_AAAAAAAAAAAAAAAAAAAAAAAA")
    assert texts(replies) == [
        "This invitation link is not valid. Please ask your admin for a new one."
    ]
    assert texts(await kehu.say(stranger, "/start something-else")) == [STRANGER_EN]


async def test_the_bootstrap_admin_is_welcomed_with_an_admin_menu(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    assert texts(await kehu.say(admin, "/start")) == [
        "Ada，欢迎回来！您的角色：管理员。发送 /help 查看可用命令。"
    ]
    admin_menu = [name for name, _ in kehu.fake.commands_for("chat", chat_id=ADMIN_ID)]
    assert admin_menu == [
        "today", "find", "new", "log", "tasks", "cancel", "invite", "choices", "fields",
        "survey", "keywords", "digest", "report", "export", "import", "withdraw", "lang", "help",
        "start",
    ]  # fmt: skip
    assert kehu.fake.commands_for("default") == [
        ("start", "Start / home"),
        ("withdraw", "Withdraw my survey answers"),
    ]
    assert kehu.fake.commands_for("default", language_code="zh") == [
        ("start", "开始 / 回到主页"),
        ("withdraw", "撤回我的问卷回答"),
    ]


async def test_admin_invites_a_rep_who_joins_and_the_admin_hears_of_it(kehu: Harness) -> None:
    admin = kehu.admin()
    await kehu.say(admin, "/start")
    (invitation,) = await kehu.say(admin, "/invite rep")
    assert invitation.text.startswith(
        "已生成销售邀请链接（仅可使用一次，2026年11月28日 09:00 前有效）"
    )
    payload = invitation_payload(invitation)
    assert len(payload) <= 64

    rep = kehu.user(3001, "李雷", "en")
    seen_by_admin = len(admin.messages)
    assert texts(await kehu.say(rep, f"/start {payload}")) == [
        "Welcome aboard, 李雷! Your role: sales rep. Send /help to see what you can do."
    ]
    notice = await kehu.message_after(admin, seen_by_admin)  # through the outbox
    assert notice.text == "李雷 已通过您的邀请加入，角色：销售。"
    member = await kehu.member(3001)
    assert member is not None
    assert (member.role, member.language) == ("rep", "en")
    rep_menu = [name for name, _ in kehu.fake.commands_for("chat", chat_id=3001)]
    assert rep_menu == [
        "today", "find", "new", "log", "tasks", "cancel", "digest", "withdraw", "lang", "help",
        "start",
    ]  # fmt: skip

    latecomer = kehu.user(3002, "韩梅梅", "zh")
    assert texts(await kehu.say(latecomer, f"/start {payload}")) == [
        "这个邀请链接已经被使用过了。请向管理员索取新的链接。"
    ]
    assert await kehu.member(3002) is None


async def test_an_invitation_expires(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    (invitation,) = await kehu.say(admin, "/invite rep")
    kehu.clock.advance(timedelta(hours=72, seconds=1))
    late = kehu.user(3001, "Li", "en")
    assert texts(await kehu.say(late, f"/start {invitation_payload(invitation)}")) == [
        "This invitation link has expired. Please ask your admin for a new one."
    ]


async def test_invite_by_buttons(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    (choice,) = await kehu.say(admin, "/invite")
    assert choice.button_texts == ["Sales rep", "Manager"]
    edited = await kehu.press(admin, choice, "Manager")
    assert edited.text.startswith("Invitation link for a manager")
    assert edited.button_texts == []
    manager = kehu.user(4001, "Zhang", "en")
    replies = await kehu.say(manager, f"/start {invitation_payload(edited)}")
    assert texts(replies) == [
        "Welcome aboard, Zhang! Your role: manager, team: Zhang. Send /help to see what you can do."
    ]


async def test_a_manager_invites_reps_into_the_own_team_only(kehu: Harness) -> None:
    manager = kehu.user(4001, "张伟", "zh")
    await kehu.join(manager, "manager 华东区")
    (choice,) = await kehu.say(manager, "/invite")
    assert choice.button_texts == ["销售"]
    assert texts(await kehu.say(manager, "/invite manager")) == [
        "您的角色无权执行此操作。发送 /help 查看可用命令。"
    ]
    assert texts(await kehu.say(manager, "/invite rep 华南区")) == [
        "经理只能邀请销售加入自己的团队。例如：/invite rep"
    ]
    (invitation,) = await kehu.say(manager, "/invite rep")
    assert "加入团队「华东区」" in invitation.text
    rep = kehu.user(5001, "小李", "zh")
    assert texts(await kehu.say(rep, f"/start {invitation_payload(invitation)}")) == [
        "欢迎加入，小李！您的角色：销售，团队：华东区。发送 /help 查看可用命令。"
    ]
    assert texts(await kehu.say(rep, "/invite rep")) == [
        "您的角色无权执行此操作。发送 /help 查看可用命令。"
    ]
    assert texts(await kehu.say(rep, "/invite")) == [
        "您的角色无权执行此操作。发送 /help 查看可用命令。"
    ]


async def test_help_differs_by_role(kehu: Harness) -> None:
    admin = kehu.admin("en")
    manager, rep = kehu.user(4001, "Zhang", "en"), kehu.user(5001, "Li", "en")
    await kehu.join(manager, "manager")
    await kehu.join(rep, "rep")
    await kehu.deliver_outbox()  # the admin's "joined" notices, before /help
    help_for = {}
    for who, user in (("admin", admin), ("manager", manager), ("rep", rep)):
        (reply,) = await kehu.say(user, "/help")
        help_for[who] = reply.text.splitlines()
    assert help_for["admin"][0] == "As an admin you can use:"
    assert help_for["manager"][0] == "As a manager you can use:"
    assert help_for["rep"][0] == "As a sales rep you can use:"
    assert "/invite — Invite a member" in help_for["admin"]
    assert "/invite — Invite a member" in help_for["manager"]
    assert "/invite — Invite a member" not in help_for["rep"]
    assert help_for["rep"][-1].startswith("Tip: these commands")


async def test_language_switch_changes_replies_and_menu(kehu: Harness) -> None:
    admin = kehu.admin("zh")
    await kehu.say(admin, "/start")
    (choice,) = await kehu.say(admin, "/lang")
    assert choice.text == "请选择界面语言（当前：中文）："
    assert choice.button_texts == ["✓ 中文", "English"]
    edited = await kehu.press(admin, choice, "English")
    assert edited.text == "Language switched to English."
    (help_reply,) = await kehu.say(admin, "/help")
    assert help_reply.text.startswith("As an admin you can use:")
    assert ("lang", "Switch language (中文 / English)") in kehu.fake.commands_for(
        "chat", chat_id=ADMIN_ID
    )
    assert texts(await kehu.say(admin, "/lang zh")) == ["已切换为中文。"]
    assert texts(await kehu.say(admin, "/lang fr")) == [
        "不支持该语言，可选：zh / en。例如：/lang en"
    ]
    member = await kehu.member(ADMIN_ID)
    assert member is not None
    assert member.language == "zh"


async def test_already_a_member(kehu: Harness) -> None:
    admin = kehu.admin("en")
    await kehu.say(admin, "/start")
    (invitation,) = await kehu.say(admin, "/invite rep")
    assert texts(await kehu.say(admin, f"/start {invitation_payload(invitation)}")) == [
        "You are already a member. Send /help to see what you can do."
    ]
