"""Report periods (presets, typed ranges, bad input), the service against fake queries
(permissions, the window in the member's zone, the PDF audit entry) and the text summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogue
from crm.access import Visibility
from crm.clock import FakeClock
from crm.customers import Stage
from crm.errors import InvalidInput, NotAllowed
from crm.members import Member, Role
from crm.reports.periods import Period, parse_range, preset
from crm.reports.records import (
    CustomerFigure,
    Funnel,
    RepFigures,
    Report,
    SegmentRow,
    StageDuration,
    Totals,
    Window,
)
from crm.reports.service import ReportService
from handlers.reports import MESSAGE_MAX, summary
from tests.support.fakes import InMemoryAudit

SHANGHAI = ZoneInfo("Asia/Shanghai")
catalogue = Catalogue.load()


def member(role: Role = Role.MANAGER, team_id: int | None = 7) -> Member:
    return Member(
        id=5,
        telegram_id=5005,
        name="赵经理",
        username=None,
        role=role,
        team_id=team_id,
        language="zh",
        timezone=None,
        active=True,
        reachable=True,
        menu_signature=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


# -- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "today", "first", "last"),
    [
        ("this_week", date(2026, 11, 25), date(2026, 11, 23), date(2026, 11, 29)),  # Wednesday
        ("this_week", date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 29)),  # Monday
        ("this_week", date(2026, 11, 29), date(2026, 11, 23), date(2026, 11, 29)),  # Sunday
        ("last_week", date(2026, 11, 25), date(2026, 11, 16), date(2026, 11, 22)),
        ("last_week", date(2026, 1, 1), date(2025, 12, 22), date(2025, 12, 28)),
        ("this_month", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 28)),
        ("this_month", date(2028, 2, 29), date(2028, 2, 1), date(2028, 2, 29)),
        ("last_month", date(2026, 11, 25), date(2026, 10, 1), date(2026, 10, 31)),
        ("last_month", date(2026, 1, 31), date(2025, 12, 1), date(2025, 12, 31)),
        ("quarter", date(2026, 11, 25), date(2026, 10, 1), date(2026, 12, 31)),
        ("quarter", date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
        ("quarter", date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
    ],
)
def test_presets(kind: str, today: date, first: date, last: date) -> None:
    assert preset(kind, today) == Period(first, last, kind)


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(InvalidInput):
        preset("fortnight", date(2026, 11, 25))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01 2026-11-20",
        "2026/11/1 2026/11/20",
        "2026-11-01 至 2026-11-20",
        "2026-11-01~2026-11-20",
        "2026-11-01 - 2026-11-20",
        "2026-11-01 to 2026-11-20",
        "2026年11月1日 到 2026年11月20日",
        "2026.11.01，2026.11.20",
    ],
)
def test_typed_ranges(text: str) -> None:
    assert parse_range(text) == Period(date(2026, 11, 1), date(2026, 11, 20))


def test_a_one_day_range() -> None:
    assert parse_range("2026-11-20 2026-11-20").days == 1


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-11-20 2026-11-01", "report.end_before_start"),
        ("2026-02-30 2026-03-01", "report.bad_date"),
        ("2026-11-01", "report.bad_range"),
        ("下个月", "report.bad_range"),
        ("2026-11-01 2026-11-20 2026-12-01", "report.bad_range"),
        ("2026-11-01 and more 2026-11-20", "report.bad_range"),
        ("2020-01-01 2026-01-01", "report.range_too_long"),
    ],
)
def test_bad_ranges_say_what_works(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_range(text)
    assert refused.value.text.key == key
    for language in ("zh", "en"):
        answer = catalogue.render(language, refused.value.text)
        assert "/report 20" in answer, answer


def test_end_before_start_in_both_languages() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_range("2026-11-20 2026-11-01")
    assert catalogue.render("en", refused.value.text) == (
        "The end date 2026-11-01 is before the start date 2026-11-20. Put the start date "
        "first, e.g. /report 2026-11-01 2026-11-20"
    )
    assert "结束日期 2026-11-01 早于开始日期 2026-11-20" in catalogue.render(
        "zh", refused.value.text
    )


def test_bounds_are_local_midnights_in_utc() -> None:
    start, end = Period(date(2026, 11, 1), date(2026, 11, 20)).bounds(SHANGHAI)
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_token_round_trip_and_forged_tokens() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 20))
    assert period.token == "20261101-20261120"
    assert Period.from_token(period.token) == period
    with pytest.raises(InvalidInput):
        Period.from_token("20261301-20261120")


@pytest.mark.parametrize(
    ("kind", "today"),
    [
        ("this_week", date(2026, 11, 25)),
        ("last_week", date(2026, 11, 25)),
        ("this_month", date(2026, 11, 25)),
        ("last_month", date(2026, 1, 31)),
        ("quarter", date(2026, 11, 25)),
    ],
)
def test_a_presets_button_token_keeps_its_name(kind: str, today: date) -> None:
    period = preset(kind, today)
    assert period.button_token == f"{period.token}-{kind}"
    assert len(f"rp:pdf:{period.button_token}") <= 64  # Telegram's limit on callback data
    assert Period.from_token(period.button_token) == period


def test_a_custom_button_token_is_the_dates_and_forged_names_are_dropped() -> None:
    custom = Period(date(2026, 11, 1), date(2026, 11, 20))
    assert custom.button_token == custom.token == "20261101-20261120"
    assert Period.from_token(custom.button_token).kind == "custom"
    # a preset's name on dates that are not that whole week / month / quarter, or unknown
    for forged in (
        "20261101-20261120-this_month",
        "20261124-20261130-this_week",
        "20261101-20261130-quarter",
        "20261101-20261130-fortnight",
    ):
        period = Period.from_token(forged)
        assert (period.token, period.kind) == (forged[:17], "custom")


# -- the service against fake queries ----------------------------------------------------------


EMPTY_TOTALS = Totals(0, 0, 0, Decimal("0.00"), 0, 0, 0)


@dataclass
class FakeQueries:
    windows: list[tuple[Visibility, Window]] = field(default_factory=list)

    async def totals(self, visibility: Visibility, window: Window) -> Totals:
        self.windows.append((visibility, window))
        return EMPTY_TOTALS

    async def funnel(self, visibility: Visibility, window: Window) -> Funnel:
        return Funnel(0, 0, 0, 0)

    async def stage_durations(self, *args: Any) -> Sequence[StageDuration]:
        return []

    async def segments(self, *args: Any) -> Sequence[SegmentRow]:
        return []

    async def top_by_amount(self, *args: Any) -> Sequence[CustomerFigure]:
        return []

    async def top_by_repurchase(self, *args: Any) -> Sequence[CustomerFigure]:
        return []

    async def leaderboard(self, *args: Any) -> Sequence[RepFigures]:
        return []


@dataclass
class FakeUnitOfWork:
    reports: FakeQueries = field(default_factory=FakeQueries)
    audit: InMemoryAudit = field(default_factory=InMemoryAudit)


def service(uow: FakeUnitOfWork) -> ReportService:
    return ReportService(uow, FakeClock())  # type: ignore[arg-type]


async def test_a_rep_is_refused_everywhere() -> None:
    uow = FakeUnitOfWork()
    reports, rep = service(uow), member(Role.REP)
    with pytest.raises(NotAllowed):
        reports.allowed(rep)
    with pytest.raises(NotAllowed):
        reports.preset(rep, "this_month", SHANGHAI)
    with pytest.raises(NotAllowed):
        reports.custom(rep, "2026-11-01 2026-11-20")
    with pytest.raises(NotAllowed):
        await reports.build(rep, Period(date(2026, 11, 1), date(2026, 11, 20)), SHANGHAI)
    assert uow.reports.windows == []


async def test_presets_use_the_members_local_date() -> None:
    # 2026-11-30 20:00 UTC is already December 1st in Shanghai
    uow = FakeUnitOfWork()
    clock = FakeClock(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    reports = ReportService(uow, clock)  # type: ignore[arg-type]
    assert reports.preset(member(), "this_month", SHANGHAI).first_day == date(2026, 12, 1)
    assert reports.preset(member(), "this_month", ZoneInfo("UTC")).first_day == date(2026, 11, 1)


async def test_build_scopes_the_window_and_audits_only_the_pdf() -> None:
    uow = FakeUnitOfWork()
    reports, manager = service(uow), member()
    period = Period(date(2026, 11, 1), date(2026, 11, 20))
    report = await reports.build(manager, period, SHANGHAI)
    assert report.first_day == date(2026, 11, 1)
    assert uow.audit.entries == []
    await reports.build(manager, period, SHANGHAI, pdf=True)
    visibility, window = uow.reports.windows[-1]
    assert visibility == Visibility(5, Role.MANAGER, 7)
    assert window.start_at == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    (entry,) = uow.audit.entries
    assert (entry.action, entry.entity_type, entry.entity_id, entry.actor_id) == (
        "report.pdf",
        "report",
        "20261101-20261120",
        5,
    )


async def test_a_backwards_period_from_a_forged_button_is_refused() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidInput) as refused:
        await service(uow).build(member(), Period.from_token("20261120-20261101"), SHANGHAI)
    assert refused.value.text.key == "report.end_before_start"
    assert uow.audit.entries == []


# -- the text summary -------------------------------------------------------------------------


def a_report(reps: int = 2, name: str = "甲科技") -> Report:
    figure = CustomerFigure(1, "CRM0001", name, Decimal("17500.50"), 3)
    return Report(
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 30),
        kind="this_month",
        generated_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        totals=Totals(6, 4, 6, Decimal("49500.50"), 4, 4, 2),
        funnel=Funnel(4, 4, 3, 1),
        durations=(StageDuration(Stage.POTENTIAL, 3.1, 5),),
        segments={
            "industry": (SegmentRow("制造业", 3, 3, Decimal("45500.50")),),
            "size": (),
            "source": (),
            "grade": (SegmentRow(None, 2, 0, Decimal("0.00")),),
        },
        top_amount=(figure,) * 10,
        top_repurchase=(figure,) * 10,
        reps=tuple(
            RepFigures(i, f"销售{i}", 1, 1, Decimal("100.00"), 0) for i in range(1, reps + 1)
        ),
    )


def test_summary_in_english() -> None:
    def t(key: str, **variables: Any) -> str:
        return catalogue.t("en", key, **variables)

    text = summary(a_report(), member(), t)
    lines = text.splitlines()
    assert lines[0] == "📊 Report · 2026-11-01 to 2026-11-30 (This month)"
    assert "Scope: your team's customers" in lines
    assert "Lead → deal conversion 75% (3 of 4 new leads won)" in lines
    assert "Potential 4 → Intent 4 → Deal 3 · lost 1" in lines
    assert "Grade: Not set 2 (100%)" in lines
    assert "制造业: average ¥15,166.83 (buying customers: 3)" in lines


def test_a_long_summary_fits_one_message() -> None:
    def t(key: str, **variables: Any) -> str:
        return catalogue.t("zh", key, **variables)

    text = summary(a_report(reps=40, name="很长的客户名称" * 30), member(Role.ADMIN), t)
    assert len(text) <= MESSAGE_MAX
    assert "另有 25 位，完整排行见 PDF 报告" in text
    assert "…" in text


def test_a_summary_too_long_for_telegram_is_cut_with_a_pointer_to_the_pdf() -> None:
    def t(key: str, **variables: Any) -> str:
        return catalogue.t("zh", key, **variables)

    wide = tuple(SegmentRow("很长的行业名称" * 9 + str(i), 9 - i, 0, Decimal(0)) for i in range(8))
    report = a_report(reps=40, name="很长的客户名称" * 30)
    report = Report(**{**report.__dict__, "segments": dict.fromkeys(report.segments, wide)})
    text = summary(report, member(Role.ADMIN), t)
    assert len(text) <= MESSAGE_MAX
    assert text.endswith("……（内容过长，完整报表请下载 PDF）")
