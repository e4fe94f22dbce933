"""Import of existing customers from .xlsx / .csv: header mapping, dry run, atomic commit."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import KehuContext


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return []
