"""Customer search latency: ``SqlCustomerSearch.search`` in process, on SQLite at 100,000
customers and on PostgreSQL at 1,000,000 (targets: p95 ≤ 20 ms and ≤ 50 ms).

The data: Chinese company names (city + 2-character brand + industry + legal form, e.g.
深圳华信科技有限公司), English ones (Blue River Foods Ltd.), 1-3 contacts each with Chinese
or English names and phones, a few tags, owners spread over 500 reps in 50 teams; fixed seed.
The queries: a mix of what reps type (2-character fragments, 4-character names, initials,
pinyin, phone tails of 4 and 8 digits, codes, Chinese and English typos, English words, contact
names), each run as an admin and as a rep, one fresh session per query as in the bot. Prints
one JSON line at the end; progress goes to stderr.

    .venv/bin/python bench/search.py [--sqlite-customers 100000] [--postgres-customers 1000000]
                                     [--queries 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from crm.access import Visibility  # noqa: E402
from crm.members import Role  # noqa: E402
from crm.text import (  # noqa: E402
    NameKeys,
    compact_key,
    name_keys,
    normalize_phone,
    normalize_text,
    person_pinyins,
    phone_tail_key,
    search_document,
)
from storage import migrate  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    ContactRow,
    CustomerRow,
    CustomerTagRow,
    MemberRow,
    TagRow,
    TeamRow,
)
from storage.search import SqlCustomerSearch  # noqa: E402
from tests.support import machine  # noqa: E402


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SEED = 20261126
TEAMS = 50
REPS_PER_TEAM = 10
CHUNK = 20_000
NOW = datetime(2026, 11, 26, tzinfo=UTC)

CITIES = _words(
    "北京 上海 深圳 广州 杭州 南京 成都 重庆 长沙 武汉 西安 苏州 天津 青岛 厦门 宁波 "
    "郑州 济南 合肥 福州 昆明 大连 沈阳 哈尔滨 长春 石家庄 太原 南昌 南宁 贵阳 兰州 "
    "无锡 佛山 东莞 珠海 温州 常州 徐州 烟台 中山"
)
BRAND_CHARACTERS = (
    "华信联通达科创鑫瑞恒泰盛宏远博永安和兴隆金银汇丰嘉佳凯新德海天龙飞星光明阳东方中正伟立诚"
    "益美康宝福祥顺源润腾荣成富民大百万千亿云峰山川江河湖林森鼎晟昌裕豪卓越启航睿智慧通宇宙"
    "辰锦绣华彩如意吉利祥和众志凌云翔鹏程广厦品优尚"
)
INDUSTRIES = _words(
    "科技 物流 贸易 实业 电子 机械 建设 医药 食品 餐饮 网络 信息技术 传媒 文化 教育 "
    "咨询 环保 新能源 化工 服装 家具 装饰 汽车 物业 投资 农业 生物 软件 通信 建材"
)
LEGAL_FORMS = (
    ("有限公司", 60),
    ("集团", 8),
    ("股份有限公司", 10),
    ("有限责任公司", 7),
    ("集团有限公司", 5),
    ("", 10),
)
EN_FIRST = _words(
    "Acme Blue Golden Silver Red Green Northern Pacific Atlantic Summit Pioneer "
    "Eastern Royal Bright Swift Global United Prime Apex Crystal Evergreen Harbor "
    "Lotus Maple Oak Phoenix"
)
EN_SECOND = _words(
    "River Gate Oak Rock Valley Star Bridge Peak Stone Field Lake Harbor Point Ridge "
    "Wave Forest Hill Bay Coast Sun"
)
EN_INDUSTRY = _words(
    "Trading Foods Logistics Technologies Electronics Consulting Solutions Industries "
    "Pharma Textiles Imports Machinery Software Media"
)
EN_LEGAL = ("Co., Ltd.", "Ltd.", "Inc.", "LLC", "Co.", "")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史单"
)
GIVEN_CHARACTERS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅鹏飞宇浩然欣怡婷雪琳"
)
EN_PEOPLE_FIRST = _words("John Mary James Linda Robert Susan David Karen Michael Emma Daniel Grace")
EN_PEOPLE_LAST = _words("Smith Chen Johnson Lee Brown Wang Miller Davis Wilson Taylor Moore Clark")
TAGS = _words(
    "VIP 重点客户 老客户 新客户 展会 转介绍 官网 高意向 待跟进 华东 华南 华北 西南 "
    "大客户 渠道 代理商 政府 国企 外资 上市公司 复购 流失风险 样品 报价中"
)


@dataclass
class Customer:
    code: str
    name: str
    keys: NameKeys
    core_keys: NameKeys  # without the legal form, as in the search document
    owner_id: int
    updated_at: datetime
    contacts: list[tuple[str, str]]
    tags: list[str]
    core: str  # brand (Chinese) or first word (English), for queries
    industry: str
    english: bool


@dataclass
class Dataset:
    customers: list[Customer] = field(default_factory=list)


@cache
def part_keys(part: str) -> NameKeys:
    return name_keys(part)


def joined_keys(parts: list[str]) -> NameKeys:
    """Name keys of a name from its parts' cached keys (pypinyin once per part, not per name)."""
    keys = [part_keys(part) for part in parts if part]
    return NameKeys(
        key="".join(k.key for k in keys),
        pinyin="".join(k.pinyin for k in keys),
        initials="".join(k.initials for k in keys),
    )


