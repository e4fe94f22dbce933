"""The real application (``build_application``) polling a fake Telegram over real HTTP, with a
fake clock. Tests act as users and read what the bot sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.app import KehuApplication, build_application
from bot.fake_api import BotMessage, FakeTelegram, UserHandle
from bot.settings import Settings
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
        self._handled: set[int] = set()
        self._changed = asyncio.Condition()
        self._track_handled_updates()

    @classmethod
    async def start(cls, settings: Settings, fake: FakeTelegram, clock: FakeClock) -> Harness:
        harness = cls(build_application(settings, clock=clock), fake, clock)
        app = harness.app
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        await app.start()
        return harness

    async def stop(self) -> None:
        app = self.app
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)

    def _track_handled_updates(self) -> None:
        original = self.app.process_update

        async def process_and_signal(update: object) -> None:
            try:
                await original(update)
            finally:
                if isinstance(update, Update):
                    async with self._changed:
                        self._handled.add(update.update_id)
                        self._changed.notify_all()

        self.app.process_update = process_and_signal  # type: ignore[method-assign]

    async def handled(self, update_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the application has finished with that update (replies included)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: update_id in self._handled)

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

    async def deliver_outbox(self) -> None:
        """Everything due in the outbox has been sent (or given up) when this returns."""
        assert self.app.outbox is not None
        await self.app.outbox.settle()


def invitation_payload(message: BotMessage) -> str:
    found = LINK.search(message.text or "")
    assert found, f"no invitation link in {message.text!r}"
    return found.group(1)


def texts(messages: list[BotMessage]) -> list[str]:
    return [message.text or "" for message in messages]


def first(messages: list[BotMessage], predicate: Callable[[BotMessage], bool]) -> BotMessage:
    return next(message for message in messages if predicate(message))
