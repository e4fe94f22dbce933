"""``kehu sandbox``: Kehu offline, in this terminal. A fake Telegram runs on 127.0.0.1, the real
application polls it, and you talk to the bot as one of four people."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

from bot.app import KehuApplication, build_application, start_in_loop, stop_in_loop
from bot.demo import load_demo
from bot.fake_api import FakeTelegram, RecordedCall
from bot.settings import Settings
from bot.update_tracker import HandledUpdates
from crm.clock import SystemClock
from storage import migrate
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork

SANDBOX_DATABASE = "./data/sandbox.db"
SANDBOX_BOT_ID = 7_000_000_001
_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]{1,64})")
_SHOWN_METHODS = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}

HELP = """\
Talk to the bot as one of four people. Type a message (e.g. /start, /help, /invite rep) and
press Enter. Also:
  1, 2, ...        press button 1, 2, ... of the last message that had buttons
  :as <who>        switch person: admin, manager, rep, customer
  :open [link]     open an invitation link (the last one shown if none given)
  :demo            load demo data (a team, customers, follow-ups, a due reminder)
  :who             list the people      :help  this text      :quit  leave (or Ctrl-D)
"""


@dataclass(frozen=True)
class Persona:
    key: str
    user_id: int
    first_name: str
    label: str


PERSONAS = {
    persona.key: persona
    for persona in (
        Persona("admin", 10_001, "Ada", "admin Ada (管理员)"),
        Persona("manager", 10_002, "张伟", "manager 张伟 (经理)"),
        Persona("rep", 10_003, "李娜", "rep 李娜 (销售)"),
        Persona("customer", 10_004, "陈先生", "customer 陈先生 (客户)"),
    )
}


def run_sandbox(settings: Settings, *, database: str | None = None, demo: bool = False) -> int:
    try:
        asyncio.run(Sandbox(settings, database or SANDBOX_DATABASE).run(demo=demo))
    except KeyboardInterrupt:
        print()
    return 0


class Sandbox:
    def __init__(self, settings: Settings, database: str) -> None:
        self._settings = settings
        self._database_url = f"sqlite+aiosqlite:///{database}"
        self._database = database
        self._persona = PERSONAS["admin"]
        self._buttons: dict[int, tuple[int, list[str]]] = {}  # chat -> (message id, data)
        self._last_link: str | None = None
        self._interactive = sys.stdin.isatty()

    async def run(self, *, demo: bool) -> None:
        first_update_id = await self._prepare_database()
        async with FakeTelegram(bot_id=SANDBOX_BOT_ID, first_update_id=first_update_id) as fake:
            self._fake = fake
            fake.on_call(self._show)
            application = build_application(self._sandbox_settings(fake))
            self._handled = HandledUpdates(application)
            await start_in_loop(application, poll_timeout=10)
            try:
                self._users = {
                    key: fake.user(
                        persona.user_id,
                        first_name=persona.first_name,
                        language_code=self._settings.language,
                    )
                    for key, persona in PERSONAS.items()
                }
                print(self._banner())
                if demo:
                    print(await load_demo(application.kehu, *_demo_people()))
                await self._repl(application)
            finally:
                await stop_in_loop(application)

    def _sandbox_settings(self, fake: FakeTelegram) -> Settings:
        return self._settings.model_copy(
            update={
                "bot_token": None,
                "database_url": self._database_url,
                "telegram_api_base_url": fake.base_url,
                "admin_ids": (PERSONAS["admin"].user_id,),
                "webhook_url": None,
            }
        )

    async def _prepare_database(self) -> int:
        """Migrate, and continue update ids where the last session stopped (Telegram's ids
        only grow; a repeated id would be ignored as a redelivery)."""
        engine = create_engine(self._database_url)
        try:
            await migrate.upgrade(engine)
            async with SqlUnitOfWork(session_factory(engine), SystemClock()) as uow:
                newest = await uow.updates.newest(SANDBOX_BOT_ID)
        finally:
            await engine.dispose()
        return (newest or 0) + 1

    def _banner(self) -> str:
        return (
            f"Kehu sandbox — a fake Telegram on {self._fake.base_url}, data in {self._database}\n"
            f"{HELP}\nYou are {self._persona.label}. Start with /start.\n"
        )

    async def _repl(self, application: KehuApplication) -> None:
        lines = _stdin_lines()
        while True:
            if self._interactive:
                print(f"[{self._persona.key}]> ", end="", flush=True)
            line = await lines.get()
            if line is None:
                return
            line = line.strip()
            if not line:
                continue
            if not self._interactive:
                print(f"[{self._persona.key}]> {line}")
            if not await self._handle_line(line, application):
                return

    async def _handle_line(self, line: str, application: KehuApplication) -> bool:
        if line in (":quit", ":q", ":exit"):
            return False
        if line.startswith(":"):
            await self._meta(line, application)
            return True
        if line.isdigit():
            await self._press(int(line))
            return True
        link = _LINK.search(line)
        await self._send(f"/start {link.group(1)}" if link else line)
        return True

    async def _meta(self, line: str, application: KehuApplication) -> None:
        command, _, argument = line[1:].partition(" ")
        argument = argument.strip()
        if command == "as" and argument in PERSONAS:
            self._persona = PERSONAS[argument]
            print(f"You are now {self._persona.label}.")
        elif command == "open":
            link = _LINK.search(argument) if argument else None
            payload = link.group(1) if link else self._last_link
            if payload is None:
                print("No invitation link seen yet: as admin, send /invite rep first.")
            else:
                await self._send(f"/start {payload}")
        elif command == "demo":
            print(await load_demo(application.kehu, *_demo_people()))
        elif command == "who":
            for persona in PERSONAS.values():
                marker = "*" if persona is self._persona else " "
                print(f" {marker} :as {persona.key:<9} {persona.label}")
        elif command == "help":
            print(HELP)
        else:
            print(f"Unknown: {line}. Try :help (or :as admin|manager|rep|customer).")

    async def _send(self, text: str) -> None:
        update_id = await self._users[self._persona.key].send(text)
        await self._settle(update_id)

    async def _press(self, number: int) -> None:
        user = self._users[self._persona.key]
        message_id, buttons = self._buttons.get(user.chat_id, (0, []))
        if not 1 <= number <= len(buttons):
            print("No such button. Buttons of the last message are numbered [1], [2], ...")
            return
        update_id = await user.press_data(message_id, buttons[number - 1])
        await self._settle(update_id)

    async def _settle(self, update_id: int) -> None:
        try:
            await self._handled.wait(update_id, timeout=15)
        except TimeoutError:
            print("(the bot did not answer within 15 s)")
        await asyncio.sleep(0.05)  # let outbox notifications for others print in order

    def _show(self, call: RecordedCall) -> None:
        if call.method not in _SHOWN_METHODS or call.status != 200:
            return
        result: dict[str, Any] = call.response.get("result") or {}
        chat_id = int(result.get("chat", {}).get("id", 0))
        text = result.get("text") or result.get("caption") or ""
        to = next((p.label for p in PERSONAS.values() if p.user_id == chat_id), str(chat_id))
        edited = " (edited)" if call.method == "editMessageText" else ""
        print(f"\n🤖 → {to}{edited}:")
        print("\n".join(f"   {line}" for line in text.splitlines()) or "   (no text)")
        if link := _LINK.search(text):
            self._last_link = link.group(1)
            print("   (type :open to open this link as the person you are now)")
        self._remember_buttons(chat_id, int(result.get("message_id", 0)), result)

    def _remember_buttons(self, chat_id: int, message_id: int, result: dict[str, Any]) -> None:
        rows = (result.get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = [button for row in rows for button in row if "callback_data" in button]
        if not buttons:
            return
        self._buttons[chat_id] = (message_id, [button["callback_data"] for button in buttons])
        labels = "  ".join(f"[{n}] {button['text']}" for n, button in enumerate(buttons, 1))
        print(f"   {labels}")


def _demo_people() -> tuple[tuple[int, str], tuple[int, str]]:
    manager, rep = PERSONAS["manager"], PERSONAS["rep"]
    return (manager.user_id, manager.first_name), (rep.user_id, rep.first_name)


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed (or piped) in, read on a thread so the bot keeps running meanwhile."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="sandbox-stdin", daemon=True).start()
    return queue
