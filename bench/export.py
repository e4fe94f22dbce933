"""Excel export speed (target: 100,000 rows ≤ 30 s): seed 100,000 customers with a contact each,
notes, a few tags, and 100,000 follow-up records by bulk INSERT; then time the exports the way
the bot runs them (``ExportService.prepare`` in one unit of work, then ``write_pages``: a page of
5,000 rows per unit of work, each page written by xlsxwriter in a thread while the next is
read). Measured: customers as an admin (whole phones) and as a manager whose team owns them all
(masked phones, the team scope clause), follow-ups as an admin. Also the worst event-loop lag
during each export (the bot keeps answering others meanwhile). Prints one JSON line at the end;
progress goes to stderr.

    .venv/bin/python bench/export.py [--rows 100000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo  # noqa: E402

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.i18n import Catalogue  # noqa: E402
from crm.clock import FakeClock  # noqa: E402
from crm.exports.records import Cursor, ExportKind  # noqa: E402
from crm.exports.service import ExportPlan, ExportService, Page  # noqa: E402
from crm.exports.xlsx import ExportWorkbook, write_pages  # noqa: E402
from crm.members import Member, Role  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    ContactRow,
    CustomerRow,
    CustomerTagRow,
    FollowUpRow,
    MemberRow,
    TagRow,
    TeamRow,
)
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.support import machine  # noqa: E402

SEED = 20261125
CHUNK = 10_000
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
REPS = 50
CITIES = (
    "北京",
    "上海",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "成都",
    "重庆",
    "长沙",
    "武汉",
    "西安",
    "苏州",
    "天津",
    "青岛",
    "厦门",
)
BRANDS = [
    "华信",
    "恒通",
    "金桥",
    "瑞丰",
    "宏达",
    "星辰",
    "东方",
    "盛世",
    "天成",
    "远航",
    "中科",
    "新锐",
    "汇丰",
    "鼎盛",
    "博雅",
]
TRADES = ["科技", "贸易", "制造", "物流", "医药", "食品", "电子", "建材", "教育", "咨询"]
INDUSTRIES = ["制造业", "零售", "金融", "医疗", "教育", "物流", "互联网", "能源"]
SOURCES = ("行业展会", "老客户转介绍", "官网", "电话营销", "合作伙伴")
STAGES = ("potential", "intent", "deal", "lost")
METHODS = ("phone", "visit", "email", "wechat")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
POINTS = (
    "介绍样品测试流程及报价",
    "发送竞品对比报告及优惠政策",
    "协调技术部上门演示",
    "确认年度合作续约条款",
)
FEEDBACK = ("对价格有疑虑，需对比竞品", "同意下周安排技术人员现场考察", "希望增加售后培训", None)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed(engine: AsyncEngine, rows: int) -> dict[str, Member]:
    generator = random.Random(SEED)
    async with engine.begin() as connection:
        team = (
            await connection.execute(
                insert(TeamRow).values(name="华东区", created_at=NOW).returning(TeamRow.id)
            )
        ).scalar_one()
        people: dict[str, Member] = {}

        async def member(number: int, name: str, role: Role, team_id: int | None) -> int:
            member_id = (
                await connection.execute(
                    insert(MemberRow)
                    .values(
                        telegram_id=10_000 + number,
                        name=name,
                        role=role,
                        team_id=team_id,
                        language="zh",
                        created_at=NOW,
                        updated_at=NOW,
                    )
                    .returning(MemberRow.id)
                )
            ).scalar_one()
            people[name] = Member(
                id=member_id,
                telegram_id=10_000 + number,
                name=name,
                username=None,
                role=role,
                team_id=team_id,
                language="zh",
                timezone=None,
                active=True,
                reachable=True,
                menu_signature=None,
                created_at=NOW,
            )
            return member_id

        await member(0, "admin", Role.ADMIN, None)
        await member(1, "manager", Role.MANAGER, team)
        reps = [await member(2 + n, f"销售{n:02d}", Role.REP, team) for n in range(REPS)]
        tags = []
        for name in ("高潜力客户", "价格敏感型", "技术偏好型", "重点客户"):
            tags.append(
                (
                    await connection.execute(
                        insert(TagRow).values(name=name, created_at=NOW).returning(TagRow.id)
                    )
                ).scalar_one()
            )
        for start in range(0, rows, CHUNK):
            customers, contacts, follow_ups, tagged = [], [], [], []
            for number in range(start + 1, min(start + CHUNK, rows) + 1):
                name = (
                    f"{generator.choice(CITIES)}{generator.choice(BRANDS)}"
                    f"{generator.choice(TRADES)}有限公司{number}"
                )
                owner = reps[number % REPS]
                created = NOW - timedelta(days=generator.randint(1, 700))
                customers.append(
                    {
                        "id": number,
                        "code": f"CRM{number:06d}",
                        "name": name,
                        "name_key": name,
                        "name_pinyin": "",
                        "name_initials": "",
                        "search_text": name,
                        "industry": generator.choice(INDUSTRIES),
                        "source": generator.choice(SOURCES),
                        "stage": generator.choice(STAGES),
                        "grade": generator.choice("ABC"),
                        "region": generator.choice(CITIES),
                        "owner_id": owner,
                        "notes": "需提供3台样品测试，" * generator.randint(0, 12) or None,
                        "custom_fields": {},
                        "created_at": created,
                        "updated_at": created,
                        "stage_changed_at": created,
                        "last_followup_at": NOW - timedelta(hours=number % 500),
                    }
                )
                phone = f"13{generator.randint(0, 9)}{generator.randint(0, 99_999_999):08d}"
                contacts.append(
                    {
                        "customer_id": number,
                        "name": f"{generator.choice(SURNAMES)}经理",
                        "title": "采购经理",
                        "phone": phone,
                        "phone_reversed": phone[::-1],
                        "email": f"buyer{number}@example.com",
                        "is_primary": True,
                        "created_at": created,
                    }
                )
                follow_ups.append(
                    {
                        "customer_id": number,
                        "author_id": owner,
                        "happened_at": NOW - timedelta(minutes=number),
                        "method": generator.choice(METHODS),
                        "summary": generator.choice(POINTS),
                        "feedback": generator.choice(FEEDBACK),
                        "demand_change": "增加“售后培训”需求" if number % 7 == 0 else None,
                        "next_step": "3月5日提供竞品分析报告",
                        "created_at": NOW,
                    }
                )
                if number % 3 == 0:
                    tagged.append(
                        {
                            "customer_id": number,
                            "tag_id": tags[number % len(tags)],
                            "source": "manual",
                            "added_at": NOW,
                        }
                    )
            await connection.execute(insert(CustomerRow), customers)
            await connection.execute(insert(ContactRow), contacts)
            await connection.execute(insert(FollowUpRow), follow_ups)
            await connection.execute(insert(CustomerTagRow), tagged)
            progress(f"  seeded {min(start + CHUNK, rows):,} customers")
    return people


async def measure(
    engine: AsyncEngine, member: Member, kind: ExportKind, catalogue: Catalogue
) -> dict[str, Any]:
    sessions = session_factory(engine)
    clock = FakeClock(NOW)
    lag = {"max": 0.0}
    stop = asyncio.Event()

    async def ticker() -> None:  # how long the event loop is ever kept from other work
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lag["max"] = max(lag["max"], time.perf_counter() - before - 0.01)

    def translate(value: Any) -> str:
        return catalogue.render("zh", value)

    watcher = asyncio.create_task(ticker())
    started = time.perf_counter()
    async with SqlUnitOfWork(sessions, clock) as uow:
        plan: ExportPlan = await ExportService(uow, clock).prepare(member, kind, "all", ZONE)
        await uow.commit()
    prepared = time.perf_counter() - started

    async def fetch(after: Cursor | None) -> Page:
        async with SqlUnitOfWork(sessions, clock) as uow:
            return await ExportService(uow, clock).page(plan, after)

    book = ExportWorkbook(translate(plan.sheet_name), plan.columns, translate, ZONE)
    data = await write_pages(book, fetch)
    seconds = time.perf_counter() - started
    stop.set()
    await watcher
    check = _check(data, plan)
    return {
        "rows": book.rows,
        "seconds": round(seconds, 2),
        "prepare_seconds": round(prepared, 2),
        "rows_per_second": round(book.rows / seconds),
        "file_mb": round(len(data) / 2**20, 1),
        "max_loop_lag_ms": round(lag["max"] * 1000, 1),
        "phones": "full" if plan.full_phones else "masked",
        **check,
    }


def _check(data: bytes, plan: ExportPlan) -> dict[str, Any]:
    """A quick look at the file (the first rows only: reading 100k rows takes longer than
    writing them)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    book.close()
    sample: dict[str, Any] = {"header": list(rows[0])}
    if plan.kind is ExportKind.CUSTOMERS:
        sample["sample_phone"] = rows[1][list(rows[0]).index("联系方式")]
    return sample


