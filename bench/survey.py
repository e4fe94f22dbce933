"""Surveys at scale, in one run, ending with one JSON line:

(a) invitations: N customers, each linked to its own chat and tagged, get a survey by tag in
    one ``research.send``; the real application (``kehu run`` in a subprocess) delivers the
    outbox to the fake Bot API enforcing 30 messages/s, is SIGKILLed after ~40 % and a fresh
    application on the same database finishes. Rate, duplicates, losses, 429s.
(b) keyword extraction: synthetic short open answers (Chinese, some English), answers/s for
    ``KeywordExtractor.extract`` (top 5) and ``tags_for`` with the default dictionary.
(c) answering end to end: respondents press through consent and button questions against
    the real application (``throttle=False``); updates/s and the ratio to a bare PTB echo bot
    (``bench/updates.py``'s, same burst measurement).

  .venv/bin/python bench/survey.py [--invitations 10000] [--answers 100000] [--respondents 200]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.updates import bare_echo_rate  # noqa: E402
from bot.app import KehuApplication, build_application, start_in_loop, stop_in_loop  # noqa: E402
from bot.fake_api import BotMessage, FakeTelegram, RecordedCall, UserHandle  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.update_tracker import HandledUpdates  # noqa: E402
from crm.clock import SystemClock  # noqa: E402
from crm.customers import Stage, TagSource  # noqa: E402
from crm.keywords import DEFAULT_KEYWORD_TAGS, KeywordExtractor, tags_for  # noqa: E402
from crm.members import Role  # noqa: E402
from crm.text import name_keys, search_document  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import CustomerRow, MemberRow, OutboxRow  # noqa: E402
from tests.support import machine  # noqa: E402

TELEGRAM_RATE = 30
ADMIN_ID = 1001
TOKEN = "123456789:AAEkehu-bench-token-0123456789abcdef"
AUDIENCE_TAG = "调研对象"
TITLE = "满意度调研"
CRASH_AT = 0.4
GAP_SECONDS = 3.0  # a pause between two deliveries longer than this is not sending time

SURVEY_ROWS: list[list[Any]] = [
    ["type", "name", "label::zh", "label::en", "required"],
    ["select_one yn", "uses", "是否在用我们的产品？", "Do you use it?", "yes"],
    ["select_one freq", "freq", "使用频率？", "How often?", "yes"],
    ["select_one score", "sat", "满意度？", "Satisfaction?", "yes"],
]
CHOICE_ROWS: list[list[Any]] = [
    ["list_name", "name", "label::zh", "label::en"],
    ["yn", "yes", "是", "Yes"],
    ["yn", "no", "否", "No"],
    ["freq", "daily", "每天", "Daily"],
    ["freq", "weekly", "每周", "Weekly"],
    ["freq", "monthly", "每月", "Monthly"],
    *[["score", str(n), str(n), str(n)] for n in range(1, 6)],
]


def settings_for(database_url: str, base_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        telegram_api_base_url=base_url,
        admin_ids=(ADMIN_ID,),
        language="zh",
        log_level="WARNING",
    )


# Seeding ------------------------------------------------------------------------------------


def survey_workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in SURVEY_ROWS:
        sheet.append(row)
    choices = book.create_sheet("choices")
    for row in CHOICE_ROWS:
        choices.append(row)
    values = {"form_title": TITLE, "form_id": "bench_survey", "version": "1", "x_minutes": 1}
    book.create_sheet("settings").append(list(values))
    book["settings"].append(list(values.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def customer_rows(count: int) -> list[dict[str, Any]]:
    now = SystemClock().now()
    rows = []
    for number in range(count):
        name, code = f"客户{number:05d}", f"CRM{number + 1:05d}"
        keys = name_keys(name)
        rows.append(
            {
                "code": code,
                "name": name,
                "name_key": keys.key,
                "name_pinyin": keys.pinyin,
                "name_initials": keys.initials,
                "search_text": search_document(name, code, [], []),
                "stage": Stage.INTENT,
                "owner_id": 1,
                "custom_fields": {},
                "created_at": now,
                "updated_at": now,
                "stage_changed_at": now,
            }
        )
    return rows


async def insert_people(database_url: str, customers: int) -> None:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    now = SystemClock().now()
    admin = {
        "telegram_id": ADMIN_ID,
        "name": "管理员",
        "username": None,
        "role": Role.ADMIN,
        "team_id": None,
        "language": "zh",
        "timezone": None,
        "active": True,
        "reachable": True,
        "menu_signature": None,
        "created_at": now,
        "updated_at": now,
    }
    async with engine.begin() as connection:
        await connection.execute(insert(MemberRow), [admin])
        await connection.execute(insert(CustomerRow), customer_rows(customers))
    await engine.dispose()


async def seed_and_send(database_url: str, customers: int, first_chat: int) -> dict[str, Any]:
    """Customers linked to chats ``first_chat``…, tagged, a survey imported and sent by tag
    (every invitation enters the outbox in one transaction). Returns the seconds it took."""
    started = time.perf_counter()
    await insert_people(database_url, customers)
    application = build_application(settings_for(database_url, "http://127.0.0.1:9/bot"))
    kehu = application.kehu
    try:
        async with kehu.unit_of_work() as uow:
            member = await uow.members.by_telegram_id(ADMIN_ID)
            assert member is not None
            for number in range(customers):
                await uow.customers.link_chat(number + 1, first_chat + number, f"联系人{number}")
                await uow.customers.add_tag(number + 1, AUDIENCE_TAG, TagSource.MANUAL, None)
            imported = await kehu.services(uow).research.import_workbook(member, survey_workbook())
            await uow.commit()
        seeded = time.perf_counter()
        async with kehu.unit_of_work() as uow:
            sent = await kehu.services(uow).research.send(
                member, imported.survey.id, "tag", AUDIENCE_TAG
            )
            await uow.commit()
        assert sent.in_chat == customers, sent
    finally:
        await kehu.engine.dispose()
    return {
        "seed_seconds": round(seeded - started, 1),
        "send_seconds": round(time.perf_counter() - seeded, 2),
    }


# (a) Invitations with a crash ---------------------------------------------------------------


@dataclass
class Deliveries:
    """Invitations the fake server accepted, by chat, with the time each arrived."""

    target: int
    crash_after: int
    at: list[float] = field(default_factory=list)
    chats: Counter[int] = field(default_factory=Counter)
    last_by_chat: dict[int, float] = field(default_factory=dict)
    chat_gap_violations: int = 0
    crash: Callable[[], None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, call: RecordedCall) -> None:
        if call.method != "sendMessage" or call.status != 200:
            return
        chat, now = int(str(call.params.get("chat_id"))), time.perf_counter()
        if now - self.last_by_chat.get(chat, -10.0) < 1.0:
            self.chat_gap_violations += 1
        self.last_by_chat[chat] = now
        if TITLE not in str(call.params.get("text", "")):
            return
        self.at.append(now)
        self.chats[chat] += 1
        if self.crash is not None and len(self.at) >= self.crash_after:
            self.crash()
            self.crash = None
        if len(self.chats) >= self.target:
            self.done.set()

    def sending_seconds(self) -> tuple[float, list[float]]:
        """Time spent sending: the span of deliveries minus pauses over ``GAP_SECONDS``."""
        gaps = [b - a for a, b in zip(self.at, self.at[1:], strict=False) if b - a > GAP_SECONDS]
        return self.at[-1] - self.at[0] - sum(gaps), gaps


def kehu_environment(database_url: str, base_url: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    environment.update(
        KEHU_BOT_TOKEN=TOKEN,
        KEHU_DATABASE_URL=database_url,
        KEHU_TELEGRAM_API_BASE_URL=base_url,
        KEHU_ADMIN_IDS=str(ADMIN_ID),
        KEHU_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return environment


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def crash_phase(
    database_url: str, fake: FakeTelegram, deliveries: Deliveries, log: Path
) -> None:
    """``kehu run`` in a subprocess, SIGKILLed from the fake server's hook once ~40 % of the
    invitations have arrived (the message whose answer is being written is in flight)."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=ROOT,
            env=kehu_environment(database_url, fake.base_url),
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
        deliveries.crash = lambda: process.send_signal(signal.SIGKILL)
        try:
            await asyncio.wait_for(process.wait(), timeout=deliveries.crash_after / 10 + 120)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == -signal.SIGKILL, tail(log)


