"""/report at scale, in one run, ending with one JSON line:

(a) report computation: ``ReportService.build`` (every aggregate query of /report) for an admin
    (all customers) and a manager (one team), over this quarter, on a synthetic data set of N
    customers with their stage history, deals, follow-ups and tasks; SQLite, and PostgreSQL when
    its binaries are on the machine. Median of the rounds, after one warm-up.
(b) chart rendering: each of the report's charts (funnel, industry pie, leaderboard bar) as a
    PNG, median and worst of the rounds (target: at most 1 s per chart).
(c) the PDF: cold (first build in the process, font loaded) and warm, charts included.

  .venv/bin/python bench/report.py [--customers 20000] [--reps 30] [--rounds 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bot import charts  # noqa: E402
from bot.i18n import Catalogue  # noqa: E402
from crm.clock import FakeClock  # noqa: E402
from crm.customers import Stage  # noqa: E402
from crm.followups import ContactMethod, TaskState  # noqa: E402
from crm.members import Member, Role  # noqa: E402
from crm.reports.records import Report  # noqa: E402
from crm.reports.service import ReportService  # noqa: E402
from handlers.reports import report_pdf, summary  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    CustomerRow,
    DealRow,
    FollowUpRow,
    MemberRow,
    StageChangeRow,
    TaskRow,
    TeamRow,
)
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.support import machine  # noqa: E402

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
INDUSTRIES = ("制造业", "零售", "金融", "医疗", "教育", "互联网", "物流", "能源", "餐饮", "建筑")
SIZES = ("50人以下", "50-200人", "200人以上", None)
SOURCES = ("行业展会", "老客户转介绍", "官网", "电话营销", None)
GRADES = ("A", "B", "C", None)
TEAMS = ("华东区", "华南区", "华北区")
BATCH = 5000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed(url: str, customers: int, reps: int) -> dict[str, int]:
    """Members in three teams, then customers with history, deals, follow-ups and tasks."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span = (NOW - start).total_seconds()
    counts = dict.fromkeys(("stage_changes", "deals", "follow_ups", "tasks"), 0)
    async with engine.begin() as connection:
        await connection.execute(
            insert(TeamRow), [{"name": name, "created_at": start} for name in TEAMS]
        )
        team_ids = list((await connection.execute(select(TeamRow.id))).scalars())
        people = [
            {
                "telegram_id": 10_000 + i,
                "name": f"销售{i:02d}",
                "role": Role.REP if i else Role.ADMIN,
                "team_id": None if i == 0 else team_ids[i % len(team_ids)],
                "created_at": start,
                "updated_at": start,
            }
            for i in range(reps + 1)
        ]
        people += [
            {
                "telegram_id": 20_000 + k,
                "name": f"经理{k}",
                "role": Role.MANAGER,
                "team_id": team_id,
                "created_at": start,
                "updated_at": start,
            }
            for k, team_id in enumerate(team_ids)
        ]
        await connection.execute(insert(MemberRow), people)
        member_ids = list(
            (
                await connection.execute(select(MemberRow.id).where(MemberRow.role == Role.REP))
            ).scalars()
        )
        for offset in range(0, customers, BATCH):
            size = min(BATCH, customers - offset)
            rows, owners = [], []
            for n in range(offset, offset + size):
                created = start + timedelta(seconds=rng.random() * span)
                owner = rng.choice(member_ids)
                owners.append((created, owner))
                rows.append(
                    {
                        "code": f"CRM{n + 1:06d}",
                        "name": f"客户{n + 1}",
                        "name_key": f"客户{n + 1}",
                        "name_pinyin": "",
                        "name_initials": "",
                        "search_text": "",
                        "industry": rng.choice(INDUSTRIES),
                        "size": rng.choice(SIZES),
                        "source": rng.choice(SOURCES),
                        "grade": rng.choice(GRADES),
                        "stage": Stage.POTENTIAL,
                        "owner_id": owner,
                        "custom_fields": {},
                        "created_at": created,
                        "updated_at": created,
                        "stage_changed_at": created,
                    }
                )
            await connection.execute(insert(CustomerRow), rows)
            first_id = await connection.scalar(
                select(CustomerRow.id).where(CustomerRow.code == rows[0]["code"])
            )
            assert first_id is not None
            changes: list[dict[str, Any]] = []
            deals: list[dict[str, Any]] = []
            follow_ups: list[dict[str, Any]] = []
            tasks: list[dict[str, Any]] = []
            for index, (created, owner) in enumerate(owners):
                customer_id = first_id + index
                at, stage = created, Stage.POTENTIAL
                changes.append(_change(customer_id, None, stage, at))
                if rng.random() < 0.6:
                    at += timedelta(days=rng.uniform(0.5, 20))
                    changes.append(_change(customer_id, stage, Stage.INTENT, at))
                    stage = Stage.INTENT
                    if rng.random() < 0.5:
                        at += timedelta(days=rng.uniform(0.5, 30))
                        changes.append(_change(customer_id, stage, Stage.DEAL, at))
                        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
                            deals.append(
                                {
                                    "customer_id": customer_id,
                                    "amount": Decimal(rng.randrange(1000, 200_000)) / 2,
                                    "deal_date": at.date(),
                                    "product": "产品",
                                    "created_at": at,
                                }
                            )
                            at += timedelta(days=rng.uniform(5, 60))
                    elif rng.random() < 0.3:
                        at += timedelta(days=rng.uniform(0.5, 30))
                        changes.append(_change(customer_id, stage, Stage.LOST, at))
                for _ in range(rng.randrange(0, 6)):
                    happened = created + timedelta(days=rng.uniform(0, 60))
                    follow_ups.append(
                        {
                            "customer_id": customer_id,
                            "author_id": owner,
                            "happened_at": happened,
                            "method": ContactMethod.PHONE,
                            "summary": "沟通",
                            "created_at": happened,
                        }
                    )
                due = created + timedelta(days=rng.uniform(1, 40))
                state = rng.choice((TaskState.OPEN, TaskState.DONE, TaskState.DONE))
                tasks.append(
                    {
                        "customer_id": customer_id,
                        "assignee_id": owner,
                        "due_at": due,
                        "state": state,
                        "remind_at": due,
                        "completed_at": (
                            due + timedelta(days=rng.uniform(-2, 3))
                            if state is TaskState.DONE
                            else None
                        ),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            for model, batch, key in (
                (StageChangeRow, changes, "stage_changes"),
                (DealRow, [d for d in deals if d["deal_date"] <= NOW.date()], "deals"),
                (FollowUpRow, [f for f in follow_ups if f["happened_at"] < NOW], "follow_ups"),
                (TaskRow, tasks, "tasks"),
            ):
                if batch:
                    await connection.execute(insert(model), batch)
                counts[key] += len(batch)
            log(f"  seeded {offset + size} customers")
    await engine.dispose()
    return counts


def _change(customer_id: int, old: Stage | None, new: Stage, at: datetime) -> dict[str, Any]:
    return {"customer_id": customer_id, "from_stage": old, "to_stage": new, "changed_at": at}


async def time_builds(url: str, rounds: int) -> tuple[dict[str, float], Report, Member]:
    engine = create_engine(url)
    clock = FakeClock(NOW)
    timings: dict[str, float] = {}
    report: Report | None = None
    admin: Member | None = None
    try:
        async with SqlUnitOfWork(session_factory(engine), clock) as uow:
            admin = await uow.members.by_telegram_id(10_000)
            manager = await uow.members.by_telegram_id(20_000)
        assert admin is not None
        assert manager is not None
        for name, member in (("admin", admin), ("manager", manager)):
            seconds = []
            for attempt in range(rounds + 1):
                async with SqlUnitOfWork(session_factory(engine), clock) as uow:
                    service = ReportService(uow, clock)
                    period = service.preset(member, "quarter", ZONE)
                    started = time.perf_counter()
                    built = await service.build(member, period, ZONE)
                    if attempt:  # the first one warms caches and the connection
                        seconds.append(time.perf_counter() - started)
                if name == "admin":
                    report = built
            timings[name] = statistics.median(seconds)
    finally:
        await engine.dispose()
    assert report is not None
    return timings, report, admin


def time_rendering(report: Report, admin: Member, rounds: int) -> dict[str, Any]:
    catalogue = Catalogue.load()

    def t(key: str, **variables: Any) -> str:
        return catalogue.t("zh", key, **variables)

    charts.pie("预热", ["甲", "乙"], [1, 2])  # matplotlib's first figure pays for its caches
    single: dict[str, list[float]] = {"funnel": [], "pie": [], "bar": []}
    funnel_steps = report.funnel.steps()
    industry = report.segments["industry"]
    for _ in range(rounds):
        for kind, draw in (
            (
                "funnel",
                lambda: charts.funnel(
                    "阶段漏斗",
                    [s.value for s, _ in funnel_steps],
                    [float(c) for _, c in funnel_steps],
                ),
            ),
            (
                "pie",
                lambda: charts.pie(
                    "客户行业分布",
                    [row.value or "未填写" for row in industry],
                    [float(row.customers) for row in industry],
                ),
            ),
            (
                "bar",
                lambda: charts.bar(
                    "销售成交金额排行",
                    [rep.name for rep in report.reps[:10]],
                    [float(rep.amount) for rep in report.reps[:10]],
                    horizontal=True,
                ),
            ),
        ):
            started = time.perf_counter()
            draw()
            single[kind].append(time.perf_counter() - started)
    started = time.perf_counter()
    text = summary(report, admin, t)
    summary_seconds = time.perf_counter() - started
    pdf_seconds = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(report_pdf(report, admin, t))
        pdf_seconds.append(time.perf_counter() - started)
    return {
        "chart_seconds": {
            kind: {"median": round(statistics.median(v), 3), "max": round(max(v), 3)}
            for kind, v in single.items()
        },
        "summary_ms": round(summary_seconds * 1000, 2),
        "summary_chars": len(text),
        "pdf_seconds_first": round(pdf_seconds[0], 3),
        "pdf_seconds_median_after": round(statistics.median(pdf_seconds[1:] or pdf_seconds), 3),
        "pdf_bytes": size,
    }


async def run(customers: int, reps: int, rounds: int, postgres: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "bench": "report",
        "customers": customers,
        "reps": reps,
        "period": "quarter 2026-10-01..2026-12-31",
        "rounds": rounds,
        "machine": machine.description(),
        "speed_ms": machine.speed_ms(),
    }
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/report.db"
        log(f"seeding SQLite with {customers} customers ...")
        figures["rows"] = await seed(url, customers, reps)
        timings, report, admin = await time_builds(url, rounds)
        figures["build_seconds_sqlite"] = {k: round(v, 3) for k, v in timings.items()}
    log("rendering charts and the PDF ...")
    figures |= time_rendering(report, admin, rounds)
    if postgres:
        from bench.updates import _create_database, postgres_url

        found = postgres_url()
        if found is None:
            log("no PostgreSQL binaries: SQLite only")
        else:
            cluster, _ = found
            try:
                await _create_database(cluster, "kehu_report")
                url = cluster.url("kehu_report")
                log(f"seeding PostgreSQL with {customers} customers ...")
                await seed(url, customers, reps)
                timings, _, _ = await time_builds(url, rounds)
                figures["build_seconds_postgresql"] = {k: round(v, 3) for k, v in timings.items()}
            finally:
                cluster.stop()
    worst = max(v["max"] for v in figures["chart_seconds"].values())
    figures["chart_within_1s"] = worst <= 1.0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    arguments = parser.parse_args()
    started = time.perf_counter()
    figures = asyncio.run(
        run(arguments.customers, arguments.reps, arguments.rounds, not arguments.no_postgres)
    )
    figures["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
