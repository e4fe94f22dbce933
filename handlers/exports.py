"""Excel exports of what a member may see (customers, follow-ups, tasks, deals, survey answers)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import KehuContext


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return []