async def finish_phase(
    database_url: str, fake: FakeTelegram, deliveries: Deliveries
) -> tuple[float, int]:
    """A fresh application on the same database finishes the outbox; seconds it needed."""
    application = build_application(settings_for(database_url, fake.base_url))
    started = time.perf_counter()
    await start_in_loop(application)
    try:
        timeout = deliveries.target / TELEGRAM_RATE * 3 + 300
        await asyncio.wait_for(deliveries.done.wait(), timeout=timeout)
        # Rows the killed process had claimed come back after the outbox lease (2 min): wait
        # for them too, so a redelivered in-flight message counts as the duplicate it is.
        unsent = await wait_for_empty_outbox(application, seconds=200)
    finally:
        await stop_in_loop(application)
    return time.perf_counter() - started, unsent


async def outbox_unsent(application: KehuApplication) -> int:
    async with application.kehu.unit_of_work() as uow:
        query = select(func.count()).where(OutboxRow.status.in_(("pending", "sending")))
        return int(await uow.session.scalar(query) or 0)


async def wait_for_empty_outbox(application: KehuApplication, seconds: int) -> int:
    """Poll once a second until nothing is pending or claimed; what is left after ``seconds``."""
    for _ in range(seconds):
        if not await outbox_unsent(application):
            return 0
        await asyncio.sleep(1)
    return await outbox_unsent(application)


