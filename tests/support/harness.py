"""The real application (``build_application``) polling a fake Telegram over real HTTP, with a
fake clock. Tests act as users and read what the bot sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.app import KehuApplication, build_application, start_in_loop, stop_in_loop
from bot.fake_api import BotMessage, FakeTelegram, UserHandle
from bot.settings import Settings
from bot.update_tracker import HandledUpdates
from crm.clock import FakeClock
from crm.members import Member
from storage.uow import SqlUnitOfWork

ADMIN_ID = 1001
LINK = re.compile(r"https://t\.me/\w+\?start=(\S+)")


def settings_for(database_url: str, fake: FakeTelegram, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "telegram_api_base_url": fake.base_url,
        "admin_ids": (ADMIN_ID,),
        "language": "zh",
        "timezone": "Asia/Shanghai",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Harness:
    def __init__(self, app: KehuApplication, fake: FakeTelegram, clock: FakeClock) -> None:
        self.app = app
        self.fake = fake
        self.clock = clock
        self._handled = HandledUpdates(app)

    @classmethod
    async def start(cls, settings: Settings, fake: FakeTelegram, clock: FakeClock) -> Harness:
        harness = cls(build_application(settings, clock=clock), fake, clock)
        await start_in_loop(harness.app, poll_timeout=1)
        return harness

    async def stop(self) -> None:
        await stop_in_loop(self.app)

    async def handled(
        self,
        update_id: int,
        times: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the application has finished with that update (replies included), or,
        with ``times``, with that many deliveries of it."""
        await self._handled.wait(update_id, times, timeout)

    # Acting as people -------------------------------------------------------------------

    def user(self, user_id: int, name: str = "王芳", language: str | None = "zh") -> UserHandle:
        return self.fake.user(user_id, first_name=name, language_code=language)

    def admin(self, language: str | None = None) -> UserHandle:
        """The bootstrap admin; without ``language`` their app sends no language code."""
        return self.user(ADMIN_ID, "Ada", language)

    async def say(self, user: UserHandle, text: str) -> list[BotMessage]:
        """Send ``text`` and return every bot message that handling it produced."""
        before = len(user.messages)
        await self.handled(await user.send(text))
        return user.messages[before:]

    async def message_after(self, user: UserHandle, count: int) -> BotMessage:
        """Wait for a message beyond the first ``count`` in the chat (e.g. from the outbox)."""
        await self.fake.wait_until(lambda: len(user.messages) > count)
        return user.messages[count]

    async def press(self, user: UserHandle, message: BotMessage, button: str) -> BotMessage:
        """Press a button and return the message as it is after the bot handled the press."""
        await self.handled(await user.press(message, button))
        return next(m for m in user.messages if m.message_id == message.message_id)

    async def tap(self, user: UserHandle, message: BotMessage, data_prefix: str) -> BotMessage:
        """Press the first button whose callback data starts with ``data_prefix`` (language-
        independent); returns the bot's new message, or else the pressed one as edited."""
        data = next(
            (
                button.callback_data
                for row in message.buttons
                for button in row
                if button.callback_data and button.callback_data.startswith(data_prefix)
            ),
            None,
        )
        assert data, f"no button {data_prefix!r} in {message.button_texts}: {message.text!r}"
        before = len(user.messages)
        await self.handled(await user.press_data(message, data))
        if len(user.messages) > before:  # the press answered with a new message
            return user.messages[-1]
        return next(m for m in user.messages if m.message_id == message.message_id)

    async def tap_data(self, user: UserHandle, message: BotMessage, data: str) -> str:
        """Press a button with exactly ``data`` (maybe forged): the bot's toast, or the text
        of the message the press produced."""
        before = len(user.messages)
        update_id = await user.press_data(message, data)
        await self.handled(update_id)
        if len(user.messages) > before:
            return user.messages[-1].text
        return (await user.wait_for_answer(update_id)).text or ""

    async def create_customer(
        self, user: UserHandle, name: str, contact: str, phone: str, **choices: str
    ) -> BotMessage:
        """/new through the chat: the required answers typed, ``choices`` picked by value
        (e.g. industry="制造业", stage="intent"), everything else skipped, then saved."""
        await self.say(user, "/new")
        for answer in (name, contact, phone):
            await self.say(user, answer)
        message = user.messages[-1]
        while True:
            data = [b.callback_data or "" for row in message.buttons for b in row]
            if "nc:save" in data:
                return await self.tap(user, message, "nc:save")
            if "nc:go" in data:
                message = await self.tap(user, message, "nc:go")
                continue
            step = next(
                (d.split(":")[2] for d in data if d.startswith(("nc:skip:", "nc:pick:"))), None
            )
            assert step, f"unexpected prompt: {message.text!r} {message.button_texts}"
            if step in choices:
                wanted = choices[step]
                index = self._option_index(message, step, wanted)
                message = await self.tap(user, message, f"nc:pick:{step}:{index}")
            else:
                message = await self.tap(user, message, f"nc:skip:{step}")

    @staticmethod
    def _option_index(message: BotMessage, step: str, wanted: str) -> int:
        options = [
            b
            for row in message.buttons
            for b in row
            if (b.callback_data or "").startswith(f"nc:pick:{step}:")
        ]
        for button in options:
            if wanted in button.text or button.callback_data.endswith(wanted):  # type: ignore[union-attr]
                return int(button.callback_data.split(":")[3])  # type: ignore[union-attr]
        for index, button in enumerate(options):
            if wanted.lower() in button.text.lower():
                return index
        raise AssertionError(f"no option {wanted!r} for {step}: {[b.text for b in options]}")

    async def join(
        self, user: UserHandle, role: str, inviter: UserHandle | None = None
    ) -> list[BotMessage]:
        """Invite ``user`` with ``role`` (by the admin unless told) and open the link as them."""
        inviter = inviter or self.admin()
        if not inviter.messages:
            await self.say(inviter, "/start")
        replies = await self.say(inviter, f"/invite {role}")
        invitation = first(replies, lambda message: bool(LINK.search(message.text or "")))
        return await self.say(user, f"/start {invitation_payload(invitation)}")

    # Looking at the database --------------------------------------------------------------

    def unit_of_work(self) -> SqlUnitOfWork:
        return self.app.kehu.unit_of_work()

    async def member(self, telegram_id: int) -> Member | None:
        async with self.unit_of_work() as uow:
            return await uow.members.by_telegram_id(telegram_id)

    async def count(self, table: str) -> int:
        from sqlalchemy import text

        async with self.unit_of_work() as uow:
            return int(await uow.session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)

    async def deliver_outbox(self, *, wait_for_retries: bool = True) -> None:
        """Everything due in the outbox has been sent (or given up) when this returns; with
        ``wait_for_retries`` the fake clock jumps to each retry until none is left."""
        assert self.app.outbox is not None
        await self.app.outbox.settle()
        while wait_for_retries and (due := await self._next_retry()) is not None:
            self.clock.set(max(due, self.clock.now()))
            await self.app.outbox.settle()

    async def _next_retry(self) -> datetime | None:
        from sqlalchemy import func, select

        from storage.models import OutboxRow

        async with self.unit_of_work() as uow:
            return await uow.session.scalar(
                select(func.min(OutboxRow.not_before)).where(OutboxRow.status == "pending")
            )


def invitation_payload(message: BotMessage) -> str:
    found = LINK.search(message.text or "")
    assert found, f"no invitation link in {message.text!r}"
    return found.group(1)


def texts(messages: list[BotMessage]) -> list[str]:
    return [message.text or "" for message in messages]


def first(messages: list[BotMessage], predicate: Callable[[BotMessage], bool]) -> BotMessage:
    return next(message for message in messages if predicate(message))
