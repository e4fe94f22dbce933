"""The date and time of the next contact, found in a rep's free text (Chinese or English).

No library reads the reps' Chinese phrases well, so this is a small rule-based parser: a table of
regular expressions finds *pieces* (a day, a clock time, a part of the day such as 下午/morning,
or an instant such as 1小时后), pieces that touch are joined into one expression, and the
expression is resolved against ``now``, in ``now``'s time zone (wall-clock times are kept).

Rules (a day without a clock time gets ``default_hour``:00 and ``has_time=False``):

* Days: 今天/今日 明天/明日 后天 大后天 昨天 前天; today, tomorrow/tmr/tmrw, (the) day after
  tomorrow, yesterday. 今晚/明晚/tonight/this evening → 20:00, 明早/今早/this morning → 09:00.
* A part of the day joined to a day, without a clock time: 上午/早上/morning 09:00, 中午 12:00,
  下午/afternoon 14:00, 傍晚 18:00, 晚上/evening/night 20:00. Alone it is not an expression.
* Weekdays (周/星期/礼拜 + 一…六/日/天; Monday…Sunday, Mon Tue(s) Wed Thu(r)(s) Fri Sat Sun).
  Weeks start on Monday. Bare 周五/Friday is the coming one: today if today is Friday and the
  clock time, when given, is still ahead, else the next one. 这周五/本周五/this Friday: this
  week's, even if past. 下周五/下个周五/下星期五/next Friday: next week's. 下下周五: the week after.
* Relative: 3天后/三天以后/过3天, 2周后, 1个月后/半个月后, in 3 days/a week/2 weeks/a month give a
  day (month ends clamp); 1小时后/半小时后/两个半小时后/30分钟后, in 2 hours/half an hour give an
  instant (elapsed time, so exact across DST changes; seconds dropped).
* Dates: 2026年12月1日, 2026-12-01, 2026/12/1, 11月30日/号, 12/1 (month/day), Nov 30(th),
  30 Nov, 30th of November. Without a year, a date already past this year is next year's.
  30号/30日: this month, or next month if already past. 下个月5号/下月5日. 月底/end of (the)
  month: this month's last day; 下个月底. 月初: today if the 1st, else the 1st of next month;
  下个月/下个月初/next month: the 1st of next month. 年底/end of the year: Dec 31.
  Impossible dates (2月30日, Feb 30, 31号 in a 30-day month) are not expressions.
* Clock times: 3点 3点半 3点15(分) 3点一刻 15点 十二点 15:30; 10am 10:30am 3 p.m. 15:30 noon
  midnight, at 3, 10 o'clock. 上午/早上/早 AM; 中午 1-5 → PM; 下午 PM; 傍晚/晚上/晚 PM
  (12 → 24:00, i.e. the next day's 00:00; 0-4 → after midnight); 凌晨 AM (12 → 00:00).
  A bare hour 1-6 means PM (business hours), 7-12 as written, 0 and 13-24 as on a 24-hour clock.
* A clock time without a day is today if still ahead of ``now``, else tomorrow. Other times in
  the past are returned as they are: the caller decides.
* Pieces separated only by spaces, commas or 的 form one expression (下周三下午3点, 10am
  tomorrow, Friday at 3pm); a leading "at"/"on" belongs to it.
* With several expressions, the first one not in the past wins, else the first one. Common
  false friends count only when nothing surer is found: a lone hour in Chinese numerals
  (提了三点要求; it joins only a day written before it), "at 3", 12/1 (a fraction?), bare
  weekday abbreviations (Fri). Never taken from free text, only by ``parse_time``: a lone 一点
  (便宜一点, "a bit cheaper") and lowercase sat/sun ("sat down"). After 最/较..., 早/晚 mean
  earliest/latest, not a part of the day (最晚3点前).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

__all__ = ["ParsedTime", "find_time", "parse_time", "remove_span"]


@dataclass(frozen=True)
class ParsedTime:
    at: datetime
    """Timezone-aware, in the zone of ``now``."""
    start: int
    end: int
    """The expression is ``source[start:end]``."""
    has_time: bool
    """A clock time was given (False: a default hour was applied)."""
    source: str = ""

    @property
    def matched(self) -> str:
        return self.source[self.start : self.end]


def find_time(text: str, now: datetime, *, default_hour: int = 9) -> ParsedTime | None:
    """The date/time expression inside free text (Chinese or English), or None.

    ``now`` must be timezone-aware (the rep's local zone); results are in that zone. Adjacent
    date and time parts make one expression (下周三 + 下午3点); of several expressions, the first
    one not in the past wins, else the first one.
    """
    found = _expressions(text, now, default_hour)
    for level in (_STRONG, _WEAK):
        tier = [parsed for parsed, strength in found if strength == level]
        if tier:
            return next((parsed for parsed in tier if parsed.at >= now), tier[0])
    return None


def parse_time(text: str, now: datetime, *, default_hour: int = 9) -> ParsedTime | None:
    """Like ``find_time``, but the whole input must be the expression, give or take punctuation
    and filler words (再联系, call back, at, on...)."""
    for parsed, _strength in _expressions(text, now, default_hour):
        if _FILLER.fullmatch(text[: parsed.start]) and _FILLER.fullmatch(text[parsed.end :]):
            return parsed
    return None


def remove_span(text: str, parsed: ParsedTime) -> str:
    """The text with the expression cut out and the whitespace/punctuation around the cut tidied."""
    left, right = text[: parsed.start], text[parsed.end :]
    spaced = left[-1:].isspace() or right[:1].isspace()
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right.lstrip(_SEPARATORS)
    if not right:
        return left.rstrip(_SEPARATORS)
    if left[-1] in _SEPARATORS and right[0] in _SEPARATORS:
        right = right.lstrip(_SEPARATORS)
        if not right:
            return left
    joint = " " if spaced and right[0] not in _SEPARATORS else ""
    return left + joint + right


# --- pieces -------------------------------------------------------------------------------------

_DayRule = Callable[[datetime, int | None], date | None]
"""The day for ``now``; the clock time (minutes after midnight) matters to bare weekdays only."""

_IGNORED, _WEAK, _STRONG = 0, 1, 2  # how sure a piece is to be a time, see the module docstring


@dataclass(frozen=True)
class _Piece:
    kind: Literal["day", "clock", "period", "instant"]
    start: int
    end: int
    strength: int = _STRONG
    valid: bool = True
    day: _DayRule | None = None
    period: str | None = None  # a clock's own, or implied by a day (今晚) or a period piece
    hour: int | None = None
    minute: int | None = 0
    delta: timedelta | None = None
    leads: bool = True  # False: a later piece may not join it (一点 周四 is not Thursday 13:00)


def _day(
    m: re.Match[str], rule: _DayRule, period: str | None = None, strength: int = _STRONG
) -> _Piece:
    return _Piece("day", m.start(), m.end(), strength, day=rule, period=period)


def _invalid(m: re.Match[str]) -> _Piece:
    return _Piece("day", m.start(), m.end(), valid=False)


# --- numbers ------------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_EN_NUMBERS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_CN_NUM_CHARS = "零〇一二两三四五六七八九十"
_N = f"(?:[0-9]{{1,2}}|[{_CN_NUM_CHARS}]{{1,3}})"


def _number(text: str) -> int | None:
    """1, 12, 十二, 二十五, 两, 零五 (as in 3点零五); None for what is not a number up to 99."""
    if text.isascii():
        return int(text) if text.isdigit() else _EN_NUMBERS.get(text.lower())
    if len(text) > 1 and text[0] in "零〇":  # 3点零五, 3点零5
        return _number(text[1:])
    tens, ten, ones = text.partition("十")
    if not ten:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    high = _CN_DIGITS.get(tens, -1) if tens else 1
    low = _CN_DIGITS.get(ones, -1) if ones else 0
    return 10 * high + low if high > 0 and low >= 0 else None


# --- days ---------------------------------------------------------------------------------------


def _date(year: int, month: int | None, day: int | None) -> date | None:
    if month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(day: date, months: int) -> date:
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _at(day: date, minutes: int, now: datetime) -> datetime:
    # Aware datetime + timedelta is wall-clock arithmetic: 10:00 stays 10:00 across DST.
    return datetime.combine(day, time(), tzinfo=now.tzinfo) + timedelta(minutes=minutes)


def _offset(days: int, months: int = 0) -> _DayRule:
    def rule(now: datetime, clock: int | None) -> date | None:
        return _add_months(now.date(), months) + timedelta(days=days)

    return rule


def _weekday(target: int, weeks_ahead: int | None) -> _DayRule:
    """``weeks_ahead`` None: the coming one; 0: this week's; 1: next week's..."""

    def rule(now: datetime, clock: int | None) -> date | None:
        today = now.date()
        if weeks_ahead is not None:
            return today + timedelta(days=target - today.weekday() + 7 * weeks_ahead)
        ahead = (target - today.weekday()) % 7
        if ahead == 0 and clock is not None and _at(today, clock, now) <= now:
            ahead = 7
        return today + timedelta(days=ahead)

    return rule


def _month_day(month: int | None, day: int | None, year: int | None = None) -> _DayRule:
    def rule(now: datetime, clock: int | None) -> date | None:
        if year is not None:
            return _date(year, month, day)
        today = now.date()
        for candidate in (_date(today.year, month, day), _date(today.year + 1, month, day)):
            if candidate is not None and candidate >= today:
                return candidate
        return None

    return rule


def _day_of_month(day: int | None, months_ahead: int | None) -> _DayRule:
    """``months_ahead`` None: this month's, or next month's if already past."""

    def rule(now: datetime, clock: int | None) -> date | None:
        first = now.date().replace(day=1)
        if months_ahead is not None:
            first = _add_months(first, months_ahead)
            return _date(first.year, first.month, day)
        this = _date(first.year, first.month, day)
        if this is None or this >= now.date():
            return this
        following = _add_months(first, 1)
        return _date(following.year, following.month, day)

    return rule


def _month_end(months_ahead: int) -> _DayRule:
    def rule(now: datetime, clock: int | None) -> date | None:
        first = _add_months(now.date().replace(day=1), months_ahead)
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])

    return rule


def _month_start(next_only: bool) -> _DayRule:
    def rule(now: datetime, clock: int | None) -> date | None:
        today = now.date()
        if today.day == 1 and not next_only:
            return today
        return _add_months(today.replace(day=1), 1)

    return rule


def _year_end(years_ahead: int) -> _DayRule:
    def rule(now: datetime, clock: int | None) -> date | None:
        return date(now.year + years_ahead, 12, 31)

    return rule


# --- clock times --------------------------------------------------------------------------------

# period → (lowest hour, highest hour, hours to add); "bare" is an hour without a period.
_HOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "bare": ((0, 0, 0), (1, 6, 12), (7, 24, 0)),
    "am": ((1, 11, 0), (12, 12, -12)),
    "pm": ((1, 11, 12), (12, 12, 0)),
    "morning": ((0, 12, 0),),
    "noon": ((1, 5, 12), (10, 14, 0)),
    "afternoon": ((1, 11, 12), (12, 18, 0)),
    "dusk": ((0, 4, 24), (5, 12, 12), (13, 24, 0)),
    "evening": ((0, 4, 24), (5, 12, 12), (13, 24, 0)),
    "dawn": ((0, 6, 0), (12, 12, -12)),
}
_PERIOD_DEFAULT = {"morning": 9, "noon": 12, "afternoon": 14, "dusk": 18, "evening": 20}
_CN_PERIODS = {"上午": "morning", "早上": "morning", "早晨": "morning", "早": "morning"}
_CN_PERIODS |= {"中午": "noon", "下午": "afternoon", "午后": "afternoon", "傍晚": "dusk"}
_CN_PERIODS |= {"晚上": "evening", "晚": "evening", "凌晨": "dawn"}
_EN_PERIODS = {"morning": "morning", "afternoon": "afternoon", "evening": "evening"}
_EN_PERIODS |= {"night": "evening"}


def _minutes(hour: int | None, minute: int | None, period: str | None) -> int | None:
    """Minutes after midnight (past 24:00 for the small hours after an evening), or None."""
    if hour is None or minute is None or not 0 <= minute < 60:
        return None
    for low, high, add in _HOURS[period or "bare"]:
        if low <= hour <= high:
            total = (hour + add) * 60 + minute
            return None if total > 24 * 60 and period not in ("dusk", "evening") else total
    return None


def _clock(
    m: re.Match[str],
    hour: int | None,
    minute: int | None,
    period: str | None = None,
    strength: int = _STRONG,
    leads: bool = True,
) -> _Piece:
    return _Piece(
        "clock", m.start(), m.end(), strength, period=period, hour=hour, minute=minute, leads=leads
    )


def _cn_clock(m: re.Match[str]) -> _Piece:
    hour_text = m["h"]
    if m["half"]:
        minute: int | None = 30
    elif m["quarter"]:
        minute = 15 if m["quarter"] == "一刻" else 45
    else:
        minute = _number(m["m"]) if m["m"] else 0
    period = _CN_PERIODS.get(m["p"] or "")
    strength = _STRONG
    if not hour_text.isascii() and m[0] == hour_text + "点":  # 三点要求, 便宜一点
        strength = _IGNORED if hour_text == "一" else _WEAK
    return _clock(m, _number(hour_text), minute, period, strength, leads=strength == _STRONG)


def _digital_clock(m: re.Match[str]) -> _Piece:
    groups = m.groupdict()
    ampm = groups["ampm"]
    period = ("pm" if ampm[0] in "pP" else "am") if ampm else _CN_PERIODS.get(groups.get("p") or "")
    return _clock(m, int(m["h"]), int(groups.get("m") or 0), period)


def _bare_clock(m: re.Match[str]) -> _Piece:
    return _clock(m, _number(m["h"]), 0, strength=_WEAK)


def _oclock(m: re.Match[str]) -> _Piece:
    return _clock(m, _number(m["h"]), 0)


def _noon(m: re.Match[str]) -> _Piece:
    return _clock(m, 24 if m["word"].lower() == "midnight" else 12, 0)


def _period(m: re.Match[str]) -> _Piece:
    word = m["word"].lower()
    return _Piece("period", m.start(), m.end(), period=_CN_PERIODS.get(word) or _EN_PERIODS[word])


# --- builders for days --------------------------------------------------------------------------

_DAY_WORDS: dict[str, tuple[int, str | None]] = {
    "今天": (0, None), "今日": (0, None), "明天": (1, None), "明日": (1, None),
    "后天": (2, None), "大后天": (3, None), "昨天": (-1, None), "前天": (-2, None),
    "今晚": (0, "evening"), "明晚": (1, "evening"), "今早": (0, "morning"), "明早": (1, "morning"),
    "today": (0, None), "tonight": (0, "evening"), "tomorrow": (1, None), "tmr": (1, None),
    "tmrw": (1, None), "day after tomorrow": (2, None), "the day after tomorrow": (2, None),
    "yesterday": (-1, None), "this morning": (0, "morning"), "this afternoon": (0, "afternoon"),
    "this evening": (0, "evening"),
}  # fmt: skip
_CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_CN_WEEK_PREFIX = {"这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2}
_EN_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_EN_WEEK_PREFIX = {"this": 0, "next": 1}  # "coming" and "this coming" are the bare weekday
_EN_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


def _day_word(m: re.Match[str]) -> _Piece:
    days, period = _DAY_WORDS[" ".join(m[0].lower().split())]
    return _day(m, _offset(days), period)


def _cn_weekday(m: re.Match[str]) -> _Piece:
    weeks = _CN_WEEK_PREFIX[m["pre"]] if m["pre"] else None
    return _day(m, _weekday(_CN_WEEKDAYS[m["wd"]], weeks))


def _en_weekday(m: re.Match[str]) -> _Piece:
    prefix = " ".join((m["pre"] or "").lower().split())
    word = m["wd"].lower()
    strength = _STRONG
    if not prefix and not m[0].lower().startswith("on") and len(word) < 6:  # "sat down", "sun"
        strength = _IGNORED if m["wd"] in ("sat", "sun") else _WEAK
    return _day(m, _weekday(_EN_WEEKDAYS[word[:3]], _EN_WEEK_PREFIX.get(prefix)), None, strength)


def _ymd(m: re.Match[str]) -> _Piece:
    return _day(m, _month_day(_number(m["mo"]), _number(m["d"]), int(m["y"])))


def _md(m: re.Match[str]) -> _Piece:
    return _day(m, _month_day(_number(m["mo"]), _number(m["d"])))


def _md_slash(m: re.Match[str]) -> _Piece:
    return _day(m, _month_day(int(m["mo"]), int(m["d"])), strength=_WEAK)


def _en_date(m: re.Match[str]) -> _Piece:
    month, day = _EN_MONTHS[m["mon"][:3].lower()], int(m["d"])
    return _day(m, _month_day(month, day, int(m["y"]) if m["y"] else None))


def _cn_day_of_month(m: re.Match[str]) -> _Piece:
    return _day(m, _day_of_month(_number(m["d"]), 1 if m["next"] else None))


def _cn_month_edge(m: re.Match[str]) -> _Piece:
    ahead = 1 if (m["pre"] or "").startswith("下") else 0
    return _day(m, _month_end(ahead) if m["which"] == "底" else _month_start(ahead == 1))


def _next_month(m: re.Match[str]) -> _Piece:
    return _day(m, _month_start(next_only=True))


def _year_end_cn(m: re.Match[str]) -> _Piece:
    return _day(m, _year_end(0))


def _en_end_of(m: re.Match[str]) -> _Piece:
    ahead = 1 if (m["which"] or "").lower() == "next" else 0
    return _day(m, _month_end(ahead) if m["unit"].lower() == "month" else _year_end(ahead))


_CN_UNITS = {"小时": "hour", "钟头": "hour", "分钟": "minute", "天": "day", "日": "day"}
_CN_UNITS |= {"周": "week", "星期": "week", "礼拜": "week", "月": "month"}


def _relative(m: re.Match[str], count: int | None, half: bool, unit: str) -> _Piece:
    if count is None and not half:
        return _invalid(m)
    n = count or 0
    if unit in ("hour", "minute"):
        if half and unit == "minute":
            return _invalid(m)
        minutes = n * 60 + (30 if half else 0) if unit == "hour" else n
        return _Piece("instant", m.start(), m.end(), delta=timedelta(minutes=minutes))
    if unit == "month":
        return _day(m, _offset(15 if half else 0, months=n))
    if half:  # 半天, 半周: too vague
        return _invalid(m)
    return _day(m, _offset(n * 7 if unit == "week" else n))


def _cn_relative(m: re.Match[str]) -> _Piece:
    count = _number(m["n"]) if m["n"] else None
    return _relative(m, count, bool(m["half"]), _CN_UNITS[m["unit"]])


def _en_relative(m: re.Match[str]) -> _Piece:
    amount = " ".join(m["n"].lower().split())
    half = amount.startswith("half") or bool(m["half"])
    count = None if amount.startswith("half") else _number(amount)
    unit = m["unit"].lower()
    if unit.startswith("h"):
        name = "hour"
    elif unit.startswith("mi"):
        name = "minute"
    else:
        name = {"d": "day", "w": "week", "m": "month"}[unit[0]]
    return _relative(m, count, half, name)


# --- the table ----------------------------------------------------------------------------------


def _alternatives(words: Iterable[str]) -> str:
    """Longest first, so that 大后天 is not read as 大 + 后天; spaces match any whitespace."""
    return "|".join(r"\s+".join(map(re.escape, w.split())) for w in sorted(words, key=len)[::-1])


_NO_LETTER_BEFORE, _NO_LETTER_AFTER = r"(?<![a-z])", r"(?![a-z])"
_AT = r"(?:(?<![a-z])at\s+|@\s*)"
_ON = r"(?:(?<![a-z])on\s+)"
_AMPM = r"(?P<ampm>a\.m\.?|am|p\.m\.?|pm)(?![a-z])"
# A lone 早/晚 after 最/较... is "at the earliest/latest", not a part of the day: 最晚3点前.
_CN_PERIOD = "(?P<p>上午|早上|早晨|中午|下午|午后|傍晚|晚上|凌晨|(?<![最较稍提趁太])[早晚])"
_EN_NUMBER = _alternatives([*_EN_NUMBERS])
_MONTH = (
    r"(?P<mon>january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug"
    r"|september|sept|sep|october|oct|november|nov|december|dec)(?![a-z])\.?"
)
_EN_WEEKDAY = (
    r"(?P<wd>monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri"
    r"|saturday|sat|sunday|sun)(?![a-z])"
)
_CN_REL = rf"(?P<n>{_N})?个?(?P<half>半)?个?(?P<unit>小时|钟头|分钟|天|日|周|星期|礼拜|(?<=个)月)"
_EN_REL = (
    rf"(?P<n>[0-9]{{1,3}}|half\s+an?|{_EN_NUMBER})\s+"
    r"(?P<unit>hours?|hrs?|minutes?|mins?|days?|weeks?|wks?|months?)(?P<half>\s+and\s+a\s+half)?"
)
_NOT_A_DATE_AFTER = f"[0-9{_CN_NUM_CHARS}个万千百元块%]"

_RULES: list[tuple[str, Callable[[re.Match[str]], _Piece]]] = [
    # days
    (_alternatives([w for w in _DAY_WORDS if not w.isascii()]), _day_word),
    (f"{_NO_LETTER_BEFORE}(?:{_alternatives([w for w in _DAY_WORDS if w.isascii()])})"
     f"{_NO_LETTER_AFTER}", _day_word),
    ("(?P<pre>下下个?|下个?|这个?|本)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])", _cn_weekday),
    (rf"{_NO_LETTER_BEFORE}{_ON}?(?:(?P<pre>this\s+coming|this|next|coming)\s+)?{_EN_WEEKDAY}",
     _en_weekday),
    # dates
    (rf"(?<![0-9])(?P<y>20[0-9]{{2}})年(?P<mo>{_N})月(?P<d>{_N})[日号]?", _ymd),
    (r"(?<![0-9])(?P<y>20[0-9]{2})(?P<sep>[-/.])(?P<mo>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
     r"(?![0-9])", _ymd),
    (rf"(?<![0-9])(?P<mo>{_N})月(?P<d>{_N})(?:[日号]|(?!{_NOT_A_DATE_AFTER}))", _md),
    (r"(?<![0-9/.])(?P<mo>[0-9]{1,2})/(?P<d>[0-9]{1,2})(?![0-9/])", _md_slash),
    (rf"{_NO_LETTER_BEFORE}{_ON}?{_MONTH}\s*(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9a-z])"
     r"(?:,?\s*(?P<y>20[0-9]{2})(?![0-9]))?", _en_date),
    (rf"{_NO_LETTER_BEFORE}{_ON}?(?:the\s+)?(?<![0-9])(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?\s*"
     rf"(?:of\s+)?{_MONTH}(?:,?\s*(?P<y>20[0-9]{{2}})(?![0-9]))?", _en_date),
    (rf"(?<![0-9{_CN_NUM_CHARS}])(?P<next>下个?月)?(?P<d>{_N})[日号](?![楼线院房室机门车位栋层游])",
     _cn_day_of_month),
    ("(?P<pre>下个?|本|这个?)?月(?P<which>底|初)", _cn_month_edge),
    (f"下个?月(?![0-9{_CN_NUM_CHARS}底初中])", _next_month),
    (r"(?:今|本|这个?)?年底", _year_end_cn),
    (r"(?<![a-z])end\s+of\s+(?:the\s+)?(?:(?P<which>this|next)\s+)?(?P<unit>month|year)(?![a-z])",
     _en_end_of),
    (r"(?<![a-z])next\s+month(?![a-z])", _next_month),
    # relative
    (f"(?=[0-9{_CN_NUM_CHARS}半]){_CN_REL}(?:以后|之后|后)", _cn_relative),
    (f"再?过{_CN_REL}(?:以后|之后|后)?", _cn_relative),
    (rf"{_NO_LETTER_BEFORE}in\s+{_EN_REL}{_NO_LETTER_AFTER}", _en_relative),
    (rf"{_NO_LETTER_BEFORE}{_EN_REL}\s+(?:from\s+now|later){_NO_LETTER_AFTER}", _en_relative),
    # clock times
    (rf"{_CN_PERIOD}?(?<![0-9])(?P<h>{_N})[点时](?:(?P<half>半)|(?P<quarter>一刻|三刻)"
     rf"|(?P<m>[零〇]?{_N})分?)?钟?", _cn_clock),
    (rf"{_AT}?{_CN_PERIOD}?(?<![0-9:.])(?P<h>[0-9]{{1,2}}):(?P<m>[0-9]{{2}})(?![0-9])"
     rf"(?:\s*{_AMPM})?", _digital_clock),
    (rf"{_AT}?(?<![0-9:.])(?P<h>[0-9]{{1,2}})\s*{_AMPM}", _digital_clock),
    (rf"{_AT}(?P<h>[0-9]{{1,2}})(?![0-9:])", _bare_clock),
    (rf"{_AT}?{_NO_LETTER_BEFORE}(?<![0-9])(?P<h>[0-9]{{1,2}}|{_EN_NUMBER})\s*o['’]?\s?clock"
     f"{_NO_LETTER_AFTER}", _oclock),
    (rf"{_AT}?{_NO_LETTER_BEFORE}(?:12\s*)?(?P<word>noon|midday|midnight){_NO_LETTER_AFTER}",
     _noon),
    # parts of the day, meaningful next to a day only
    ("(?P<word>上午|早上|早晨|中午|下午|午后|傍晚|晚上)", _period),
    (rf"{_NO_LETTER_BEFORE}(?:in\s+the\s+)?(?P<word>morning|afternoon|evening|night)"
     f"{_NO_LETTER_AFTER}", _period),
]  # fmt: skip
_PATTERNS = [(re.compile(pattern, re.IGNORECASE), build) for pattern, build in _RULES]

# Same-length replacements only, so that positions in the normalised text are positions in the
# original: full-width digits and colon, Traditional characters.
_NORMALIZE = str.maketrans(
    "０１２３４５６７８９：／－週禮後號點個鐘頭兩這時過",
    "0123456789:/-周礼后号点个钟头两这时过",
)
_GAP = re.compile(r"[\s,，]*(?:的\s*)?")
_SEPARATORS = " \t\n\r\u3000,，;；:：、.。!！?？"
_FILLER = re.compile(
    r"(?:[\W_]|再联系|联系|再打电话|打电话|再打|回电话|回电|回访|再跟进|跟进|再说|提醒我|提醒|左右|前后"
    r"|大概|大约|约|吧|再|在|于|(?<![a-z])(?:call\s+back|callback|call|follow[\s-]*up|remind\s+me"
    r"|ping|please|pls|around|about|approx|at|on|by|ok)(?![a-z]))*",
    re.IGNORECASE,
)


def _scan(text: str) -> list[_Piece]:
    """All pieces, leftmost first; of overlapping ones the earliest, then the longest, wins."""
    matches: list[tuple[int, int, int, re.Match[str], Callable[[re.Match[str]], _Piece]]] = []
    for order, (pattern, build) in enumerate(_PATTERNS):
        position = 0
        while (m := pattern.search(text, position)) is not None:
            matches.append((m.start(), m.start() - m.end(), order, m, build))
            position = m.start() + 1
    matches.sort(key=lambda found: found[:3])
    pieces: list[_Piece] = []
    for start, _, _, m, build in matches:
        if not pieces or start >= pieces[-1].end:
            pieces.append(build(m))
    return pieces


def _groups(pieces: list[_Piece], text: str) -> list[list[_Piece]]:
    """Touching pieces of different kinds, e.g. a day and a clock time, make one expression."""
    groups: list[list[_Piece]] = []
    for piece in pieces:
        current = groups[-1] if groups else []
        if (
            current
            and "instant" not in (piece.kind, current[-1].kind)
            and all(other.kind != piece.kind and other.leads for other in current)
            and _GAP.fullmatch(text, current[-1].end, piece.start)
        ):
            current.append(piece)
        else:
            groups.append([piece])
    return groups


def _resolve(group: list[_Piece], now: datetime, default_hour: int) -> tuple[datetime, bool] | None:
    if not all(piece.valid for piece in group):
        return None
    kinds = {piece.kind: piece for piece in group}
    if (instant := kinds.get("instant")) is not None and instant.delta is not None:
        # Elapsed time, not wall-clock time: "in 2 hours" is two real hours even across DST.
        at = (now.astimezone(UTC) + instant.delta).astimezone(now.tzinfo)
        return at.replace(second=0, microsecond=0), True
    day, clock, part = kinds.get("day"), kinds.get("clock"), kinds.get("period")
    if day is None and clock is None:
        return None
    period = next((p.period for p in (clock, part, day) if p is not None and p.period), None)
    if clock is not None:
        minutes = _minutes(clock.hour, clock.minute, period)
        if minutes is None:
            return None
    else:
        minutes = _PERIOD_DEFAULT.get(period or "", default_hour) * 60
    if day is None or day.day is None:
        at = _at(now.date(), minutes, now)
        return (at if at > now else _at(now.date() + timedelta(days=1), minutes, now)), True
    when = day.day(now, minutes if clock is not None else None)
    return None if when is None else (_at(when, minutes, now), clock is not None)


def _expressions(text: str, now: datetime, default_hour: int) -> list[tuple[ParsedTime, int]]:
    """Every understood expression in order, with how sure it is to be a time."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (the rep's local time)")
    if not 0 <= default_hour <= 23:
        raise ValueError(f"default_hour must be 0-23, not {default_hour}")
    normalized = text.translate(_NORMALIZE)
    found: list[tuple[ParsedTime, int]] = []
    for group in _groups(_scan(normalized), normalized):
        resolved = _resolve(group, now, default_hour)
        if resolved is not None:
            at, has_time = resolved
            parsed = ParsedTime(at, group[0].start, group[-1].end, has_time, text)
            found.append((parsed, max(piece.strength for piece in group)))
    return found