async def measure_invitations(invitations: int) -> dict[str, Any]:
    first_chat = 5_000_000
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite+aiosqlite:///{folder}/invitations.db"
        print(f"(a) seeding {invitations} customers and sending ...", file=sys.stderr)
        setup = await seed_and_send(database_url, invitations, first_chat)
        async with FakeTelegram() as fake:
            fake.enforce_flood_limit(TELEGRAM_RATE)
            for number in range(invitations):
                fake.user(first_chat + number, first_name=f"联系人{number}", language_code="zh")
            deliveries = Deliveries(invitations, int(invitations * CRASH_AT))
            fake.on_call(deliveries.record)
            await crash_phase(database_url, fake, deliveries, Path(folder) / "phase1.log")
            crashed_at, before_crash = time.perf_counter(), len(deliveries.at)
            print(f"(a) killed after {before_crash} deliveries; restarting", file=sys.stderr)
            finish_seconds, unsent = await finish_phase(database_url, fake, deliveries)
            refused = sum(1 for call in fake.calls_to("sendMessage") if call.status == 429)
    setup |= {"second_app_seconds": round(finish_seconds, 1), "outbox_left_unsent": unsent}
    return invitation_figures(invitations, setup, deliveries, before_crash, crashed_at, refused)


def invitation_figures(
    invitations: int,
    setup: dict[str, Any],
    deliveries: Deliveries,
    before_crash: int,
    crashed_at: float,
    refused: int,
) -> dict[str, Any]:
    seconds, gaps = deliveries.sending_seconds()
    after_crash = [at for at in deliveries.at if at > crashed_at]
    rate = (len(deliveries.at) - 1) / seconds
    return {
        "invitations": invitations,
        **setup,
        "delivered_before_crash": before_crash,
        "delivered_chats": len(deliveries.chats),
        "duplicates": sum(times - 1 for times in deliveries.chats.values()),
        "lost": invitations - len(deliveries.chats),
        "sending_seconds": round(seconds, 1),
        "excluded_gaps_seconds": [round(gap, 1) for gap in gaps],
        "restart_to_first_delivery_seconds": round(after_crash[0] - crashed_at, 1),
        "achieved_per_second": round(rate, 2),
        "ratio_to_30_per_second": round(rate / TELEGRAM_RATE, 3),
        "flood_refusals_429": refused,
        "same_chat_under_1s": deliveries.chat_gap_violations,
    }


# (b) Keywords -------------------------------------------------------------------------------

CHINESE_PARTS = (
    "价格太贵", "性价比不高", "希望有优惠", "功能很强大", "接口集成方便", "需要私有化部署",
    "售后响应速度慢", "客服态度很好", "培训不够", "质量不稳定", "偶尔卡顿", "数据导出方便",
    "企业微信对接", "报表好用", "界面简洁", "操作复杂", "上手容易", "配送及时", "预算有限",
    "希望增加自动化", "安全性不错", "贵公司服务周到", "系统很稳定", "整体满意",
)  # fmt: skip
ENGLISH_PARTS = (
    "the price is too high", "great integration with our tools", "support is slow",
    "quality could be better", "we need more automation", "easy to use", "the app crashed twice",
    "good value", "training was helpful", "would like a discount",
)  # fmt: skip


def synthetic_answers(count: int, seed: int = 20240601) -> list[str]:
    chooser = random.Random(seed)
    answers = []
    for _ in range(count):
        if chooser.random() < 0.2:
            parts = chooser.sample(ENGLISH_PARTS, chooser.randint(1, 2))
            answers.append(", ".join(parts))
        else:
            parts = chooser.sample(CHINESE_PARTS, chooser.randint(1, 3))
            if chooser.random() < 0.1:
                parts.append(chooser.choice(ENGLISH_PARTS))
            answers.append("，".join(parts))
    return answers