@cache
def person_parts(name: str) -> list[str]:
    parts = [normalize_text(name)]
    for keys in person_pinyins(name):
        parts += [keys.key, keys.pinyin, keys.initials]
    return parts


def fast_document(customer: Customer) -> str:
    """``crm.text.search_document`` with the pinyin work cached by part (checked on a sample)."""
    parts = [
        normalize_text(customer.name),
        customer.keys.key,
        customer.core_keys.pinyin,
        customer.core_keys.initials,
        normalize_text(customer.code),
    ]
    for contact_name, phone in customer.contacts:
        parts += person_parts(contact_name)
        normalized = normalize_phone(phone)
        if normalized is not None:
            parts.append("".join(char for char in normalized if char.isdigit()))
    parts += [normalize_text(tag) for tag in customer.tags]
    return " ".join(dict.fromkeys(part for part in parts if part))


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.random = random.Random(seed)
        brand = random.Random(seed + 1)
        cores = {
            brand.choice(BRAND_CHARACTERS) + brand.choice(BRAND_CHARACTERS) for _ in range(4000)
        }
        self.cores = sorted(core for core in cores if core[0] != core[1])[:3000]
        self.given = sorted(
            {brand.choice(GIVEN_CHARACTERS) for _ in range(40)}
            | {brand.choice(GIVEN_CHARACTERS) + brand.choice(GIVEN_CHARACTERS) for _ in range(400)}
        )
        self.legal_forms = [form for form, weight in LEGAL_FORMS for _ in range(weight)]
        self.phones: set[str] = set()

    def customers(self, count: int, reps: list[int]) -> Iterator[Customer]:
        pick = self.random
        for number in range(1, count + 1):
            english = pick.random() < 0.2
            if english:
                first, second = pick.choice(EN_FIRST), pick.choice(EN_SECOND)
                industry, legal = pick.choice(EN_INDUSTRY), pick.choice(EN_LEGAL)
                name = " ".join(part for part in (first, second, industry, legal) if part)
                keys = joined_keys(name.split(" "))
                core_keys = joined_keys([first, second, industry])
                core = second
            else:
                city = pick.choice(CITIES) if pick.random() < 0.7 else ""
                core = pick.choice(self.cores)
                industry, legal = pick.choice(INDUSTRIES), pick.choice(self.legal_forms)
                name = city + core + industry + legal
                keys = joined_keys([city, core, industry, legal])
                core_keys = joined_keys([city, core, industry])
            contacts = [
                (self.person(english), self.phone(english))
                for _ in range(pick.choice((1, 1, 2, 3)))
            ]
            tags = pick.sample(TAGS, pick.choice((0, 1, 1, 2, 3)))
            yield Customer(
                code=f"CRM{number:04d}",
                name=name,
                keys=keys,
                core_keys=core_keys,
                owner_id=pick.choice(reps),
                updated_at=NOW - timedelta(seconds=pick.randrange(2 * 365 * 86400)),
                contacts=contacts,
                tags=tags,
                core=core,
                industry=industry,
                english=english,
            )

    def person(self, english: bool) -> str:
        pick = self.random
        if english or pick.random() < 0.05:
            return f"{pick.choice(EN_PEOPLE_FIRST)} {pick.choice(EN_PEOPLE_LAST)}"
        return pick.choice(SURNAMES) + pick.choice(self.given)

    def phone(self, english: bool) -> str:
        pick = self.random
        while True:
            if english:
                area, exchange = pick.randrange(200, 999), pick.randrange(200, 999)
                phone = f"+1 {area} {exchange} {pick.randrange(10000):04d}"
            elif pick.random() < 0.1:
                phone = f"0{pick.randrange(10, 99)}-{pick.randrange(10**7, 10**8)}"
            else:
                phone = f"1{pick.choice('3456789')}{pick.randrange(10**9):09d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone


