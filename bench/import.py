"""Customer import: a 100,000-row .xlsx (template 1 headers under a merged title row, phones in
many formats, stages in Chinese and English, dates as text and Excel serials, 1 % invalid and
1 % duplicate rows, 10 % updates of customers already in the database by code or by phone)
through ``ImportService`` as the bot calls it: the dry run, then the commit in one
transaction. Target (issue 5): dry run + commit ≤ 30 s with flat memory. Prints one JSON line;
progress goes to stderr.

    .venv/bin/python bench/import.py [--rows 100000] [--existing 10000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xlsxwriter  # noqa: E402
from sqlalchemy import text  # noqa: E402

from crm.clock import FakeClock  # noqa: E402
from crm.importing.service import ImportService  # noqa: E402
from crm.members import NewMember, Role  # noqa: E402
from crm.text import name_keys  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.support import machine  # noqa: E402

SEED = 20261125
ZONE = ZoneInfo("Asia/Shanghai")
HEADERS = [
    "客户编号", "客户名称", "所属行业", "联系人*", "职位", "联系方式（脱敏）", "客户来源",
    "需求类型", "合作阶段", "客户等级", "区域", "建档日期", "备注",
]  # fmt: skip
CITIES = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "重庆",
    "武汉",
    "西安",
    "天津",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
]
BRAND = "华信恒达金鼎瑞丰宏远天成佳禾中科博海安泰新源东方凯盛盈创嘉和永盛德润祥云志诚"
INDUSTRY = [
    "科技",
    "贸易",
    "物流",
    "制造",
    "食品",
    "医药",
    "电子",
    "建材",
    "化工",
    "环保",
    "传媒",
    "能源",
]
LEGAL = ["有限公司", "股份有限公司", "集团", "有限责任公司"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚"
STAGES = ["潜在", "意向", "成交", "流失", "intent", "deal", ""]
SOURCES = ["行业展会", "老客户转介绍", "官网", "电话营销", ""]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ResidentMemory:
    """This process's resident memory (VmRSS), read every 0.1 s by a thread of its own (the
    event loop is busy importing), so that each phase's start and peak can be told apart
    (``ru_maxrss`` only knows the peak of the whole run)."""

    def __init__(self) -> None:
        self._samples: list[int] = []
        self._adding = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ResidentMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> int:
        """Where the next phase starts, in the samples."""
        with self._adding:
            self._samples.append(_rss_kb())
            return len(self._samples) - 1

    def mb(self, at: int) -> int:
        return round(self._samples[at] / 1024)

    def peak_mb(self, start: int, end: int) -> int:
        return round(max(self._samples[start : end + 1]) / 1024)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            with self._adding:
                self._samples.append(_rss_kb())


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def helper_peak_rss_mb() -> float:
    """The largest peak of the helper processes that read the file (ended ones)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def company(pick: random.Random, number: int) -> str:
    brand = pick.choice(BRAND) + pick.choice(BRAND)
    return f"{pick.choice(CITIES)}{brand}{pick.choice(INDUSTRY)}{number % 97}{pick.choice(LEGAL)}"


def phone_text(pick: random.Random, digits: str) -> Any:
    style = pick.randrange(6)
    if style == 0 and digits.isdigit():
        return int(digits)  # a number cell
    if style == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return "".join(chr(ord(c) + 0xFEE0) for c in digits)  # full-width
    if style == 4:
        return f"(0086){digits}"
    return digits