def rate_of(work: Callable[[str], object], answers: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    for answer in answers:
        work(answer)
    seconds = time.perf_counter() - started
    return len(answers) / seconds, seconds


def measure_keywords(count: int) -> dict[str, Any]:
    answers = synthetic_answers(count)
    extractor = KeywordExtractor()
    started = time.perf_counter()
    extractor.warm()
    extractor.extract(answers[0])
    tags_for(answers[0], DEFAULT_KEYWORD_TAGS)
    warm_seconds = time.perf_counter() - started
    print(f"(b) {count} answers, jieba warmed in {warm_seconds:.1f} s", file=sys.stderr)
    extract_rate, extract_seconds = rate_of(lambda text: extractor.extract(text, 5), answers)
    tags_rate, tags_seconds = rate_of(lambda text: tags_for(text, DEFAULT_KEYWORD_TAGS), answers)
    sample = answers[:1000]
    tagged = sum(1 for answer in sample if tags_for(answer, DEFAULT_KEYWORD_TAGS))
    return {
        "answers": count,
        "warm_up_seconds": round(warm_seconds, 2),
        "extract_top5_per_second": round(extract_rate, 1),
        "extract_seconds": round(extract_seconds, 2),
        "tags_for_per_second": round(tags_rate, 1),
        "tags_for_seconds": round(tags_seconds, 2),
        "share_of_first_1000_tagged": round(tagged / len(sample), 3),
    }


# (c) Answering end to end -------------------------------------------------------------------


def next_press(message: BotMessage, respondent: int) -> str | None:
    """The callback data a respondent presses on their latest message, or None when done."""
    data = [button.callback_data or "" for row in message.buttons for button in row]
    for prefix in ("sv:o:", "sv:c:"):
        found = [d for d in data if d.startswith(prefix) and not d.endswith(":n")]
        if found:
            return found[0]
    options = [d for d in data if d.startswith("sv:a:")]
    if options:
        return options[respondent % len(options)]
    return next((d for d in data if d.startswith("sv:d:")), None)


async def press_round(users: list[UserHandle], handled: HandledUpdates) -> int:
    """Every respondent with something to press presses it at once; wait until all are
    handled. Returns the number of updates."""
    pending = []
    for number, user in enumerate(users):
        data = next_press(user.messages[-1], number) if user.messages else None
        if data is not None:
            pending.append(await user.press_data(user.messages[-1], data))
    for update_id in pending:
        await handled.wait(update_id, timeout=120)
    return len(pending)


async def wait_for_invitations(fake: FakeTelegram, users: list[UserHandle]) -> None:
    await fake.wait_until(lambda: all(user.messages for user in users), timeout=120)


async def answer_everything(
    application: KehuApplication, fake: FakeTelegram, users: list[UserHandle]
) -> tuple[int, float, int]:
    handled = HandledUpdates(application)
    await wait_for_invitations(fake, users)
    updates, rounds, started = 0, 0, time.perf_counter()
    while pressed := await press_round(users, handled):
        updates, rounds = updates + pressed, rounds + 1
    return updates, time.perf_counter() - started, rounds


async def measure_answering(respondents: int) -> dict[str, Any]:
    first_chat = 8_000_000
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite+aiosqlite:///{folder}/answers.db"
        print(f"(c) {respondents} respondents ...", file=sys.stderr)
        await seed_and_send(database_url, respondents, first_chat)
        async with FakeTelegram() as fake:
            users = [
                fake.user(first_chat + n, first_name=f"联系人{n}", language_code="zh")
                for n in range(respondents)
            ]
            application = build_application(
                settings_for(database_url, fake.base_url), throttle=False
            )
            await start_in_loop(application)
            try:
                updates, seconds, rounds = await answer_everything(application, fake, users)
            finally:
                await stop_in_loop(application)
            finished = sum(1 for user in users if next_press(user.messages[-1], 0) is None)
    kehu_rate = updates / seconds
    bare_rate = await bare_echo_rate(updates)
    return {
        "respondents": respondents,
        "finished": finished,
        "updates": updates,
        "rounds": rounds,
        "seconds": round(seconds, 2),
        "kehu_updates_per_second": round(kehu_rate, 1),
        "bare_echo_updates_per_second": round(bare_rate, 1),
        "ratio_kehu_to_bare": round(kehu_rate / bare_rate, 3),
    }


# Main ---------------------------------------------------------------------------------------


async def measure(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "survey"}
    figures["keywords"] = measure_keywords(arguments.answers)
    figures["answering"] = await measure_answering(arguments.respondents)
    figures["invitations"] = await measure_invitations(arguments.invitations)
    figures["machine"] = machine.description()
    figures["speed_ms"] = machine.speed_ms()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--respondents", type=int, default=200)
    arguments = parser.parse_args()
    configure_logging("WARNING", [])
    figures = asyncio.run(measure(arguments))
    invitations = figures["invitations"]
    print(
        f"(a) {invitations['delivered_chats']} delivered at "
        f"{invitations['achieved_per_second']}/s, {invitations['duplicates']} duplicates, "
        f"{invitations['lost']} lost, {invitations['flood_refusals_429']} refused with 429",
        file=sys.stderr,
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
