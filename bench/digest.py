"""Daily digests at scale: 50 managers (10 reps each), 500 reps and an admin, 200,000 customers,
2,000,000 follow-ups (a year of them), 200,000 tasks, 200,000 stage changes and 20,000 deals,
on SQLite and on a throwaway PostgreSQL. Measures the real push path — the scheduler's
``dispatch_due`` loop (members due → SQL aggregates → digests and morning agendas into the
outbox, one transaction per batch) — for every member at 08:30, plus one manager's and the
admin's ``/digest now`` and the chart rendering done at send time. Seeds with INSERT … SELECT
over a generated series (recursive CTE on SQLite, ``generate_series`` on PostgreSQL), not
per-row domain calls. Ends with one JSON line.

    .venv/bin/python bench/digest.py [--customers 200000] [--follow-ups 2000000]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.i18n import Catalogue  # noqa: E402
from bot.runtime import Kehu  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.clock import FakeClock  # noqa: E402
from crm.text import name_keys  # noqa: E402
from scheduler.outbox import chart_png  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.models import OutboxRow  # noqa: E402
from tests.support import machine  # noqa: E402

NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # Thursday 08:30 in Shanghai
MANAGERS, REPS_PER_TEAM = 50, 10
REPS = MANAGERS * REPS_PER_TEAM
FIRST_REP = 2 + MANAGERS  # member ids: 1 admin, 2..51 managers, 52..551 reps
YEAR = 365 * 86_400
TARGET_SECONDS = 5.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Dialect:
    """The few SQL spellings that differ between the two backends."""

    def __init__(self, name: str) -> None:
        self.name = name

    def series(self, count: int) -> str:
        if self.name == "sqlite":
            return (
                f"WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g "
                f"WHERE i < {count - 1}) "
            )
        return ""

    def source(self, count: int) -> str:
        return (
            "g"
            if self.name == "sqlite"
            else f"generate_series(CAST(0 AS BIGINT), {count - 1}) AS g(i)"
        )

    def moment(self, seconds_after_now: str) -> str:
        """NOW plus an SQL expression of seconds, in the column format of each backend."""
        base = NOW.strftime("%Y-%m-%d %H:%M:%S")
        if self.name == "sqlite":
            return (
                f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', "
                f"({seconds_after_now}) || ' seconds') || '.000000')"
            )
        return f"(TIMESTAMPTZ '{base}+00' + ({seconds_after_now}) * INTERVAL '1 second')"

    def day(self, seconds_after_now: str) -> str:
        if self.name == "sqlite":
            return f"date({self.moment(seconds_after_now)})"
        return f"CAST({self.moment(seconds_after_now)} AS DATE)"

    def json_empty(self) -> str:
        return "'{}'" if self.name == "sqlite" else "CAST('{}' AS JSON)"

    def insert(self, table: str, columns: str, select: str, count: int) -> str:
        return (
            f"{self.series(count)}INSERT INTO {table} ({columns}) "
            f"SELECT {select} FROM {self.source(count)}"
        )


async def seed(engine: AsyncEngine, customers: int, follow_ups: int) -> dict[str, int]:
    sql = Dialect(engine.dialect.name)
    long_ago = sql.moment(str(-400 * 86_400))
    stage = (
        "CASE WHEN i % 10 < 4 THEN 'potential' WHEN i % 10 < 7 THEN 'intent' "
        "WHEN i % 10 < 9 THEN 'deal' ELSE 'lost' END"
    )
    deals = customers // 10
    statements = [
        sql.insert(
            "teams", "id, name, created_at", f"i + 1, '团队' || (i + 1), {long_ago}", MANAGERS
        ),
        sql.insert(
            "members",
            "id, telegram_id, name, role, team_id, language, active, reachable, digest_enabled,"
            " created_at, updated_at",
            f"i + 1, 500000 + i, CASE WHEN i = 0 THEN '管理员' WHEN i <= {MANAGERS} "
            f"THEN '经理' || i ELSE '销售' || i END, CASE WHEN i = 0 THEN 'admin' "
            f"WHEN i <= {MANAGERS} THEN 'manager' ELSE 'rep' END, CASE WHEN i = 0 THEN NULL "
            f"WHEN i <= {MANAGERS} THEN i ELSE (i - {FIRST_REP - 1}) / {REPS_PER_TEAM} + 1 END,"
            f" 'zh', TRUE, TRUE, TRUE, {long_ago}, {long_ago}",
            1 + MANAGERS + REPS,
        ),
        sql.insert(
            "customers",
            "id, code, name, name_key, name_pinyin, name_initials, search_text, stage, owner_id,"
            " custom_fields, created_at, updated_at, stage_changed_at, last_followup_at",
            f"i + 1, 'B' || (i + 1), '客户' || i, '客户' || i, 'kehu' || i, 'kh', '客户' || i,"
            f" {stage}, {FIRST_REP} + i % {REPS}, {sql.json_empty()},"
            f" {sql.moment(f'-{YEAR} + (i * 7919) % {YEAR}')},"
            f" {sql.moment(f'-{YEAR} + (i * 7919) % {YEAR}')},"
            f" {sql.moment(f'-{YEAR} + (i * 7919) % {YEAR}')},"
            f" CASE WHEN i % 3 = 0 THEN NULL ELSE {sql.moment('-((i * 104729) % 3456000)')} END",
            customers,
        ),
        sql.insert(
            "follow_ups",
            "customer_id, author_id, happened_at, method, summary, created_at",
            f"i % {customers} + 1, {FIRST_REP} + (i % {customers}) % {REPS},"
            f" {sql.moment(f'-{YEAR} + (i * 7907) % ({YEAR} - 60)')}, 'phone', '电话沟通',"
            f" {sql.moment(f'-{YEAR} + (i * 7907) % ({YEAR} - 60)')}",
            follow_ups,
        ),
        sql.insert(
            "tasks",
            "customer_id, assignee_id, due_at, state, remind_at, completed_at, created_at,"
            " updated_at",
            f"i + 1, {FIRST_REP} + i % {REPS}, {sql.moment('(i * 7919) % 5184000 - 2592000')},"
            f" CASE WHEN i % 4 = 0 THEN 'done' ELSE 'open' END,"
            f" {sql.moment('(i * 7919) % 5184000 - 2592000')},"
            f" CASE WHEN i % 4 = 0 THEN {sql.moment('-((i * 7919) % 2592000)')} END,"
            f" {long_ago}, {long_ago}",
            customers,
        ),
        sql.insert(
            "stage_changes",
            "customer_id, from_stage, to_stage, changed_by, changed_at",
            f"i + 1, 'potential', {stage}, {FIRST_REP} + i % {REPS},"
            f" {sql.moment('-((i * 7919) % 7776000)')}",
            customers,
        ),
        sql.insert(
            "deals",
            "customer_id, amount, deal_date, product, created_by, created_at",
            f"i * 10 + 8, 1000 + (i % 97) * 100, {sql.day(f'-((i * 7919) % {YEAR})')}, '软件',"
            f" {FIRST_REP} + (i * 10 + 7) % {REPS}, {long_ago}",
            deals,
        ),
    ]
    async with engine.begin() as connection:
        for statement in statements:
            started = time.perf_counter()
            await connection.execute(text(statement))
            table = statement.split("INSERT INTO ")[1].split(" ")[0]
            progress(f"  {table}: {time.perf_counter() - started:.1f} s")
        if sql.name == "postgresql":
            for table in ("teams", "members", "customers", "follow_ups", "tasks", "deals"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return {
        "managers": MANAGERS,
        "reps": REPS,
        "admins": 1,
        "customers": customers,
        "follow_ups": follow_ups,
        "tasks": customers,
        "stage_changes": customers,
        "deals": deals,
    }


async def push_all(kehu: Kehu) -> tuple[float, int, int]:
    """The scheduler's loop (``scheduler.jobs.dispatch_digests`` without waking the sender)."""
    started = time.perf_counter()
    members = batches = 0
    while True:
        async with kehu.unit_of_work() as uow:
            queued = await kehu.services(uow).digests.dispatch_due()
            await uow.commit()
        if queued == 0:
            break
        members += queued
        batches += 1
    return time.perf_counter() - started, members, batches


