"""Digest pieces without a database: the hour parser, the periods (local midnight, Monday-start
weeks), scope, the chart travelling through the outbox payload, and the setting's validation."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.i18n import Catalogue
from bot.settings import Settings
from crm.digests.service import digest_key, in_scope, parse_hour, period_at
from crm.members import Member, Role
from crm.outbox import Chart, ChartKind, OutgoingMessage
from crm.texts import Text
from scheduler.outbox import chart_png

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07:45", "07:45"),
        ("7:45", "07:45"),
        ("07：45", "07:45"),
        (" 23:59 ", "23:59"),
        ("0:00", "00:00"),
        ("25:00", None),
        ("24:00", None),
        ("08:60", None),
        ("8", None),
        ("eight", None),
        ("", None),
        ("08:30:00", None),
    ],
)
def test_parse_hour(raw: str, expected: str | None) -> None:
    assert parse_hour(raw) == expected


def test_period_is_yesterday_and_the_week_so_far_in_local_time() -> None:
    now = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # Thu 08:30 in Shanghai
    period = period_at(now, SHANGHAI)
    assert period.today == date(2026, 11, 26)
    assert period.yesterday.start == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert period.yesterday.end == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert (period.yesterday.first_day, period.yesterday.last_day) == (
        date(2026, 11, 25),
        date(2026, 11, 25),
    )
    assert period.week.start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # Mon 00:00 local
    assert period.week.end == now
    assert (period.start, period.end) == (period.week.start, now)


def test_on_monday_yesterday_belongs_to_the_previous_week() -> None:
    period = period_at(datetime(2026, 11, 30, 0, 30, tzinfo=UTC), SHANGHAI)
    assert period.yesterday.first_day == date(2026, 11, 29)
    assert period.week.first_day == date(2026, 11, 30)
    assert period.start == period.yesterday.start


def _member(member_id: int, role: Role, team: int | None) -> Member:
    return Member(
        member_id, 100 + member_id, f"m{member_id}", None, role, team, "zh", None, True, True,
        None, datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip


def test_scope_own_team_everyone() -> None:
    rep_a, rep_b = _member(1, Role.REP, 10), _member(2, Role.REP, 20)
    manager_a, admin = _member(3, Role.MANAGER, 10), _member(4, Role.ADMIN, None)
    lone_manager = _member(5, Role.MANAGER, None)
    assert in_scope(manager_a, rep_a)
    assert not in_scope(manager_a, rep_b)
    assert in_scope(admin, rep_b)
    assert in_scope(rep_a, rep_a)
    assert not in_scope(rep_a, _member(6, Role.REP, 10))  # a teammate's work is not a rep's
    assert not in_scope(lone_manager, _member(7, Role.REP, None))
    assert digest_key(3, date(2026, 11, 26)) == "digest:3:2026-11-26"


def test_plain_messages_keep_their_payload_and_charts_round_trip() -> None:
    plain = OutgoingMessage("k", 1, Text("gate.unknown"), "zh")
    assert set(plain.payload()) == {"text", "language", "buttons"}
    chart = Chart(
        ChartKind.GROUPED_BAR,
        Text("digest.chart_title"),
        ("李娜", "王芳"),
        ((Text("digest.series_yesterday"), (2.0, 1.0)), (Text("digest.series_week"), (4.0, 1.0))),
    )
    message = OutgoingMessage(
        "k:chart", 1, Text("digest.chart_title"), "zh", lines=(Text("gate.unknown"),), chart=chart
    )
    payload = message.payload()
    assert Chart.from_json(payload["chart"]) == chart
    assert [Text.from_json(line) for line in payload["lines"]] == [Text("gate.unknown")]


def test_the_chart_renders_to_png_in_either_language_without_tofu(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chart = Chart(
        ChartKind.GROUPED_BAR,
        Text("digest.chart_title"),
        ("李娜", "王芳"),
        ((Text("digest.series_yesterday"), (2.0, 1.0)), (Text("digest.series_week"), (4.0, 1.0))),
    )
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        for language in ("zh", "en"):
            assert chart_png(Catalogue.load(), language, chart).startswith(b"\x89PNG")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    missing += [r.getMessage() for r in caplog.records if "missing from font" in r.getMessage()]
    assert missing == []


def test_digest_time_setting_is_checked() -> None:
    assert Settings(_env_file=None, digest_time="7:05").digest_time == "07:05"  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="like 08:30"):
        Settings(_env_file=None, digest_time="25:00")  # type: ignore[call-arg]
