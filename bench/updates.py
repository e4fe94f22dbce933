"""End-to-end update throughput through the fake Bot API over real HTTP, in one run:

  (a) a bare python-telegram-bot echo bot;
  (b) Kehu's /start for a member: redelivery check, member lookup, processed-update insert,
      commit, reply — on SQLite (and on PostgreSQL when its binaries are here).

Kehu is measured without Telegram's 30 messages/s reply cap (``throttle=False``): with it,
any bot answering one chat tops out at 30 updates/s by design. Updates are queued up front
and handled sequentially, as in production. Prints one JSON line at the end.

    .venv/bin/python bench/updates.py [--updates 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import build_application, start_in_loop, stop_in_loop  # noqa: E402
from bot.fake_api import FakeTelegram, RecordedCall  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine  # noqa: E402
from tests.support import machine  # noqa: E402

USER_ID = 1001


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def timed_burst(fake: FakeTelegram, text: str, count: int) -> float:
    """Queue ``count`` messages at once; seconds until the bot has answered all of them."""
    user = fake.user(USER_ID, first_name="Ada", language_code="en")
    answered = asyncio.Event()
    replies = 0

    def count_reply(call: RecordedCall) -> None:
        nonlocal replies
        if call.method == "sendMessage" and call.status == 200:
            replies += 1
            if replies == count:
                answered.set()

    fake.on_call(count_reply)
    start = time.perf_counter()
    for _ in range(count):
        await user.send(text)
    await asyncio.wait_for(answered.wait(), timeout=600)
    seconds = time.perf_counter() - start
    fake.remove_hook(count_reply)
    return seconds


async def bare_echo_rate(count: int) -> float:
    async with FakeTelegram() as fake:
        application = Application.builder().token("123456789:bench").base_url(fake.base_url).build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with application:
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=10)
            await application.start()
            await timed_burst(fake, "warm-up", 50)
            seconds = await timed_burst(fake, "hello", count)
            await application.updater.stop()
            await application.stop()
    return count / seconds


async def kehu_start_rate(database_url: str, count: int) -> float:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    await engine.dispose()
    async with FakeTelegram() as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=database_url,
            telegram_api_base_url=fake.base_url,
            admin_ids=(USER_ID,),
            log_level="WARNING",
        )
        application = build_application(settings, throttle=False)
        await start_in_loop(application)
        try:
            await timed_burst(fake, "/start", 50)
            seconds = await timed_burst(fake, "/start", count)
        finally:
            await stop_in_loop(application)
    return count / seconds


def postgres_url() -> tuple[Any, str] | None:
    from tests.support.postgres import ThrowawayCluster, find_binaries

    if find_binaries() is None:
        return None
    cluster = ThrowawayCluster.start()
    return cluster, cluster.url("postgres")


async def measure(updates: int, rounds: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {"bare_echo": [], "kehu_start_sqlite": []}
    postgres = postgres_url()
    if postgres:
        results["kehu_start_postgresql"] = []
    try:
        for round_number in range(rounds):
            results["bare_echo"].append(await bare_echo_rate(updates))
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{folder}/bench.db"
                results["kehu_start_sqlite"].append(await kehu_start_rate(url, updates))
            if postgres:
                cluster, _ = postgres
                name = f"bench_{round_number}"
                await _create_database(cluster, name)
                results["kehu_start_postgresql"].append(
                    await kehu_start_rate(cluster.url(name), updates)
                )
    finally:
        if postgres:
            postgres[0].stop()
    medians = {name: round(statistics.median(rates), 1) for name, rates in results.items()}
    figures: dict[str, Any] = {
        "bench": "updates",
        "updates_per_round": updates,
        "rounds": rounds,
        "updates_per_second": medians,
        "ratio_kehu_sqlite_to_bare": round(medians["kehu_start_sqlite"] / medians["bare_echo"], 3),
        "machine": machine.description(),
        "speed_ms": machine.speed_ms(),
    }
    if postgres:
        figures["ratio_kehu_postgresql_to_bare"] = round(
            medians["kehu_start_postgresql"] / medians["bare_echo"], 3
        )
    return figures


async def _create_database(cluster: Any, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        user=cluster.user, host="127.0.0.1", port=cluster.port, database="postgres"
    )
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    figures = asyncio.run(measure(arguments.updates, arguments.rounds))
    for name, rate in figures["updates_per_second"].items():
        print(f"{name:>24}: {rate:8.1f} updates/s", file=sys.stderr)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