# --- loading --------------------------------------------------------------------------------


async def add_members(engine: AsyncEngine) -> tuple[dict[str, Visibility], list[int]]:
    """An admin, 50 teams of one manager and 10 reps."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(TeamRow), [{"name": f"团队{n}", "created_at": NOW} for n in range(TEAMS)]
        )
        teams = list((await connection.execute(text("SELECT id FROM teams ORDER BY id"))).scalars())
        members: list[dict[str, Any]] = [_member(1, Role.ADMIN, None)]
        for index, team in enumerate(teams):
            members.append(_member(1000 + index, Role.MANAGER, team))
            members += [
                _member(10_000 + index * 100 + rep, Role.REP, team) for rep in range(REPS_PER_TEAM)
            ]
        await connection.execute(insert(MemberRow), members)
        rows = (await connection.execute(text("SELECT id, role, team_id FROM members"))).all()
    reps = [row.id for row in rows if row.role == Role.REP.value]
    manager = next(row for row in rows if row.role == Role.MANAGER.value)
    admin = next(row for row in rows if row.role == Role.ADMIN.value)
    return {
        "admin": Visibility(admin.id, Role.ADMIN, None),
        "manager": Visibility(manager.id, Role.MANAGER, manager.team_id),
        "rep": Visibility(reps[0], Role.REP, next(r.team_id for r in rows if r.id == reps[0])),
    }, reps


def _member(telegram_id: int, role: Role, team_id: int | None) -> dict[str, Any]:
    return {
        "telegram_id": telegram_id,
        "name": f"成员{telegram_id}",
        "role": role,
        "team_id": team_id,
        "created_at": NOW,
        "updated_at": NOW,
    }


def customer_record(number: int, customer: Customer) -> dict[str, Any]:
    return {
        "id": number,
        "code": customer.code,
        "name": customer.name,
        "name_key": customer.keys.key,
        "name_pinyin": customer.keys.pinyin,
        "name_initials": customer.keys.initials,
        "search_text": fast_document(customer),
        "stage": "potential",
        "owner_id": customer.owner_id,
        "custom_fields": {},
        "created_at": customer.updated_at,
        "updated_at": customer.updated_at,
        "stage_changed_at": customer.updated_at,
    }


def contact_records(number: int, customer: Customer) -> Iterator[dict[str, Any]]:
    for contact_name, raw in customer.contacts:
        phone = normalize_phone(raw)
        yield {
            "customer_id": number,
            "name": contact_name,
            "phone": phone,
            "phone_reversed": phone_tail_key(phone) if phone else None,
            "is_primary": False,
            "created_at": customer.updated_at,
        }


def check_documents(customers: list[Customer]) -> float:
    """Share of a sample whose cached-part document equals the real ``search_document``."""
    sample = random.Random(SEED).sample(customers, min(300, len(customers)))
    same = sum(
        fast_document(c) == search_document(c.name, c.code, c.contacts, c.tags) for c in sample
    )
    return same / len(sample)


async def load_sqlite(
    engine: AsyncEngine, customers: list[Customer], tag_ids: dict[str, int]
) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(customers), CHUNK):
            chunk = list(enumerate(customers[start : start + CHUNK], start=start + 1))
            await connection.execute(insert(CustomerRow), [customer_record(n, c) for n, c in chunk])
            await connection.execute(
                insert(ContactRow), [r for n, c in chunk for r in contact_records(n, c)]
            )
            tags = [_tag_record(n, tag_ids[t], c) for n, c in chunk for t in c.tags]
            if tags:
                await connection.execute(insert(CustomerTagRow), tags)
            progress(f"  sqlite: {start + len(chunk):,} customers")


def _tag_record(number: int, tag_id: int, customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": number,
        "tag_id": tag_id,
        "source": "manual",
        "automatic": False,
        "added_at": customer.updated_at,
    }


async def add_tags(engine: AsyncEngine) -> dict[str, int]:
    async with engine.begin() as connection:
        await connection.execute(insert(TagRow), [{"name": t, "created_at": NOW} for t in TAGS])
        rows = (await connection.execute(text("SELECT id, name FROM tags"))).all()
    return {row.name: row.id for row in rows}


async def load_postgresql(
    cluster: Any, database: str, customers: list[Customer], tag_ids: dict[str, int]
) -> None:
    """COPY through asyncpg with the secondary indexes dropped, then rebuild them and ANALYZE."""
    import asyncpg

    connection = await asyncpg.connect(
        user=cluster.user, host="127.0.0.1", port=cluster.port, database=database
    )
    try:
        await connection.execute("SET maintenance_work_mem = '512MB'")
        indexes = await connection.fetch(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public'
              AND i.tablename IN ('customers', 'contacts', 'customer_tags')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        await connection.execute("SET session_replication_role = replica")  # no FK triggers
        customer_columns = list(customer_record(1, customers[0]).keys())
        contact_columns = list(next(contact_records(1, customers[0])).keys())
        tag_columns = list(_tag_record(1, 1, customers[0]).keys())
        for start in range(0, len(customers), CHUNK * 5):
            chunk = list(enumerate(customers[start : start + CHUNK * 5], start=start + 1))
            rows = [customer_record(n, c) for n, c in chunk]
            for row in rows:
                row["custom_fields"] = "{}"
            await connection.copy_records_to_table(
                "customers",
                records=[tuple(row.values()) for row in rows],
                columns=customer_columns,
            )
            await connection.copy_records_to_table(
                "contacts",
                records=[tuple(r.values()) for n, c in chunk for r in contact_records(n, c)],
                columns=contact_columns,
            )
            await connection.copy_records_to_table(
                "customer_tags",
                records=[
                    tuple(_tag_record(n, tag_ids[t], c).values()) for n, c in chunk for t in c.tags
                ],
                columns=tag_columns,
            )
            progress(f"  postgresql: {start + len(chunk):,} customers copied")
        await connection.execute("SET session_replication_role = origin")
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('customers', 'id'), "
            "(SELECT max(id) FROM customers))"
        )
        for index in indexes:
            started = time.perf_counter()
            await connection.execute(index["indexdef"])
            progress(f"  postgresql: {index['indexname']} in {time.perf_counter() - started:.0f} s")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# --- queries --------------------------------------------------------------------------------

KINDS = (
    "cn_2_chars",
    "cn_4_chars",
    "initials",
    "pinyin",
    "phone_tail_4",
    "phone_tail_8",
    "code",
    "typo_cn",
    "typo_en",
    "en_word",
    "contact_name",
)


@dataclass(frozen=True)
class Probe:
    kind: str
    query: str
    target: str  # the code of the customer the query was made from
    intended: str = ""  # what a typo query meant

    def relevant(self, customer: Customer) -> bool:
        """Whether a hit is a customer the query describes (for typos: what it meant)."""
        if self.kind == "code":
            return customer.code.casefold() == self.query.casefold()
        if self.kind.startswith("phone"):
            return any(
                (normalize_phone(phone) or "").endswith(self.query)
                for _, phone in customer.contacts
            )
        if self.kind == "contact_name":
            return any(name == self.query for name, _ in customer.contacts)
        wanted = compact_key(self.intended or self.query)
        keys = customer.keys
        return wanted in keys.key or wanted in keys.pinyin or wanted in keys.initials


def make_queries(customers: list[Customer], count: int, generator: Generator) -> list[Probe]:
    pick = random.Random(SEED + 2)
    chinese = [c for c in customers if not c.english]
    english = [c for c in customers if c.english]
    probes: list[Probe] = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        customer = pick.choice(english if kind in ("typo_en", "en_word") else chinese)
        core_keys = joined_keys([customer.core, customer.industry])
        intended = ""
        if kind == "cn_2_chars":
            query = customer.core
        elif kind == "cn_4_chars":
            query = customer.core + customer.industry[:2]
        elif kind == "initials":
            query = core_keys.initials
        elif kind == "pinyin":
            query = core_keys.pinyin if number % 2 else part_keys(customer.core).pinyin
        elif kind in ("phone_tail_4", "phone_tail_8"):
            digits = phone_tail_key(normalize_phone(pick.choice(customer.contacts)[1]) or "")[::-1]
            query = digits[-4:] if kind == "phone_tail_4" else digits[-8:]
        elif kind == "code":
            query = customer.code if number % 2 else customer.code.lower()
        elif kind == "typo_cn":
            word = customer.core + customer.industry[:2]
            position = pick.randrange(len(word))
            replacement = pick.choice([ch for ch in BRAND_CHARACTERS if ch != word[position]])
            query = word[:position] + replacement + word[position + 1 :]
            intended = word
        elif kind == "typo_en":
            intended = f"{customer.name.split(' ')[0]} {customer.core}"
            query = _english_typo(intended, pick)
        elif kind == "en_word":
            query = customer.core.lower() if number % 2 else customer.name.split(" ")[0]
        else:
            query = pick.choice(customer.contacts)[0]
        probes.append(Probe(kind, query, customer.code, intended))
    return probes


def _english_typo(words: str, pick: random.Random) -> str:
    position = pick.randrange(1, len(words) - 1)
    if words[position] == " ":
        position -= 1
    edit = pick.choice(("substitute", "drop", "swap"))
    if edit == "substitute":
        letter = pick.choice(
            [c for c in "abcdefghijklmnopqrstuvwxyz" if c != words[position].lower()]
        )
        return words[:position] + letter + words[position + 1 :]
    if edit == "drop":
        return words[:position] + words[position + 1 :]
    return words[:position] + words[position + 1] + words[position] + words[position + 2 :]


async def measure(
    engine: AsyncEngine,
    probes: list[Probe],
    visibilities: dict[str, Visibility],
    customers: dict[str, Customer],
) -> dict[str, Any]:
    """Latency of each probe as an admin and as a rep; for the admin, whether the first hit is
    relevant (see ``Probe.relevant``) and whether anything was found."""
    sessions = session_factory(engine)
    for probe in probes[:30]:  # warm-up: connections, statement caches, page cache
        async with sessions() as session:
            await SqlCustomerSearch(session).search(probe.query, visibilities["admin"])
    timings: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    relevant: dict[str, list[bool]] = defaultdict(list)
    empty: dict[str, int] = defaultdict(int)
    begins: list[float] = []
    for probe in probes:
        for who in ("admin", "rep"):
            async with sessions() as session:
                # In the bot the unit of work's transaction is open already: time it apart.
                started = time.perf_counter()
                await session.connection()
                begins.append((time.perf_counter() - started) * 1000)
                search = SqlCustomerSearch(session)
                started = time.perf_counter()
                hits = await search.search(probe.query, visibilities[who])
                elapsed = (time.perf_counter() - started) * 1000
            timings[who].append(elapsed)
            by_kind[probe.kind].append(elapsed)
            if who == "admin":
                relevant[probe.kind].append(bool(hits) and probe.relevant(customers[hits[0].code]))
                empty[probe.kind] += not hits
    result: dict[str, Any] = {who: summary(values) for who, values in timings.items()}
    result["all"] = summary([value for values in timings.values() for value in values])
    result["transaction_begin_ms_p50"] = round(statistics.median(begins), 2)
    result["by_kind"] = {
        kind: {
            **summary(values),
            "first_hit_relevant": round(sum(relevant[kind]) / len(relevant[kind]), 2),
            "empty": empty[kind],
        }
        for kind, values in by_kind.items()
    }
    return result


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max": round(ordered[-1], 2),
    }


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the runs -------------------------------------------------------------------------------


async def prepare(
    engine: AsyncEngine, count: int, label: str
) -> tuple[Any, Any, Generator, list[Any]]:
    """Migrate, add the members and tags, and generate the customers (not yet loaded)."""
    await migrate.upgrade(engine)
    visibilities, reps = await add_members(engine)
    tag_ids = await add_tags(engine)
    generator = Generator()
    started = time.perf_counter()
    customers = list(generator.customers(count, reps))
    progress(f"{label}: {count:,} customers generated in {time.perf_counter() - started:.0f} s")
    return visibilities, tag_ids, generator, customers


async def run_sqlite(count: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        try:
            visibilities, tag_ids, generator, customers = await prepare(engine, count, "sqlite")
            agreement = check_documents(customers)
            started = time.perf_counter()
            await load_sqlite(engine, customers, tag_ids)
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
            loaded = time.perf_counter() - started
            progress(f"sqlite: loaded in {loaded:.0f} s; measuring")
            probes = make_queries(customers, queries, generator)
            figures = await measure(engine, probes, visibilities, {c.code: c for c in customers})
            figures.update(
                customers=count,
                load_seconds=round(loaded, 1),
                document_agreement=agreement,
                database_mb=round(os.stat(f"{folder}/bench.db").st_size / 2**20),
            )
            return figures
        finally:
            await engine.dispose()


async def run_postgresql(count: int, queries: int) -> dict[str, Any]:
    from tests.support.postgres import ThrowawayCluster, find_binaries

    if find_binaries() is None:
        return {"skipped": "no PostgreSQL binaries on this machine"}
    cluster = ThrowawayCluster.start()
    try:
        await _admin(cluster, "CREATE DATABASE bench")
        engine = create_engine(cluster.url("bench"))
        try:
            visibilities, tag_ids, generator, customers = await prepare(engine, count, "postgresql")
            started = time.perf_counter()
            await load_postgresql(cluster, "bench", customers, tag_ids)
            loaded = time.perf_counter() - started
            progress(f"postgresql: loaded in {loaded:.0f} s; measuring")
            await engine.dispose()  # connections opened before the load have stale plans
            engine = create_engine(cluster.url("bench"))
            probes = make_queries(customers, queries, generator)
            figures = await measure(engine, probes, visibilities, {c.code: c for c in customers})
            async with engine.connect() as connection:
                version = (await connection.execute(text("SHOW server_version"))).scalar()
                buffers = (await connection.execute(text("SHOW shared_buffers"))).scalar()
                size = (await connection.execute(text("SELECT pg_database_size('bench')"))).scalar()
            figures.update(
                customers=count,
                load_seconds=round(loaded, 1),
                server=f"PostgreSQL {version}, shared_buffers {buffers}",
                database_mb=round(int(size or 0) / 2**20),
            )
            return figures
        finally:
            await engine.dispose()
    finally:
        cluster.stop()


async def _admin(cluster: Any, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        user=cluster.user, host="127.0.0.1", port=cluster.port, database="postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "search", "queries": arguments.queries}
    if arguments.sqlite_customers > 0:
        figures["sqlite"] = await run_sqlite(arguments.sqlite_customers, arguments.queries)
        figures["sqlite"]["sqlite_version"] = sqlite3.sqlite_version
    if arguments.postgres_customers > 0:
        figures["postgresql"] = await run_postgresql(
            arguments.postgres_customers, arguments.queries
        )
    figures["targets_ms_p95"] = {"sqlite": 20, "postgresql": 50}
    figures["machine"] = machine.description()
    figures["speed_ms"] = machine.speed_ms()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-customers", type=int, default=100_000)
    parser.add_argument("--postgres-customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    arguments = parser.parse_args()
    figures = asyncio.run(main_async(arguments))
    for backend in ("sqlite", "postgresql"):
        result = figures.get(backend)
        if result and "admin" in result:
            for who in ("admin", "rep"):
                line = result[who]
                progress(
                    f"{backend:>10} {result['customers']:>9,} {who:>5}: p50 {line['p50']:6.2f} ms"
                    f"  p95 {line['p95']:6.2f} ms  max {line['max']:7.2f} ms"
                )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
