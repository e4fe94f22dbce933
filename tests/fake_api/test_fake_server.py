"""The fake Bot API, driven by python-telegram-bot's real HTTP stack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot.fake_api import FakeTelegram, Fault, RecordedCall
from bot.fake_api.models import NOT_MODIFIED
from crm.clock import FakeClock

TOKEN = "123:abc"
WRONG_500 = "500 Internal Server Error"
USER_ID = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def error_of(fake: FakeTelegram, method: str) -> str:
    """Telegram's exact description (PTB strips "Bad Request: " and re-capitalizes it)."""
    return str(fake.calls_to(method)[-1].response["description"])


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in buttons])


async def test_get_me_describes_the_bot_and_records_the_token(bot: Bot, fake: FakeTelegram):
    me = await bot.get_me()

    assert (me.id, me.username, me.first_name) == (7000000001, "KehuSandboxBot", "Kehu")
    assert me.is_bot
    assert fake.tokens == [TOKEN]
    assert fake.calls_to("getMe")[0].status == 200


async def test_calls_are_stamped_by_the_injected_clock():
    clock = FakeClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    async with FakeTelegram(clock=clock) as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        fake.user(USER_ID)
        message = await bot.send_message(USER_ID, "hi")

    assert fake.calls_to("sendMessage")[0].at == clock.now()
    assert message.date == clock.now().replace(microsecond=0)


async def test_long_poll_answers_as_soon_as_an_update_arrives(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID, first_name="王", last_name="芳", language_code="zh")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: fake.polls_started == 1)
    started = time.monotonic()

    update_id = await user.send("/start@KehuSandboxBot inv_abc")
    (update,) = await poll

    assert time.monotonic() - started < 1
    assert update.update_id == update_id == 1
    assert update.message.text == "/start@KehuSandboxBot inv_abc"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start@KehuSandboxBot")
    assert update.message.from_user.language_code == "zh"


async def test_offset_confirms_and_an_empty_poll_times_out(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    first, second = await user.send("one"), await user.send("two")

    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second, timeout=0)] == [second]
    assert fake.pending_updates == 1
    started = time.monotonic()
    assert await bot.get_updates(offset=second + 1, timeout=0.3) == ()
    assert 0.25 < time.monotonic() - started < 2
    assert fake.pending_updates == 0


async def test_a_second_poll_terminates_the_first(bot: Bot, fake: FakeTelegram):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: fake.polls_started == 1)

    async with Bot(TOKEN, base_url=fake.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_stop_ends_a_pending_long_poll():
    fake = await FakeTelegram().start()
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await fake.wait_until(lambda: fake.polls_started == 1)
        started = time.monotonic()
        await fake.stop()
        assert await poll == ()
        assert time.monotonic() - started < 1


async def test_a_numeric_text_stays_a_string(bot: Bot, fake: FakeTelegram):
    fake.user(USER_ID)
    await bot.send_message(USER_ID, "123", reply_markup=keyboard(("OK", "ok")))

    params = fake.calls_to("sendMessage")[0].params
    assert params["text"] == "123"
    assert params["chat_id"] == USER_ID
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    assert fake.sent_messages(USER_ID)[0].text == "123"


async def test_html_is_parsed_into_text_and_entities(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    sent = await bot.send_message(USER_ID, "<b>客户</b> &lt;Acme&gt;", parse_mode="HTML")

    assert sent.text == "客户 <Acme>"
    assert sent.entities[0].type == "bold"
    assert (await user.next_message()).text == "客户 <Acme>"
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "<Acme> & Co", parse_mode="HTML")
    assert error_of(fake, "sendMessage") == (
        'Bad Request: can\'t parse entities: Unsupported start tag "acme" at byte offset 0'
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": " "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "x", "reply_markup": keyboard(("长", "长" * 22))},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        ({"text": "x", "chat_id": 999}, "Bad Request: chat not found"),
    ],
)
async def test_send_message_limits(
    bot: Bot, fake: FakeTelegram, kwargs: dict[str, Any], error: str
):
    fake.user(USER_ID)

    with pytest.raises(BadRequest):
        await bot.send_message(**{"chat_id": USER_ID, **kwargs})

    assert error_of(fake, "sendMessage") == error
    assert fake.calls_to("sendMessage")[0].status == 400
    assert fake.sent_messages() == []


