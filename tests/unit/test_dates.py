"""The rule-based date/time parser for follow-up notes, in Chinese and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.dates import ParsedTime, find_time, parse_time, remove_span

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
FRIDAY_AFTERNOON = datetime(2026, 11, 27, 15, 0, tzinfo=SHANGHAI)
MONTH_END = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)  # a Monday
NEW_YEARS_EVE = datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI)  # a Thursday
LATE_EVENING = datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI)


def local(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)


# (phrase, expected local time, has_time) with now = Wednesday 2026-11-25 10:00 in Shanghai.
CASES = [
    # days
    ("今天", "2026-11-25 09:00", False),
    ("今日", "2026-11-25 09:00", False),
    ("明天", "2026-11-26 09:00", False),
    ("明日", "2026-11-26 09:00", False),
    ("后天", "2026-11-27 09:00", False),
    ("大后天", "2026-11-28 09:00", False),
    ("昨天", "2026-11-24 09:00", False),
    ("明早", "2026-11-26 09:00", False),
    ("明晚", "2026-11-26 20:00", False),
    ("今晚", "2026-11-25 20:00", False),
    ("今天晚上", "2026-11-25 20:00", False),
    ("明天下午", "2026-11-26 14:00", False),
    ("明天早上", "2026-11-26 09:00", False),
    # weekdays
    ("下周三", "2026-12-02 09:00", False),
    ("下个周三", "2026-12-02 09:00", False),
    ("下星期三", "2026-12-02 09:00", False),
    ("下个礼拜三", "2026-12-02 09:00", False),
    ("下下周一", "2026-12-07 09:00", False),
    ("这周三", "2026-11-25 09:00", False),  # this week's, even if already past
    ("本周一", "2026-11-23 09:00", False),
    ("周五", "2026-11-27 09:00", False),
    ("星期天", "2026-11-29 09:00", False),
    ("周日", "2026-11-29 09:00", False),
    ("礼拜天", "2026-11-29 09:00", False),
    ("周三3点", "2026-11-25 15:00", True),  # today, still ahead
    ("周三9点", "2026-12-02 09:00", True),  # today's 9:00 is past: next Wednesday
    ("周五10点", "2026-11-27 10:00", True),
    ("周五3点", "2026-11-27 15:00", True),
    ("周五下午", "2026-11-27 14:00", False),
    ("周五晚上8点", "2026-11-27 20:00", True),
    ("下周三下午3点", "2026-12-02 15:00", True),
    # relative
    ("3天后", "2026-11-28 09:00", False),
    ("三天后", "2026-11-28 09:00", False),
    ("两天后", "2026-11-27 09:00", False),
    ("3天以后", "2026-11-28 09:00", False),
    ("过3天", "2026-11-28 09:00", False),
    ("1小时后", "2026-11-25 11:00", True),
    ("一个小时后", "2026-11-25 11:00", True),
    ("半小时后", "2026-11-25 10:30", True),
    ("30分钟后", "2026-11-25 10:30", True),
    ("两个半小时后", "2026-11-25 12:30", True),
    ("2周后", "2026-12-09 09:00", False),
    ("两个星期后", "2026-12-09 09:00", False),
    ("1个月后", "2026-12-25 09:00", False),
    ("3天后下午2点", "2026-11-28 14:00", True),
    # dates
    ("11月30日", "2026-11-30 09:00", False),
    ("11月30号", "2026-11-30 09:00", False),
    ("十一月三十日", "2026-11-30 09:00", False),
    ("11月20日", "2027-11-20 09:00", False),  # already past this year
    ("30号", "2026-11-30 09:00", False),
    ("30日", "2026-11-30 09:00", False),
    ("二十号", "2026-12-20 09:00", False),  # already past this month
    ("下个月5号", "2026-12-05 09:00", False),
    ("下月5日", "2026-12-05 09:00", False),
    ("月底", "2026-11-30 09:00", False),
    ("下个月底", "2026-12-31 09:00", False),
    ("月初", "2026-12-01 09:00", False),
    ("下个月", "2026-12-01 09:00", False),
    ("年底", "2026-12-31 09:00", False),
    ("2026年12月1日", "2026-12-01 09:00", False),
    ("2026-12-01", "2026-12-01 09:00", False),
    ("2026/12/1", "2026-12-01 09:00", False),
    ("12/1", "2026-12-01 09:00", False),
    ("11月30日下午2点", "2026-11-30 14:00", True),
    # clock times; a time alone is today if still ahead, else tomorrow
    ("下午3点", "2026-11-25 15:00", True),
    ("3点", "2026-11-25 15:00", True),  # a bare 1-6 is PM
    ("7点", "2026-11-26 07:00", True),  # a bare 7-12 is as written: 07:00 is past
    ("十二点", "2026-11-25 12:00", True),
    ("3点半", "2026-11-25 15:30", True),
    ("3点15", "2026-11-25 15:15", True),
    ("3点15分", "2026-11-25 15:15", True),
    ("3点一刻", "2026-11-25 15:15", True),
    ("3点零5分", "2026-11-25 15:05", True),
    ("15:30", "2026-11-25 15:30", True),
    ("15点", "2026-11-25 15:00", True),
    ("上午11点", "2026-11-25 11:00", True),
    ("早上8点", "2026-11-26 08:00", True),
    ("中午12点", "2026-11-25 12:00", True),
    ("中午1点", "2026-11-25 13:00", True),
    ("傍晚6点", "2026-11-25 18:00", True),
    ("晚上12点", "2026-11-26 00:00", True),
    ("凌晨2点", "2026-11-26 02:00", True),
    ("今晚8点", "2026-11-25 20:00", True),
    ("明早8点", "2026-11-26 08:00", True),
    ("明天的下午三点", "2026-11-26 15:00", True),
    ("下午两点半", "2026-11-25 14:30", True),
    # Traditional characters and full-width digits
    ("週五", "2026-11-27 09:00", False),
    ("下禮拜一", "2026-11-30 09:00", False),
    ("後天", "2026-11-27 09:00", False),
    ("３天後", "2026-11-28 09:00", False),
    ("１１月３０日", "2026-11-30 09:00", False),
    ("下午３點", "2026-11-25 15:00", True),
    ("１５：３０", "2026-11-25 15:30", True),
    # English days
    ("today", "2026-11-25 09:00", False),
    ("tonight", "2026-11-25 20:00", False),
    ("tomorrow", "2026-11-26 09:00", False),
    ("tmrw", "2026-11-26 09:00", False),
    ("day after tomorrow", "2026-11-27 09:00", False),
    ("yesterday", "2026-11-24 09:00", False),
    ("tomorrow morning", "2026-11-26 09:00", False),
    ("Friday", "2026-11-27 09:00", False),
    ("fri", "2026-11-27 09:00", False),
    ("this Friday", "2026-11-27 09:00", False),
    ("next Friday", "2026-12-04 09:00", False),
    ("next Monday", "2026-11-30 09:00", False),
    ("Thurs", "2026-11-26 09:00", False),
    ("on sat", "2026-11-28 09:00", False),
    # English relative
    ("in 2 hours", "2026-11-25 12:00", True),
    ("in 30 minutes", "2026-11-25 10:30", True),
    ("in 30 mins", "2026-11-25 10:30", True),
    ("in an hour", "2026-11-25 11:00", True),
    ("in half an hour", "2026-11-25 10:30", True),
    ("in 3 days", "2026-11-28 09:00", False),
    ("in a week", "2026-12-02 09:00", False),
    ("in 2 weeks", "2026-12-09 09:00", False),
    # English dates
    ("Nov 30", "2026-11-30 09:00", False),
    ("November 30", "2026-11-30 09:00", False),
    ("30 Nov", "2026-11-30 09:00", False),
    ("Nov 30th", "2026-11-30 09:00", False),
    ("30th of November", "2026-11-30 09:00", False),
    ("Nov 20", "2027-11-20 09:00", False),
    ("end of month", "2026-11-30 09:00", False),
    ("end of the month", "2026-11-30 09:00", False),
    ("next month", "2026-12-01 09:00", False),
    # English clock times
    ("10am", "2026-11-26 10:00", True),  # 10:00 is now, not ahead: tomorrow
    ("11 am", "2026-11-25 11:00", True),
    ("10:30am", "2026-11-25 10:30", True),
    ("10:30", "2026-11-25 10:30", True),
    ("15:30", "2026-11-25 15:30", True),
    ("3pm", "2026-11-25 15:00", True),
    ("3 p.m.", "2026-11-25 15:00", True),
    ("12am", "2026-11-26 00:00", True),
    ("noon", "2026-11-25 12:00", True),
    ("midnight", "2026-11-26 00:00", True),
    ("at 3", "2026-11-25 15:00", True),
    ("11 o'clock", "2026-11-25 11:00", True),
    # English combinations, either order
    ("tomorrow 10am", "2026-11-26 10:00", True),
    ("10am tomorrow", "2026-11-26 10:00", True),
    ("TOMORROW AT 10AM", "2026-11-26 10:00", True),
    ("Friday at 3pm", "2026-11-27 15:00", True),
    ("next Friday 9:30", "2026-12-04 09:30", True),
    ("Nov 30 at 2pm", "2026-11-30 14:00", True),
    ("tonight at 8", "2026-11-25 20:00", True),
    ("in 3 days at 4pm", "2026-11-28 16:00", True),
]


@pytest.mark.parametrize(("phrase", "expected", "has_time"), CASES)
def test_phrases(phrase: str, expected: str, has_time: bool) -> None:
    parsed = parse_time(phrase, NOW)
    assert parsed is not None
    assert (parsed.at, parsed.has_time) == (local(expected), has_time)
    assert parsed.at.tzinfo is SHANGHAI
    assert (parsed.start, parsed.end, parsed.matched) == (0, len(phrase), phrase)
    assert find_time(phrase, NOW) == parsed


# Roll-forward rules pinned with other "now"s.
OTHER_NOWS = [
    (FRIDAY_AFTERNOON, "周五", "2026-11-27 09:00"),  # today, no time given
    (FRIDAY_AFTERNOON, "周五4点", "2026-11-27 16:00"),  # today, still ahead
    (FRIDAY_AFTERNOON, "周五10点", "2026-12-04 10:00"),  # today's is past: next week
    (FRIDAY_AFTERNOON, "Friday 2pm", "2026-12-04 14:00"),
    (FRIDAY_AFTERNOON, "下周五", "2026-12-04 09:00"),
    (FRIDAY_AFTERNOON, "next Friday", "2026-12-04 09:00"),
    (FRIDAY_AFTERNOON, "this Friday", "2026-11-27 09:00"),
    (FRIDAY_AFTERNOON, "下午3点", "2026-11-28 15:00"),  # exactly now is not ahead
    (FRIDAY_AFTERNOON, "next Monday", "2026-11-30 09:00"),
    (MONTH_END, "月底", "2026-11-30 09:00"),
    (MONTH_END, "下个月底", "2026-12-31 09:00"),
    (MONTH_END, "30号", "2026-11-30 09:00"),
    (MONTH_END, "29号", "2026-12-29 09:00"),
    (MONTH_END, "月初", "2026-12-01 09:00"),
    (MONTH_END, "1个月后", "2026-12-30 09:00"),
    (NEW_YEARS_EVE, "明天", "2027-01-01 09:00"),
    (NEW_YEARS_EVE, "下个月5号", "2027-01-05 09:00"),
    (NEW_YEARS_EVE, "5号", "2027-01-05 09:00"),
    (NEW_YEARS_EVE, "1月5日", "2027-01-05 09:00"),
    (NEW_YEARS_EVE, "Jan 5", "2027-01-05 09:00"),
    (NEW_YEARS_EVE, "12/1", "2027-12-01 09:00"),
    (NEW_YEARS_EVE, "年底", "2026-12-31 09:00"),
    (NEW_YEARS_EVE, "下周一", "2027-01-04 09:00"),
    (NEW_YEARS_EVE, "next month", "2027-01-01 09:00"),
    (NEW_YEARS_EVE, "1个月后", "2027-01-31 09:00"),
    (LATE_EVENING, "明天", "2026-11-26 09:00"),
    (LATE_EVENING, "下午3点", "2026-11-26 15:00"),
    (LATE_EVENING, "晚上12点", "2026-11-26 00:00"),
    (LATE_EVENING, "in 2 hours", "2026-11-26 01:30"),
    (LATE_EVENING, "今天", "2026-11-25 09:00"),  # past, returned as is
    (LATE_EVENING, "今晚", "2026-11-25 20:00"),
]


@pytest.mark.parametrize(("now", "phrase", "expected"), OTHER_NOWS)
def test_roll_forward_with_other_nows(now: datetime, phrase: str, expected: str) -> None:
    parsed = parse_time(phrase, now)
    assert parsed is not None
    assert parsed.at == local(expected)


def test_default_hour() -> None:
    parsed = parse_time("明天", NOW, default_hour=14)
    assert parsed is not None
    assert (parsed.at, parsed.has_time) == (local("2026-11-26 14:00"), False)
    explicit = parse_time("明天10点", NOW, default_hour=14)
    assert explicit is not None
    assert explicit.at == local("2026-11-26 10:00")


@pytest.mark.parametrize(
    ("text", "matched", "expected", "rest"),
    [
        (
            "华信 电话 对价格有疑虑，需要竞品对比 下周三下午3点再联系",
            "下周三下午3点",
            "2026-12-02 15:00",
            "华信 电话 对价格有疑虑，需要竞品对比 再联系",
        ),
        (
            "acme visit demo went well, wants training; call back Friday 10am",
            "Friday 10am",
            "2026-11-27 10:00",
            "acme visit demo went well, wants training; call back",
        ),
        ("华信明天再联系", "明天", "2026-11-26 09:00", "华信再联系"),
        ("华信，明天，再联系", "明天", "2026-11-26 09:00", "华信，再联系"),
        ("下周三 下午3点 再联系", "下周三 下午3点", "2026-12-02 15:00", "再联系"),
        ("call back tomorrow, thanks", "tomorrow", "2026-11-26 09:00", "call back, thanks"),
        ("follow up on Friday.", "on Friday", "2026-11-27 09:00", "follow up."),
        ("call back at 3pm", "at 3pm", "2026-11-25 15:00", "call back"),
        # a past expression gives way to a later one that is not past
        ("昨天聊过 下周三再联系", "下周三", "2026-12-02 09:00", "昨天聊过 再联系"),
        # common false friends give way to a surer expression
        ("提了三点要求，明天再联系", "明天", "2026-11-26 09:00", "提了三点要求，再联系"),
        ("sat down with the CFO, call back Mon", "Mon", "2026-11-30 09:00",
         "sat down with the CFO, call back"),
        ("50 units at 3 each, call Friday", "Friday", "2026-11-27 09:00",
         "50 units at 3 each, call"),
        ("希望便宜一点 周四再去", "周四", "2026-11-26 09:00", "希望便宜一点 再去"),
        ("3号楼见面 最晚3点前", "3点", "2026-11-25 15:00", "3号楼见面 最晚前"),
    ],
)  # fmt: skip
def test_find_time_inside_notes(text: str, matched: str, expected: str, rest: str) -> None:
    parsed = find_time(text, NOW)
    assert parsed is not None
    assert (parsed.matched, parsed.at) == (matched, local(expected))
    assert text[parsed.start : parsed.end] == matched
    assert remove_span(text, parsed) == rest


def test_find_time_keeps_positions_in_the_original_text() -> None:
    text = "/log 华信 电话 对价格有疑虑，需要竞品对比 下周三下午３點再联系"
    parsed = find_time(text, NOW)
    assert parsed is not None
    assert parsed.matched == "下周三下午３點"
    assert parsed.at == local("2026-12-02 15:00")
    assert remove_span(text, parsed) == "/log 华信 电话 对价格有疑虑，需要竞品对比 再联系"


def test_a_lone_guess_is_still_found_when_nothing_surer_is_there() -> None:
    parsed = find_time("提了三点要求", NOW)
    assert parsed is not None
    assert parsed.matched == "三点"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "改天",
        "sometime",
        "2月30日",
        "Feb 30",
        "2026-02-30",
        "25:00",
        "24:30",
        "下周八",
        "上午13点",
        "13pm",
        "下午",  # a part of the day alone
        "晚上再说",
        "希望便宜一点",  # 一点 = "a bit"
        "sat down with the CFO",
        "打了3个电话，预算50万",
        "version 2.5, 11.30",
        "2026年2月29日",
    ],
)
def test_not_understood(text: str) -> None:
    assert find_time(text, NOW) is None
    assert parse_time(text, NOW) is None


def test_thirty_first_in_a_thirty_day_month_is_impossible() -> None:
    assert parse_time("31号", MONTH_END) is None


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("下周三下午3点再联系", "下周三下午3点"),
        ("  明天！ ", "明天"),
        ("提醒我明天上午10点", "明天上午10点"),
        ("call back Friday 10am", "Friday 10am"),
        ("at 3pm", "at 3pm"),
        ("on Friday.", "on Friday"),
        ("around 3pm please", "3pm"),
        ("一点", "一点"),  # only a whole answer may be a lone 一点
    ],
)
def test_parse_time_ignores_filler(text: str, matched: str) -> None:
    parsed = parse_time(text, NOW)
    assert parsed is not None
    assert parsed.matched == matched


@pytest.mark.parametrize(
    "text", ["明天 后天", "明天见客户", "call the CFO tomorrow", "3点 或 4点", "2月30日下午3点"]
)
def test_parse_time_needs_the_whole_input(text: str) -> None:
    assert parse_time(text, NOW) is None


@pytest.mark.parametrize("function", [find_time, parse_time])
def test_naive_now_is_refused(function: object) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match="timezone-aware"):
        function("明天", datetime(2026, 11, 25, 10, 0))


def test_default_hour_must_be_an_hour() -> None:
    with pytest.raises(ValueError, match="default_hour"):
        find_time("明天", NOW, default_hour=24)


def test_another_zone_is_kept() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK)
    parsed = find_time("call back tomorrow 3pm", now)
    assert parsed is not None
    assert parsed.at == local("2026-11-26 15:00", NEW_YORK)
    assert parsed.at.tzinfo is NEW_YORK
    assert parsed.at.utcoffset() == timedelta(hours=-5)


def test_wall_clock_times_are_kept_across_the_dst_change() -> None:
    # New York leaves daylight saving time on Sunday 2026-11-01.
    friday = datetime(2026, 10, 30, 10, 0, tzinfo=NEW_YORK)
    parsed = find_time("Monday 10am", friday)
    assert parsed is not None
    assert (parsed.at.hour, parsed.at.day) == (10, 2)
    assert parsed.at.astimezone(UTC) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # EST, -5
    saturday = find_time("明天10点", datetime(2026, 10, 31, 10, 0, tzinfo=NEW_YORK))
    assert saturday is not None
    assert saturday.at.astimezone(UTC) == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


def test_elapsed_time_is_real_time_across_the_dst_change() -> None:
    just_before = datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)  # EDT, -4
    parsed = find_time("in 2 hours", just_before)
    assert parsed is not None
    assert parsed.at.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert (parsed.at.hour, parsed.at.minute, parsed.at.fold) == (1, 30, 1)  # the second 1:30


def test_parsed_time_carries_its_source() -> None:
    parsed = find_time("acme: call back Friday 10am", NOW)
    assert parsed is not None
    assert parsed.source == "acme: call back Friday 10am"
    assert parsed.matched == "Friday 10am"
    assert ParsedTime(NOW, 0, 2, False, "明天见").matched == "明天"
