"""Daily digests for managers and morning agendas for reps, pushed at each member's hour."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import KehuContext


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return []