async def test_caption_limit_and_blocked_user(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    with pytest.raises(BadRequest):
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption="c" * 1025)
    assert error_of(fake, "sendDocument") == "Bad Request: message caption is too long"

    user.blocked = True
    with pytest.raises(Forbidden, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(USER_ID, "hello?")
    assert fake.calls_to("sendMessage")[0].status == 403

    await user.send("/start")  # writing to the bot again unblocks it
    blocked, unblocked, _ = await bot.get_updates(timeout=0)
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    await bot.send_message(USER_ID, "welcome back")


async def test_edits_not_modified_not_found_and_keyboard_removal(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    sent = await bot.send_message(USER_ID, "pick", reply_markup=keyboard(("A", "a")))
    snapshot = await user.next_message()

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "pick", USER_ID, sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    assert error_of(fake, "editMessageText") == NOT_MODIFIED
    with pytest.raises(BadRequest):
        await bot.edit_message_text("x", USER_ID, 999)
    assert error_of(fake, "editMessageText") == "Bad Request: message to edit not found"

    await bot.edit_message_text("picked", USER_ID, sent.message_id)  # no markup: keyboard goes
    edited = await user.wait_for_edit(snapshot)
    assert (edited.text, edited.buttons, edited.edits) == ("picked", [], 1)
    assert snapshot.button_texts == ["A"]

    assert fake.calls_to("sendMessage")[0].response["result"]["text"] == "pick"  # a snapshot
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER_ID, sent.message_id)
    await bot.delete_message(USER_ID, sent.message_id)
    assert user.messages[0].deleted


async def test_replies_in_both_directions(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    question = await bot.send_message(USER_ID, "Company name?")
    await user.send("Acme", reply_to=question.message_id)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message.reply_to_message.text == "Company name?"

    await update.message.reply_text("Saved", do_quote=True)
    saved = user.messages[-1]
    assert (saved.text, saved.reply_to_message_id) == ("Saved", update.message.message_id)
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "x", reply_to_message_id=999)
    assert error_of(fake, "sendMessage") == "Bad Request: message to be replied not found"


async def test_press_answers_and_unknown_query(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    await bot.send_message(USER_ID, "Language?", reply_markup=keyboard(("English", "lang:en")))
    message = await user.next_message()

    with pytest.raises(AssertionError, match=r"no button 'Deutsch'.*\[\['English'\]\]"):
        await user.press(message, "Deutsch")
    update_id = await user.press(message, "English")
    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert (update.update_id, query.data, query.message.message_id) == (update_id, "lang:en", 1)
    assert query.from_user.id == USER_ID

    await bot.answer_callback_query(query.id, text="好")
    answer = await user.wait_for_answer(update_id)
    assert (answer.text, answer.data) == ("好", "lang:en")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query.id)
    assert error_of(fake, "answerCallbackQuery") == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_unknown_method_and_rejected_token(bot: Bot, fake: FakeTelegram):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar", api_kwargs={"x": 1})
    assert fake.calls_to("fooBar")[0].response == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }

    fake.reject_token = True
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await bot.get_me()


