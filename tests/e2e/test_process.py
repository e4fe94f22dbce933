"""Kehu as a process and through its other doors: ``kehu run`` stops cleanly on SIGTERM after
finishing what it took, the webhook mode works, and the CLI migrates and adds admins."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.app import build_application, stop_in_loop
from bot.cli import main
from bot.fake_api import FakeTelegram
from crm.clock import FakeClock
from storage import migrate
from tests.support import network_guard
from tests.support.harness import ADMIN_ID, settings_for

TOKEN = "123456789:AAEkehu-test-token-0123456789abcdef"


def kehu_environment(database_url: str, fake: FakeTelegram, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    environment.update(
        KEHU_BOT_TOKEN=TOKEN,
        KEHU_DATABASE_URL=database_url,
        KEHU_TELEGRAM_API_BASE_URL=fake.base_url,
        KEHU_ADMIN_IDS=str(ADMIN_ID),
        KEHU_LANGUAGE="en",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return environment


async def test_sigterm_finishes_the_updates_it_took_and_exits_zero(
    database_url: str, telegram: FakeTelegram
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=kehu_environment(database_url, telegram),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await telegram.wait_for_calls("getUpdates", 1, timeout=60)
        admin = telegram.user(ADMIN_ID, first_name="Ada", language_code="en")
        await admin.send("/start")
        assert (await admin.next_message(timeout=30)).text.startswith("Welcome back, Ada!")

        signalled = False

        def terminate_on_first_reply(call) -> None:  # type: ignore[no-untyped-def]
            nonlocal signalled
            if not signalled and call.method == "sendMessage" and "/help" in call.params["text"]:
                signalled = True
                process.send_signal(signal.SIGTERM)

        telegram.on_call(terminate_on_first_reply)
        for _ in range(5):  # taken in one getUpdates; SIGTERM arrives while they are handled
            await admin.send("/help")
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = output.decode()
    assert process.returncode == 0, log
    helps = [m for m in admin.messages if m.text.startswith("As an admin you can use:")]
    # Every update it fetched was answered before it exited; the ones it never fetched are
    # still at Telegram, unconfirmed, for the next start.
    assert len(helps) + telegram.pending_updates == 5, log
    assert len(helps) >= 1
    assert "Application.stop() complete" in log
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log


async def test_webhook_mode_receives_updates_with_the_secret(
    database_url: str, telegram: FakeTelegram
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(
        database_url,
        telegram,
        webhook_url=f"http://127.0.0.1:{port}/kehu-hook",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret_token="s3cret-Token",
    )
    application = build_application(settings, clock=FakeClock())
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_webhook(**settings.webhook_options())
    await application.start()
    try:
        (set_webhook,) = telegram.calls_to("setWebhook")
        assert set_webhook.params["secret_token"] == "s3cret-Token"
        admin = telegram.user(ADMIN_ID, first_name="Ada", language_code="en")
        await admin.send("/start")
        reply = await admin.next_message(timeout=15)
        assert reply.text.startswith("Welcome back, Ada!")
    finally:
        await stop_in_loop(application)


def test_cli_migrates_reports_and_adds_admins(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEHU_DATABASE_URL", empty_database_url)
    monkeypatch.chdir(os.path.dirname(__file__))
    assert main(["db", "current"]) == 0
    assert "current: empty database" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert f"current: {migrate.head_revision()}" in capsys.readouterr().out
    assert main(["admin", "add", "4242", "--name", "Ops 运维"]) == 0
    assert "4242 is an admin" in capsys.readouterr().out
    assert main(["admin", "add", "4242"]) == 0  # again: still one admin, no error
    assert main(["db", "downgrade", "base"]) == 0
    assert main(["db", "current"]) == 0
    assert "current: empty database" in capsys.readouterr().out


async def test_the_network_guard_stops_any_real_telegram_call() -> None:
    bot = Bot(TOKEN)  # the real https://api.telegram.org
    with network_guard.expecting_violation() as tried, pytest.raises(NetworkError):
        await bot.get_me()
    await bot.shutdown()
    assert tried == ["api.telegram.org"]
