"""Report periods: whole days in the member's time zone, from the first day to the last day
inclusive. Presets (this week, last week, this month, last month, this quarter) or a custom range
typed as two dates; weeks start on Monday."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.errors import InvalidInput

PRESETS = ("this_week", "last_week", "this_month", "last_month", "quarter")
CUSTOM = "custom"
EXAMPLE = "2026-11-01 2026-11-20"
MAX_DAYS = 3 * 366
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    kind: str = CUSTOM

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: midnight of the first day to midnight after the last day."""
        start = datetime.combine(self.first_day, time(), zone)
        end = datetime.combine(self.last_day + timedelta(days=1), time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    @property
    def token(self) -> str:
        """The dates, compact (file names, the audit log): 20261101-20261130."""
        return f"{self.first_day:%Y%m%d}-{self.last_day:%Y%m%d}"

    @property
    def button_token(self) -> str:
        """For button data: the token, then a preset's name (20261101-20261130-this_month),
        so the PDF of a preset is titled with it too."""
        return self.token if self.kind == CUSTOM else f"{self.token}-{self.kind}"

    @classmethod
    def from_token(cls, token: str) -> Period:
        """A ``token`` or ``button_token``. A preset's name on dates of another shape (a forged
        button) is dropped: the period is then a custom one."""
        first, _, rest = token.partition("-")
        last, _, kind = rest.partition("-")
        try:
            period = cls(_compact(first), _compact(last))
        except ValueError:
            raise InvalidInput("report.bad_range", example=EXAMPLE) from None
        if kind in PRESETS and _fits(kind, period):
            return cls(period.first_day, period.last_day, kind)
        return period


def preset(kind: str, today: date) -> Period:
    """The preset period around ``today`` (the member's local date)."""
    if kind == "this_week":
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6), kind)
    if kind == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(monday, monday + timedelta(days=6), kind)
    if kind == "this_month":
        return Period(today.replace(day=1), _month_end(today), kind)
    if kind == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, kind)
    if kind == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        first = date(today.year, first_month, 1)
        return Period(first, _month_end(date(today.year, first_month + 2, 1)), kind)
    raise InvalidInput("report.bad_range", example=EXAMPLE)


def parse_range(text: str) -> Period:
    """Two dates, first and last day: ``2026-11-01 2026-11-20`` (also 2026/11/01, 2026年11月1日,
    with 至, ~, to or a dash between them). The end before the start is refused, with an example
    of what works."""
    found = list(_DATE.finditer(text))
    rest = _DATE.sub(" ", text).strip(" \t,，~～至到-–—to")
    if len(found) != 2 or rest:
        raise InvalidInput("report.bad_range", example=EXAMPLE)
    try:
        first, last = (date(int(m[1]), int(m[2]), int(m[3])) for m in found)
    except ValueError:
        raise InvalidInput("report.bad_date", example=EXAMPLE) from None
    if last < first:
        raise InvalidInput(
            "report.end_before_start",
            first=first.isoformat(),
            last=last.isoformat(),
            example=f"{last.isoformat()} {first.isoformat()}",
        )
    period = Period(first, last)
    if period.days > MAX_DAYS:
        raise InvalidInput("report.range_too_long", days=MAX_DAYS, example=EXAMPLE)
    return period


def _fits(kind: str, period: Period) -> bool:
    """Whether the dates are a whole week, month or quarter, as the preset ``kind`` covers."""
    shape = {"last_week": "this_week", "last_month": "this_month"}.get(kind, kind)
    whole = preset(shape, period.first_day)
    return (whole.first_day, whole.last_day) == (period.first_day, period.last_day)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _compact(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()