async def test_retry_after_is_consumed_and_creates_no_message(
    bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.user(USER_ID)
    fake.inject(Fault.retry_after(5), method="sendMessage", times=2, chat_id=USER_ID)

    for _ in range(2):
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(USER_ID, "hi")
        assert raised.value.retry_after == timedelta(seconds=5)
    await bot.send_message(USER_ID, "hi")

    statuses = [call.status for call in fake.calls_to("sendMessage")]
    assert statuses == [429, 429, 200]
    assert fake.calls_to("sendMessage")[0].response["parameters"] == {"retry_after": 5}
    assert [m.message_id for m in fake.sent_messages()] == [1]


@pytest.mark.parametrize(
    ("fault", "error", "match", "status"),
    [
        (Fault.server_error(502), NetworkError, "Bad Gateway", 502),
        (Fault.blocked(), Forbidden, "bot was blocked by the user", 403),
        (Fault.not_modified(), BadRequest, "Message is not modified", 400),
        (Fault.bad_request("Bad Request: whatever"), BadRequest, "Whatever", 400),
        (Fault.disconnect(), NetworkError, "httpx.RemoteProtocolError", 0),
    ],
)
async def test_error_faults(
    bot: Bot, fake: FakeTelegram, fault: Fault, error: type[Exception], match: str, status: int
):
    fake.user(USER_ID)
    fake.inject(fault, method="sendMessage")

    with pytest.raises(error, match=match):
        await bot.send_message(USER_ID, "hi")
    await bot.send_message(USER_ID, "again")

    assert len(fake.sent_messages()) == 1
    assert [call.status for call in fake.calls_to("sendMessage")] == [status, 200]


async def test_timeout_fault_fires_the_read_timeout_then_delivers(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    fake.inject(Fault.timeout(seconds=0.4))

    with pytest.raises(TimedOut):
        await bot.send_message(USER_ID, "slow", read_timeout=0.1)

    assert (await user.next_message(timeout=2)).text == "slow"  # Telegram did send it


async def test_faults_can_target_one_chat(bot: Bot, fake: FakeTelegram):
    fake.user(1)
    fake.user(2)
    fake.inject(Fault.blocked(), chat_id=2, times=None)

    await bot.send_message(1, "ok")
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(2, "no")
    fake.clear_faults()
    await bot.send_message(2, "now ok")


async def test_on_call_hooks_run_before_the_answer(bot: Bot, fake: FakeTelegram):
    fake.user(USER_ID)
    seen: list[str] = []

    async def async_hook(call: RecordedCall) -> None:
        seen.append(f"async {call.method} {call.status}")

    fake.on_call(lambda call: seen.append(f"sync {call.method}"))
    fake.on_call(async_hook)
    await bot.send_message(USER_ID, "x")

    assert seen == ["sync sendMessage", "async sendMessage 200"]
    assert len(await fake.wait_for_calls("sendMessage", 1)) == 1
    with pytest.raises(AssertionError, match="1 of 2 sendMessage calls"):
        await fake.wait_for_calls("sendMessage", 2, timeout=0.05)


async def test_documents_and_photos_round_trip(bot: Bot, fake: FakeTelegram):
    user = fake.user(USER_ID)
    xlsx = b"PK\x03\x04 fake workbook"
    await user.send_document(xlsx, file_name="customers.xlsx", caption="客户名单")
    await user.send_photo(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80")
    await user.send_sticker()

    document_update, photo_update, sticker_update = await bot.get_updates(timeout=0)
    document = document_update.message.document
    assert (document.file_name, document_update.message.caption) == ("customers.xlsx", "客户名单")
    file = await document.get_file()
    assert bytes(await file.download_as_bytearray()) == xlsx
    photo = photo_update.message.photo[-1]
    assert (photo.width, photo.height) == (256, 128)
    assert sticker_update.message.sticker.emoji == "👍"

    sent = await bot.send_document(USER_ID, b"a,b\n1,2\n", filename="export.csv", caption="导出")
    upload = fake.calls_to("sendDocument")[0].files["document"]
    assert (upload.filename, upload.body, upload.content_type) == (
        "export.csv",
        b"a,b\n1,2\n",
        "text/csv",
    )
    again = await bot.send_document(USER_ID, sent.document.file_id)
    messages = user.messages
    assert (messages[0].kind, messages[0].document, messages[0].file_name) == (
        "document",
        b"a,b\n1,2\n",
        "export.csv",
    )
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest):
        await bot.send_document(USER_ID, "no-such-file-id")
    assert error_of(fake, "sendDocument") == "Bad Request: wrong file identifier/HTTP URL specified"


async def test_commands_per_scope_and_language(bot: Bot, fake: FakeTelegram):
    fake.user(USER_ID)
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(USER_ID))

    assert fake.commands_for() == [("start", "Start"), ("help", "Help")]
    assert fake.commands_for(language_code="zh") == [("start", "开始")]
    assert fake.commands_for("chat", chat_id=USER_ID) == [("admin", "Admin")]
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start"]
    assert fake.calls_to("setMyCommands")[2].params["scope"] == {"type": "chat", "chat_id": USER_ID}

    await bot.delete_my_commands(language_code="zh")
    assert fake.commands_for(language_code="zh") == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start", "bad")])
    assert error_of(fake, "setMyCommands") == "Bad Request: BOT_COMMAND_INVALID"


class _Receiver(RequestHandler):
    def initialize(self, received: list[tuple[dict[str, Any], str | None]], event: asyncio.Event):
        self.received = received
        self.event = event

    def post(self) -> None:
        secret = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((json.loads(self.request.body), secret))
        self.set_status(500 if len(self.received) == 1 else 200)
        if len(self.received) >= 2:
            self.event.set()


async def test_webhook_delivery_with_secret_and_retry(bot: Bot, fake: FakeTelegram):
    received: list[tuple[dict[str, Any], str | None]] = []
    delivered = asyncio.Event()
    routes = [(r"/hook", _Receiver, {"received": received, "event": delivered})]
    app = TornadoApp(routes, log_function=lambda handler: None)
    sockets = bind_sockets(0, "127.0.0.1")
    receiver = HTTPServer(app)
    receiver.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
    try:
        await bot.set_webhook(url, secret_token="s3cret")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update_id = await fake.user(USER_ID).send("hi")
        await asyncio.wait_for(delivered.wait(), 2)

        assert [(body["update_id"], secret) for body, secret in received] == [
            (update_id, "s3cret"),
            (update_id, "s3cret"),
        ]
        assert Update.de_json(received[1][0], bot).message.text == "hi"
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        assert info.last_error_message == f"Wrong response from the webhook: {WRONG_500}"
        await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        receiver.stop()
        await receiver.close_all_connections()


async def test_redeliver_puts_a_confirmed_update_back(bot: Bot, fake: FakeTelegram):
    update_id = await fake.user(USER_ID).send("once")
    assert len(await bot.get_updates(timeout=0)) == 1
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()

    fake.redeliver(update_id)
    (again,) = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert (again.update_id, again.message.text) == (update_id, "once")
    pushed = fake.push_update({"message": again.message.to_dict()})
    assert pushed == update_id + 1


async def test_a_real_application_echoes_and_handles_presses(fake: FakeTelegram):
    pressed: list[str] = []

    async def echo(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"echo: {update.effective_message.text}", reply_markup=keyboard(("Again", "again"))
        )

    async def start(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        await context.bot.send_message(USER_ID, f"welcome {' '.join(context.args or [])}")

    async def on_press(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert update.callback_query is not None
        pressed.append(str(update.callback_query.data))
        await update.callback_query.answer("done")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_press))
    user = fake.user(USER_ID, first_name="王", last_name="芳", username="wangfang")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)

        await user.send("/start inv_abc")
        assert (await user.next_message()).text == "welcome inv_abc"
        await user.send("你好")
        echoed = await user.next_message()
        assert (echoed.text, echoed.button_texts) == ("echo: 你好", ["Again"])
        update_id = await user.press(echoed, "Again")
        assert (await user.wait_for_answer(update_id)).text == "done"
        assert pressed == ["again"]

        await app.updater.stop()
        await app.stop()
    assert fake.pending_updates == 0