async def on_demand(kehu: Kehu, member_id: int, rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        async with kehu.unit_of_work() as uow:
            member = await uow.members.by_id(member_id)
            assert member is not None
            started = time.perf_counter()
            await kehu.services(uow).digests.now(member)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


async def measure(url: str, customers: int, follow_ups: int) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        started = time.perf_counter()
        sizes = await seed(engine, customers, follow_ups)
        seeded = time.perf_counter() - started
        progress(f"  seeded in {seeded:.0f} s; pushing digests")
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        kehu = Kehu(
            settings=settings,
            clock=FakeClock(NOW),
            catalogue=Catalogue.load(),
            engine=engine,
            sessions=session_factory(engine),
        )
        await asyncio.to_thread(name_keys, "预热")  # pypinyin's dictionaries, as at start-up
        first, members, batches = await push_all(kehu)
        again, nothing, _ = await push_all(kehu)  # everything is queued: finds nothing to do
        async with kehu.unit_of_work() as uow:
            keys = list(await uow.session.scalars(select(OutboxRow.idempotency_key)))
            payloads = list(
                await uow.session.scalars(
                    select(OutboxRow.payload).where(OutboxRow.idempotency_key.like("%:chart"))
                )
            )
            await uow.session.execute(OutboxRow.__table__.delete())
            await uow.commit()
        repeat, _, _ = await push_all(kehu)  # warm caches, same work again
        charts = len([key for key in keys if key.endswith(":chart")])
        chart_ms = None
        if payloads:
            from crm.outbox import Chart

            chart = Chart.from_json(payloads[0]["chart"])
            chart_png(kehu.catalogue, "zh", chart)  # import and font set-up
            started = time.perf_counter()
            chart_png(kehu.catalogue, "zh", chart)
            chart_ms = round((time.perf_counter() - started) * 1000)
        figures = {
            **sizes,
            "seed_seconds": round(seeded, 1),
            "all_digests_seconds": round(first, 2),
            "all_digests_repeat_seconds": round(repeat, 2),
            "digests_queued": members,
            "charts_queued": charts,
            "transactions": batches,
            "second_run_found": nothing,
            "second_run_seconds": round(again, 2),
            "duplicate_keys": len(keys) - len(set(keys)),
            "manager_now_ms": round(await on_demand(kehu, 2), 1),
            "admin_now_ms": round(await on_demand(kehu, 1), 1),
            "rep_now_ms": round(await on_demand(kehu, FIRST_REP), 1),
            "chart_render_ms": chart_ms,
            "within_target": first <= TARGET_SECONDS,
        }
        progress(
            f"  all {members} digests in {first:.2f} s (repeat {repeat:.2f} s); "
            f"manager /digest now {figures['manager_now_ms']} ms"
        )
        return figures
    finally:
        await engine.dispose()


async def run_sqlite(customers: int, follow_ups: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        progress("sqlite: seeding ...")
        figures = await measure(f"sqlite+aiosqlite:///{folder}/digest.db", customers, follow_ups)
        figures["database_mb"] = round(os.stat(f"{folder}/digest.db").st_size / 2**20)
        figures["sqlite_version"] = sqlite3.sqlite_version
        return figures


async def run_postgresql(customers: int, follow_ups: int) -> dict[str, Any]:
    from tests.support.postgres import throwaway_database

    async with throwaway_database() as url:
        if url is None:
            return {"skipped": "no PostgreSQL binaries on this machine"}
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                version = (await connection.execute(text("SHOW server_version"))).scalar()
        finally:
            await engine.dispose()
        progress("postgresql: seeding ...")
        figures = await measure(url, customers, follow_ups)
        figures["server"] = f"PostgreSQL {version}"
        return figures


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "digest", "target_seconds": TARGET_SECONDS}
    backends = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    if "sqlite" in backends:
        figures["sqlite"] = await run_sqlite(arguments.customers, arguments.follow_ups)
    if "postgresql" in backends:
        figures["postgresql"] = await run_postgresql(arguments.customers, arguments.follow_ups)
    figures["machine"] = machine.description()
    figures["speed_ms"] = machine.speed_ms()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--follow-ups", type=int, default=2_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    arguments = parser.parse_args()
    figures = asyncio.run(main_async(arguments))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
