"""Reminder delivery under Telegram's flood limit: N reminders due in the same minute, sent by
the real application (scheduler tick → outbox → rate limiter → PTB → HTTP) to the fake Bot API
enforcing 30 messages/s (it answers 429 beyond that, as Telegram does). Reports the achieved
rate, duplicates and losses, and ends with one JSON line.

    .venv/bin/python bench/reminders.py [--reminders 10000] [--reps 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.app import build_application, start_in_loop, stop_in_loop  # noqa: E402
from bot.fake_api import FakeTelegram, RecordedCall  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.clock import SystemClock  # noqa: E402
from crm.customers import Stage  # noqa: E402
from crm.followups import TaskState  # noqa: E402
from crm.members import Role  # noqa: E402
from crm.text import name_keys, search_document  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import CustomerRow, MemberRow, TaskRow  # noqa: E402
from tests.support import machine  # noqa: E402

FIRST_REP = 100_000
TELEGRAM_RATE = 30


async def seed(database_url: str, reminders: int, reps: int) -> None:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    now = SystemClock().now()
    due = now - timedelta(seconds=30)  # all due within the same minute
    async with engine.begin() as connection:
        await connection.execute(
            insert(MemberRow),
            [
                {
                    "telegram_id": FIRST_REP + number,
                    "name": f"销售{number}",
                    "username": None,
                    "role": Role.REP,
                    "team_id": None,
                    "language": "zh",
                    "timezone": None,
                    "active": True,
                    "reachable": True,
                    "menu_signature": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for number in range(reps)
            ],
        )
        customers = []
        for number in range(reminders):
            name = f"客户{number:05d}"
            keys = name_keys(name)
            customers.append(
                {
                    "code": f"CRM{number + 1:05d}",
                    "name": name,
                    "name_key": keys.key,
                    "name_pinyin": keys.pinyin,
                    "name_initials": keys.initials,
                    "search_text": search_document(name, f"CRM{number + 1:05d}", [], []),
                    "stage": Stage.INTENT,
                    "owner_id": number % reps + 1,
                    "custom_fields": {},
                    "created_at": now,
                    "updated_at": now,
                    "stage_changed_at": now,
                }
            )
        await connection.execute(insert(CustomerRow), customers)
        await connection.execute(
            insert(TaskRow),
            [
                {
                    "customer_id": number + 1,
                    "assignee_id": number % reps + 1,
                    "due_at": due,
                    "remind_at": due,
                    "state": TaskState.OPEN,
                    "talking_points": f"task {number}",
                    "created_at": now,
                    "updated_at": now,
                }
                for number in range(reminders)
            ],
        )
    await engine.dispose()


async def measure(reminders: int, reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite+aiosqlite:///{folder}/reminders.db"
        print(f"seeding {reminders} reminders for {reps} reps ...", file=sys.stderr)
        await seed(database_url, reminders, reps)
        async with FakeTelegram() as fake:
            fake.enforce_flood_limit(TELEGRAM_RATE)
            for number in range(reps):
                fake.user(FIRST_REP + number, first_name=f"销售{number}", language_code="zh")
            delivered: list[tuple[float, str]] = []
            done = asyncio.Event()

            def count(call: RecordedCall) -> None:
                text = str(call.params.get("text", ""))
                if call.method == "sendMessage" and call.status == 200 and "要点：task" in text:
                    delivered.append((time.perf_counter(), text.rsplit("要点：", 1)[1]))
                    if len(delivered) >= reminders:
                        done.set()

            fake.on_call(count)
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                database_url=database_url,
                telegram_api_base_url=fake.base_url,
                log_level="WARNING",
            )
            application = build_application(settings)
            started = time.perf_counter()
            await start_in_loop(application)
            try:
                await asyncio.wait_for(done.wait(), timeout=reminders / TELEGRAM_RATE * 3 + 120)
            finally:
                await stop_in_loop(application)
            refused = fake.calls_to("sendMessage")
            flood_refusals = sum(1 for call in refused if call.status == 429)
    first, last = delivered[0][0], delivered[-1][0]
    copies = Counter(task for _, task in delivered)
    rate = (len(delivered) - 1) / (last - first) if last > first else float("inf")
    return {
        "bench": "reminders",
        "reminders": reminders,
        "reps": reps,
        "delivered": len(copies),
        "duplicates": sum(times - 1 for times in copies.values()),
        "lost": reminders - len(copies),
        "seconds_first_to_last": round(last - first, 1),
        "seconds_from_start": round(last - started, 1),
        "achieved_per_second": round(rate, 2),
        "ratio_to_30_per_second": round(rate / TELEGRAM_RATE, 3),
        "flood_refusals_429": flood_refusals,
        "machine": machine.description(),
        "speed_ms": machine.speed_ms(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=500)
    arguments = parser.parse_args()
    configure_logging("WARNING", [])
    figures = asyncio.run(measure(arguments.reminders, arguments.reps))
    print(
        f"{figures['delivered']} delivered at {figures['achieved_per_second']}/s, "
        f"{figures['duplicates']} duplicates, {figures['lost']} lost, "
        f"{figures['flood_refusals_429']} refused with 429",
        file=sys.stderr,
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
