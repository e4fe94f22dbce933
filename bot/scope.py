"""Everything that belongs to the handling of one update: its unit of work (one transaction),
who is talking, in which language, and what to send once the transaction has committed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import ExtBot

from crm.audit import AuditEntry
from crm.clock import Clock
from crm.members import Member
from crm.services import Services
from scheduler.rate_limit import SendRateLimiter
from storage.uow import SqlUnitOfWork

_LOG = logging.getLogger(__name__)
_MAX_REPLY_WAIT = 30.0

Effect = Callable[[ExtBot[None]], Awaitable[object]]


class UpdateScope:
    def __init__(
        self, update: Update, uow: SqlUnitOfWork, services: Services, language: str
    ) -> None:
        self.update = update
        self.uow = uow
        self.services = services
        self.language = language
        self.member: Member | None = None
        self.failed = False
        self._effects: list[Effect] = []
        self.callback_answered = False
        self.kept_audit: list[AuditEntry] = []  # recorded even though the update rolls back

    def after_commit(self, effect: Effect) -> None:
        """Run ``effect`` (a Telegram call) once the update's transaction has committed."""
        self._effects.append(effect)

    def fail(self) -> None:
        """The update failed: its writes roll back and nothing queued so far is sent."""
        self.failed = True
        self._effects.clear()

    async def run_effects(
        self, bot: ExtBot[None], clock: Clock, limiter: SendRateLimiter | None = None
    ) -> None:
        for effect in self._effects:
            if limiter is not None:
                await limiter.wait_turn(None)  # counts against the bot's overall rate
            await _run_once_more_after_flood_wait(effect, bot, clock)
        query = self.update.callback_query
        if query is not None and not self.callback_answered:
            await _run_once_more_after_flood_wait(
                lambda bot: bot.answer_callback_query(query.id), bot, clock
            )


async def _run_once_more_after_flood_wait(effect: Effect, bot: ExtBot[None], clock: Clock) -> None:
    for attempt in (1, 2):
        try:
            await effect(bot)
            return
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            if attempt == 2 or seconds > _MAX_REPLY_WAIT:
                _LOG.warning("reply dropped after flood control: %s", error)
                return
            await clock.sleep(seconds)
        except TelegramError as error:
            _LOG.warning("reply could not be sent: %s", error)
            return