async def run(url: str, rows: int, label: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        started = time.perf_counter()
        people = await seed(engine, rows)
        seeded = time.perf_counter() - started
        progress(f"{label}: seeded in {seeded:.0f} s; exporting")
        catalogue = Catalogue.load()
        figures: dict[str, Any] = {"seed_seconds": round(seeded, 1)}
        for name, who, kind in (
            ("customers_admin", "admin", ExportKind.CUSTOMERS),
            ("customers_manager", "manager", ExportKind.CUSTOMERS),
            ("followups_admin", "admin", ExportKind.FOLLOW_UPS),
        ):
            figures[name] = await measure(engine, people[who], kind, catalogue)
            line = figures[name]
            progress(
                f"{label} {name}: {line['rows']:,} rows in {line['seconds']} s "
                f"({line['file_mb']} MB, loop lag ≤ {line['max_loop_lag_ms']} ms)"
            )
            figures[name].pop("header")
        return figures
    finally:
        await engine.dispose()


async def run_postgresql(rows: int) -> dict[str, Any]:
    from tests.support.postgres import throwaway_database

    async with throwaway_database() as url:
        if url is None:
            return {"skipped": "no PostgreSQL binaries on this machine"}
        return await run(url, rows, "postgresql")


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "export", "rows": arguments.rows, "target_seconds": 30}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        figures["sqlite"] = await run(url, arguments.rows, "sqlite")
        figures["sqlite"]["sqlite_version"] = sqlite3.sqlite_version
    if arguments.postgres:
        figures["postgresql"] = await run_postgresql(arguments.rows)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["machine"] = machine.description()
    figures["speed_ms"] = machine.speed_ms()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(arguments)), ensure_ascii=False))


if __name__ == "__main__":
    main()
