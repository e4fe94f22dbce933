"""Dates and times as a reader expects them in their language and time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_datetime(moment: datetime, zone: ZoneInfo, language: str) -> str:
    local = moment.astimezone(zone)
    if language == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{_MONTHS_EN[local.month - 1]} {local.day}, {local.year} {local:%H:%M}"
