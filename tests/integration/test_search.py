"""The customer search on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm): every kind of query,
ranking, paging, scoping, hostile input, and the index following writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import storage.search
from crm.access import Visibility
from crm.customers import Stage, TagSource
from crm.members import Role
from crm.text import name_keys, normalize_phone, phone_tail_key, search_document
from storage.db import session_factory
from storage.models import (
    ContactRow,
    CustomerRow,
    CustomerTagRow,
    MemberRow,
    TagRow,
    TeamRow,
)
from storage.search import SearchHit, SqlCustomerSearch

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Org:
    admin: Visibility
    manager_east: Visibility
    rep_east: Visibility
    rep_east_2: Visibility
    rep_west: Visibility


@dataclass(frozen=True)
class Spec:
    code: str
    name: str
    owner: str
    contacts: Sequence[tuple[str, str | None]] = ()
    tags: Sequence[str] = ()


# Owners: "me" = manager_east, "e1"/"e2" = reps in the east team, "w" = rep in the west team.
CUSTOMERS = (
    Spec("CRM0001", "深圳华信科技有限公司", "e1", [("王芳", "+86 139-1234-5678")], ["重点客户"]),
    Spec("CRM0002", "华新物流", "e2", [("李雷", "+86 138 0000 1111")]),
    Spec("CRM0003", "中国科技", "w", [("单田芳", "010-6552 1234")]),
    Spec(
        "CRM0004",
        "Acme Trading Co., Ltd.",
        "e1",
        [("John Smith", "+1 415 555 0100"), ("Mary Chen", None)],
        ["VIP"],
    ),
    Spec("CRM0005", "Blue River Foods Ltd.", "w"),
    Spec("CRM0006", "长沙银行", "me"),
    Spec("CRM0007", "重庆火锅餐饮集团", "e2", tags=["餐饮"]),
    Spec("CRM0008", "华信", "w"),
    Spec("CRM0009", "CRM0005 Holdings", "e1"),
    Spec("CRM0010", "华信物联", "e2"),
    Spec("CRM0012", "北京中联物流集团", "me", [("赵敏", "(0086)13700005678")]),
)


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(engine)() as session:
        yield session


async def add_customer(
    session: AsyncSession, spec: Spec, owner_id: int, updated_at: datetime
) -> int:
    keys = name_keys(spec.name)
    row = CustomerRow(
        code=spec.code,
        name=spec.name,
        name_key=keys.key,
        name_pinyin=keys.pinyin,
        name_initials=keys.initials,
        search_text=search_document(spec.name, spec.code, spec.contacts, spec.tags),
        stage=Stage.POTENTIAL,
        owner_id=owner_id,
        custom_fields={},
        created_at=T0,
        updated_at=updated_at,
        stage_changed_at=T0,
    )
    session.add(row)
    await session.flush()
    for contact_name, raw_phone in spec.contacts:
        phone = normalize_phone(raw_phone) if raw_phone else None
        session.add(
            ContactRow(
                customer_id=row.id,
                name=contact_name,
                phone=phone,
                phone_reversed=phone_tail_key(phone) if phone else None,
                created_at=T0,
            )
        )
    for tag in spec.tags:
        tag_id = await session.scalar(select(TagRow.id).where(TagRow.name == tag))
        if tag_id is None:
            tag_row = TagRow(name=tag, created_at=T0)
            session.add(tag_row)
            await session.flush()
            tag_id = tag_row.id
        session.add(
            CustomerTagRow(customer_id=row.id, tag_id=tag_id, source=TagSource.MANUAL, added_at=T0)
        )
    await session.flush()
    return row.id


async def add_member(
    session: AsyncSession, telegram_id: int, role: Role, team_id: int | None
) -> Visibility:
    row = MemberRow(
        telegram_id=telegram_id,
        name=f"m{telegram_id}",
        role=role,
        team_id=team_id,
        created_at=T0,
        updated_at=T0,
    )
    session.add(row)
    await session.flush()
    return Visibility(member_id=row.id, role=role, team_id=team_id)


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    east = TeamRow(name="华东区", created_at=T0)
    west = TeamRow(name="华西区", created_at=T0)
    session.add_all([east, west])
    await session.flush()
    org = Org(
        admin=await add_member(session, 1, Role.ADMIN, None),
        manager_east=await add_member(session, 2, Role.MANAGER, east.id),
        rep_east=await add_member(session, 3, Role.REP, east.id),
        rep_east_2=await add_member(session, 4, Role.REP, east.id),
        rep_west=await add_member(session, 5, Role.REP, west.id),
    )
    owners = {
        "me": org.manager_east.member_id,
        "e1": org.rep_east.member_id,
        "e2": org.rep_east_2.member_id,
        "w": org.rep_west.member_id,
    }
    for number, spec in enumerate(CUSTOMERS):
        await add_customer(session, spec, owners[spec.owner], T0 + timedelta(minutes=number))
    await session.commit()
    return org


async def find(
    session: AsyncSession, query: str, visibility: Visibility, **paging: int
) -> list[SearchHit]:
    return await SqlCustomerSearch(session).search(query, visibility, **paging)


async def codes(
    session: AsyncSession, query: str, visibility: Visibility, *, fuzzy: bool = True
) -> list[str]:
    """Codes found, best first (at most 100); without the typo matches if ``fuzzy`` is False."""
    hits = await find(session, query, visibility, limit=100)
    return [hit.code for hit in hits if fuzzy or hit.matched != "fuzzy"]


# --- each kind of query -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code", "matched"),
    [
        ("华信科技", "CRM0001", "name"),
        ("深圳华信科技有限公司", "CRM0001", "name"),
        ("hxkj", "CRM0001", "initials"),
        ("HXKJ", "CRM0001", "initials"),
        ("huaxinkeji", "CRM0001", "pinyin"),
        ("huaxin", "CRM0008", "pinyin"),
        ("shenzhen", "CRM0001", "pinyin"),
        ("changsha", "CRM0006", "pinyin"),  # 长 read chang here, not zhang
        ("chongqing", "CRM0007", "pinyin"),  # 重 read chong, not zhong
        ("cqhg", "CRM0007", "initials"),
        ("5678", "CRM0012", "phone"),  # both end in 5678: the most recently updated first
        ("1234 5678", "CRM0001", "phone"),
        ("+86 139 1234 5678", "CRM0001", "phone"),
        ("65521234", "CRM0003", "phone"),
        ("4155550100", "CRM0004", "phone"),
        ("CRM0012", "CRM0012", "code"),
        ("crm0012", "CRM0012", "code"),
        ("王芳", "CRM0001", "contact"),
        ("john smith", "CRM0004", "contact"),
        ("smith", "CRM0004", "contact"),
        ("shantianfang", "CRM0003", "contact"),  # the surname reading of 单
        ("重点客户", "CRM0001", "tag"),
        ("vip", "CRM0004", "tag"),
        ("餐饮", "CRM0007", "name"),
        ("acme", "CRM0004", "name"),
        ("ACME trading", "CRM0004", "name"),
        ("trading acme", "CRM0004", "name"),
        ("ａｃｍｅ", "CRM0004", "name"),  # full-width
        ("river foods", "CRM0005", "name"),
    ],
)
async def test_each_kind_of_query_finds_its_customer(
    session: AsyncSession, org: Org, query: str, code: str, matched: str
) -> None:
    hits = await find(session, query, org.admin)
    assert hits, query
    assert (hits[0].code, hits[0].matched) == (code, matched), hits


async def test_a_phone_tail_finds_every_phone_ending_so(session: AsyncSession, org: Org) -> None:
    assert await codes(session, "5678", org.admin) == ["CRM0012", "CRM0001"]
    assert await codes(session, "0000 1111", org.admin) == ["CRM0002"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("华", {"CRM0001", "CRM0002", "CRM0008", "CRM0010"}),
        ("华信", {"CRM0001", "CRM0008", "CRM0010"}),
        ("物流", {"CRM0002", "CRM0012"}),
        ("银", {"CRM0006"}),
        ("at", {"CRM0004"}),  # initials of Acme Trading
    ],
)
async def test_one_and_two_character_queries(
    session: AsyncSession, org: Org, query: str, expected: set[str]
) -> None:
    assert set(await codes(session, query, org.admin, fuzzy=False)) == expected


async def test_typos_are_looked_for_only_when_nothing_matches(
    session: AsyncSession, org: Org
) -> None:
    hits = await find(session, "华新", org.admin)  # 华新物流 matches: no homophones (华信)
    assert [(hit.code, hit.matched) for hit in hits] == [("CRM0002", "name")]
    hits = await find(session, "华新科技", org.admin)  # nothing does: 华信科技 sounds the same
    assert [(hit.code, hit.matched) for hit in hits] == [("CRM0001", "fuzzy")]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("中国科枝", "CRM0003"),  # a wrong character
        ("中固科技", "CRM0003"),  # … second
        ("中国料技", "CRM0003"),  # … third
        ("中国科技术", "CRM0003"),  # one character too many
        ("华新科技", "CRM0001"),  # a homophone (华信 → 华新)
        ("华新科技有限公司", "CRM0001"),  # with the legal form
        ("acne", "CRM0004"),
        ("acme tradnig", "CRM0004"),  # two letters swapped
        ("blue rivr", "CRM0005"),  # a letter left out
        ("huaxinkeij", "CRM0001"),
        ("长沙银航", "CRM0006"),
    ],
)
async def test_one_typo_is_tolerated(
    session: AsyncSession, org: Org, query: str, code: str
) -> None:
    hits = await find(session, query, org.admin)
    assert code in [hit.code for hit in hits], hits
    hit = next(hit for hit in hits if hit.code == code)
    assert hit.matched == "fuzzy"
    assert hit.score < min((h.score for h in hits if h.matched != "fuzzy"), default=100)


async def test_typos_rank_below_direct_matches(session: AsyncSession, org: Org) -> None:
    hits = await find(session, "华新物流", org.admin)
    assert hits[0].code == "CRM0002"
    assert hits[0].matched == "name"


async def test_a_query_that_matches_nothing_finds_nothing(session: AsyncSession, org: Org) -> None:
    assert await find(session, "完全不相干的名字", org.admin) == []
    assert await find(session, "zzzzqqq", org.admin) == []
    assert await SqlCustomerSearch(session).count("zzzzqqq", org.admin) == 0


# --- ranking ----------------------------------------------------------------------------


async def test_exact_code_beats_a_name_containing_it(session: AsyncSession, org: Org) -> None:
    hits = await find(session, "crm0005", org.admin)
    assert [(hit.code, hit.matched) for hit in hits[:2]] == [
        ("CRM0005", "code"),
        ("CRM0009", "name"),
    ]


async def test_exact_name_then_prefix_then_substring(session: AsyncSession, org: Org) -> None:
    hits = await find(session, "华信", org.admin)
    assert [hit.code for hit in hits] == ["CRM0008", "CRM0010", "CRM0001"]
    assert hits[0].score > hits[1].score > hits[2].score


async def test_names_rank_above_contacts_and_tags(session: AsyncSession, org: Org) -> None:
    hits = await find(session, "餐饮", org.admin)
    assert [hit.matched for hit in hits] == ["name"]
    tag_id = await session.scalar(select(TagRow.id).where(TagRow.name == "餐饮"))
    session.add(CustomerTagRow(customer_id=2, tag_id=tag_id, source=TagSource.MANUAL, added_at=T0))
    await session.execute(
        update(CustomerRow)
        .where(CustomerRow.id == 2)
        .values(search_text=CustomerRow.search_text + " 餐饮")
    )
    await session.commit()
    hits = await find(session, "餐饮", org.admin)
    assert [(hit.code, hit.matched) for hit in hits] == [("CRM0007", "name"), ("CRM0002", "tag")]


async def test_ties_go_to_the_most_recently_updated(session: AsyncSession, org: Org) -> None:
    assert await codes(session, "物流", org.admin) == ["CRM0012", "CRM0002"]
    await session.execute(
        update(CustomerRow)
        .where(CustomerRow.code == "CRM0002")
        .values(updated_at=T0 + timedelta(days=1))
    )
    await session.commit()
    assert await codes(session, "物流", org.admin) == ["CRM0002", "CRM0012"]


# --- paging -----------------------------------------------------------------------------


async def test_paging_with_limit_offset_and_count(session: AsyncSession, org: Org) -> None:
    for number in range(20):
        spec = Spec(f"CRM1{number:03d}", f"华信分公司{number}", "e1")
        await add_customer(session, spec, org.rep_east.member_id, T0 + timedelta(hours=number))
    await session.commit()
    search = SqlCustomerSearch(session)
    everything = await search.search("华信", org.admin, limit=100)
    assert await search.count("华信", org.admin) == len(everything) == 23
    pages = [await search.search("华信", org.admin, limit=8, offset=start) for start in (0, 8, 16)]
    assert [len(page) for page in pages] == [8, 8, 7]
    assert [hit for page in pages for hit in page] == everything
    assert await search.search("华信", org.admin, limit=8, offset=23) == []


async def test_count_includes_typo_matches_and_is_capped(
    session: AsyncSession, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = SqlCustomerSearch(session)
    assert await search.count("中国科枝", org.admin) == len(
        await search.search("中国科枝", org.admin, limit=100)
    )
    assert await search.count("acne", org.admin) >= 1
    assert await search.count("crm", org.admin) == len(CUSTOMERS)
    monkeypatch.setattr(storage.search, "COUNT_CAP", 5)
    assert await search.count("crm", org.admin) == 5


async def test_common_short_keys_fall_back_to_names_starting_with_them(
    session: AsyncSession, org: Org, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL serves 1-2 character keys from its gram index")
    monkeypatch.setattr(storage.search, "SHORT_MAX_DOCUMENTS", 1)  # every key "too common"
    assert set(await codes(session, "华", org.admin)) == {"CRM0002", "CRM0008", "CRM0010"}
    assert set(await codes(session, "重庆", org.admin)) == {"CRM0007"}
    assert await codes(session, "王芳", org.admin) == ["CRM0001"]  # contacts: exact name


async def test_postgresql_ranks_a_bounded_number_of_text_matches(
    session: AsyncSession, org: Org, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.search, "WEAK_CAP", 1)
    expected = 1 if backend == "postgresql" else 2
    assert len(await codes(session, "物流", org.admin)) == expected
    assert len(await codes(session, "wuliu", org.admin)) == expected
    hits = await find(session, "crm0005", org.admin)  # the exact code is always there
    assert hits[0].code == "CRM0005"


# --- scoping ----------------------------------------------------------------------------


async def test_each_member_sees_only_what_they_may(session: AsyncSession, org: Org) -> None:
    everything = {spec.code for spec in CUSTOMERS}
    east = {spec.code for spec in CUSTOMERS if spec.owner in ("me", "e1", "e2")}
    own_e1 = {spec.code for spec in CUSTOMERS if spec.owner == "e1"}
    own_w = {spec.code for spec in CUSTOMERS if spec.owner == "w"}
    for query in ("crm", "华信", "5678", "hx", "中国科枝", "acne"):
        for visibility, allowed in (
            (org.admin, everything),
            (org.manager_east, east),
            (org.rep_east, own_e1),
            (org.rep_west, own_w),
        ):
            hits = await codes(session, query, visibility)
            assert set(hits) <= allowed, (query, visibility)
            assert await SqlCustomerSearch(session).count(query, visibility) == len(hits)
    assert set(await codes(session, "crm", org.admin)) == everything
    assert set(await codes(session, "crm", org.manager_east)) == east
    assert await codes(session, "华信", org.rep_west) == ["CRM0008"]
    assert await codes(session, "中国科枝", org.rep_east) == []
    assert await codes(session, "中国科枝", org.rep_west) == ["CRM0003"]


async def test_a_manager_without_a_team_sees_their_own(session: AsyncSession, org: Org) -> None:
    lone = Visibility(member_id=org.manager_east.member_id, role=Role.MANAGER, team_id=None)
    assert set(await codes(session, "crm", lone)) == {"CRM0006", "CRM0012"}


# --- hostile input ----------------------------------------------------------------------


HOSTILE = [
    "",
    " ",
    '"',
    '""',
    '"*',
    "*",
    "华信*",
    "OR",
    "a OR b",
    "华信 OR 中国",
    "NOT acme",
    "acme AND",
    "NEAR(",
    "NEAR(华信 中国, 2)",
    "-acme",
    "^华信",
    "customer_search:华信",
    "search_text:acme",
    "{search_text}: x",
    "%",
    "%%%",
    "_",
    "华_科技",
    "\\",
    "'; DROP TABLE customers; --",
    "' OR 1=1 --",
    "😀",
    "😀😀😀",
    "华信😀",
    "\x00华信",
    "\n\t",
    "(((",
    "华" * 500,
    "a" * 500,
    "acme " * 100,
    "1" * 40,
    "+",
    "()-",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_never_raise(session: AsyncSession, org: Org, query: str) -> None:
    search = SqlCustomerSearch(session)
    hits = await search.search(query, org.admin)
    assert isinstance(hits, list)
    assert await search.count(query, org.admin) >= len(hits)
    assert await session.scalar(select(CustomerRow.id).limit(1)) is not None  # table still there


async def test_quotes_and_operators_are_searched_literally(session: AsyncSession, org: Org) -> None:
    assert await codes(session, "华信 OR 中国", org.admin) == []
    assert "CRM0004" in await codes(session, '"acme"', org.admin)


# --- the index follows writes ---------------------------------------------------------


async def test_index_follows_updates_and_deletes(session: AsyncSession, org: Org) -> None:
    keys = name_keys("鼎泰丰餐饮")
    await session.execute(
        update(CustomerRow)
        .where(CustomerRow.code == "CRM0005")
        .values(
            name="鼎泰丰餐饮",
            name_key=keys.key,
            name_pinyin=keys.pinyin,
            name_initials=keys.initials,
            search_text=search_document("鼎泰丰餐饮", "CRM0005", [], []),
        )
    )
    await session.commit()
    assert await codes(session, "鼎泰丰", org.admin) == ["CRM0005"]
    assert await codes(session, "dingtaifeng", org.admin) == ["CRM0005"]
    assert "CRM0005" not in await codes(session, "blue river", org.admin)

    await session.execute(delete(CustomerRow).where(CustomerRow.code == "CRM0003"))
    await session.commit()
    assert await codes(session, "中国科技", org.admin) == []
    assert await codes(session, "单田芳", org.admin) == []

    await add_customer(session, Spec("CRM0100", "中国科技", "w"), org.rep_west.member_id, T0)
    await session.commit()
    assert await codes(session, "中国科技", org.admin) == ["CRM0100"]


async def test_fts_index_is_consistent_after_writes(
    session: AsyncSession, org: Org, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    await session.execute(
        update(CustomerRow).where(CustomerRow.code == "CRM0001").values(stage=Stage.INTENT)
    )
    await session.execute(delete(CustomerRow).where(CustomerRow.code == "CRM0002"))
    await session.execute(
        update(CustomerRow)
        .where(CustomerRow.code == "CRM0004")
        .values(search_text="something else entirely")
    )
    await session.commit()
    # 'integrity-check' with rank 1 compares the index with the content table.
    await session.execute(
        text("INSERT INTO customer_search(customer_search, rank) VALUES ('integrity-check', 1)")
    )
    assert await codes(session, "something else", org.admin) == ["CRM0004"]
    assert "CRM0004" not in await codes(session, "acme trading", org.admin)