def workbook(rows: int, existing: int) -> bytes:
    """``rows`` data rows; the first 10 % update the ``existing`` customers (half by code, half
    by phone), 1 % are invalid, 1 % repeat an earlier row."""
    pick = random.Random(SEED)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("客户")
    sheet.merge_range(0, 0, 0, 5, "客户信息基础表（CRM 系统）")
    sheet.write_row(1, 0, HEADERS)
    updates = min(existing, rows // 10)
    for index in range(rows):
        line = index + 2
        number = index + 1
        code = ""
        digits = f"13{number:09d}"
        if index < updates:
            if index % 2 == 0:
                code = f"CRM{number:04d}"
            else:
                digits = f"13{number:09d}"
        else:
            digits = f"15{number:09d}"
        if index % 100 == 37:
            digits = "139****" + digits[-4:]  # masked: invalid
        if index % 100 == 73 and index > updates:
            digits = f"15{number - 5:09d}"  # the phone of a row 5 above: duplicate
        created: Any = 45000 + pick.randrange(1500) if index % 2 else "2024-03-01"
        values = [
            code,
            company(pick, number),
            pick.choice(INDUSTRY),
            pick.choice(SURNAMES) + pick.choice(GIVEN) + pick.choice(["", *GIVEN]),
            pick.choice(["经理", "总监", "采购经理", ""]),
            phone_text(pick, digits),
            pick.choice(SOURCES),
            pick.choice(["自动化生产线", "CRM系统升级", ""]),
            pick.choice(STAGES),
            pick.choice(["A", "B", "C", ""]),
            pick.choice(CITIES),
            created,
            "需提供3台样品测试" if index % 3 == 0 else "",
        ]
        for column, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(line, column, value)
            elif value:
                sheet.write_string(line, column, value)
    book.close()
    return buffer.getvalue()


def existing_csv(count: int) -> bytes:
    """The customers already there: codes CRM0001.., phones 13000000001.."""
    lines = ["客户名称,联系人,联系方式,合作阶段"]
    lines += [f"老客户{n}号公司,老联系人,13{n:09d},意向" for n in range(1, count + 1)]
    return "\n".join(lines).encode()


async def run(url: str, rows: int, existing: int, data: bytes) -> dict[str, Any]:
    name_keys("预热")  # as the bot does at start-up: pypinyin's dictionaries loaded (0.5 s)
    engine = create_engine(url)
    await migrate.upgrade(engine, "head")
    clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    try:
        async with SqlUnitOfWork(session_factory(engine), clock) as uow:
            await uow.members.add(NewMember(1001, "Ada", None, Role.ADMIN, None, "zh"))
            await uow.commit()
        started = time.perf_counter()
        async with SqlUnitOfWork(session_factory(engine), clock) as uow:
            service = ImportService(uow, clock)
            old = existing_csv(existing)
            checked = await service.check_file(old, "old.csv", ZONE)
            await service.import_file(old, checked.session, ZONE)
            await uow.commit()
        progress(f"{existing} existing customers loaded in {time.perf_counter() - started:.1f} s")
        with ResidentMemory() as memory:
            before = memory.mark()
            started = time.perf_counter()
            async with SqlUnitOfWork(session_factory(engine), clock) as uow:
                preview = await ImportService(uow, clock).check_file(data, "bench.xlsx", ZONE)
            dry_run = time.perf_counter() - started
            counts = preview.session.counts
            between = memory.mark()
            progress(f"dry run {dry_run:.1f} s: {counts}; {memory.mb(between)} MB resident")
            started = time.perf_counter()
            async with SqlUnitOfWork(session_factory(engine), clock) as uow:
                service = ImportService(uow, clock)
                committed = await service.import_file(data, preview.session, ZONE)
                await uow.commit()
            commit = time.perf_counter() - started
            after = memory.mark()
            progress(f"commit {commit:.1f} s: {committed.counts}; {memory.mb(after)} MB resident")
        async with engine.connect() as connection:
            total = (await connection.execute(text("SELECT count(*) FROM customers"))).scalar()
        return {
            "rows": rows,
            "existing": existing,
            "new": committed.counts.new,
            "updated": committed.counts.updated,
            "duplicate": committed.counts.duplicate,
            "invalid": committed.counts.invalid,
            "customers_after": total,
            "dry_run_s": round(dry_run, 2),
            "commit_s": round(commit, 2),
            "total_s": round(dry_run + commit, 2),
            "resident_mb": {  # this process, the bot's side of the import
                "before": memory.mb(before),
                "dry_run_peak": memory.peak_mb(before, between),
                "commit_peak": memory.peak_mb(between, after),
                "after": memory.mb(after),
            },
            "peak_rss_mb": round(peak_rss_mb()),
            "reader_process_peak_rss_mb": round(helper_peak_rss_mb()),
        }
    finally:
        await engine.dispose()


async def run_postgresql(rows: int, existing: int, data: bytes) -> dict[str, Any]:
    from tests.support.postgres import throwaway_database

    async with throwaway_database() as url:
        if url is None:
            return {"skipped": "no PostgreSQL binaries on this machine"}
        return await run(url, rows, existing, data)


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    data = workbook(arguments.rows, arguments.existing)
    progress(f"workbook: {len(data) / 2**20:.1f} MB in {time.perf_counter() - started:.1f} s")
    figures: dict[str, Any] = {"bench": "import", "file_mb": round(len(data) / 2**20, 1)}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        figures["sqlite"] = await run(url, arguments.rows, arguments.existing, data)
    if arguments.postgres:
        figures["postgresql"] = await run_postgresql(arguments.rows, arguments.existing, data)
    figures["target_s"] = 30
    figures["machine"] = machine.description()
    figures["speed_ms"] = machine.speed_ms()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    arguments = parser.parse_args()
    figures = asyncio.run(main_async(arguments))
    sqlite = figures["sqlite"]
    figures.update(
        rows=sqlite["rows"],
        dry_run_s=sqlite["dry_run_s"],
        commit_s=sqlite["commit_s"],
        peak_rss_mb=sqlite["peak_rss_mb"],
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
