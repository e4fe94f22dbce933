"""Reports on demand (/report): conversion, stage funnel, segments, lifetime value, top
lists, rep leaderboard."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import KehuContext


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return []
