"""Delivers the outbox: claims due messages, sends each one through Telegram under the rate
limit, and records the outcome of each message in its own transaction — so a crash between
"sent" and "marked" can repeat only the one message that was in flight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.i18n import Catalogue
from crm.clock import Clock
from crm.outbox import Chart, ChartKind, OutboxItem, backoff_after, gives_up_after
from crm.texts import Text
from scheduler.rate_limit import SendRateLimiter
from storage.uow import SqlUnitOfWork

_LOG = logging.getLogger(__name__)
_UNREACHABLE_MARKERS = ("chat not found", "user is deactivated", "bot was blocked")
CAPTION_MAX = 1024


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class OutboxDispatcher:
    def __init__(
        self,
        *,
        units: Callable[[], SqlUnitOfWork],
        bot: Bot,
        clock: Clock,
        catalogue: Catalogue,
        worker_id: str,
        limiter: SendRateLimiter,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=2),
        send_timeout: float = 10.0,
    ) -> None:
        self._units = units
        self._bot = bot
        self._clock = clock
        self._catalogue = catalogue
        self._worker_id = worker_id
        self._limiter = limiter
        self._batch_size = batch_size
        self._lease = lease
        self.send_timeout = send_timeout  # seconds to wait for Telegram's answer
        self._lock = asyncio.Lock()
        self._again = False
        self.stopping = False

    async def drain(self) -> DrainReport:
        """Send everything that is due. A call while a drain runs asks that drain to look again."""
        if self._lock.locked():
            self._again = True
            return DrainReport()
        async with self._lock:
            return await self._drain_locked()

    async def settle(self) -> DrainReport:
        """Like ``drain``, but waits for a drain already under way and then drains again."""
        async with self._lock:
            return await self._drain_locked()

    async def _drain_locked(self) -> DrainReport:
        report = DrainReport()
        self._again = True
        while self._again and not self.stopping:
            self._again = False
            while not self.stopping and (batch := await self._claim()):
                for position, item in enumerate(batch):
                    if self.stopping:
                        await self._release(batch[position:])
                        break
                    await self._deliver(item, report)
        return report

    async def _release(self, items: list[OutboxItem]) -> None:
        """Hand back claimed messages we will not send (shutting down) without waiting a lease."""
        async with self._units() as uow:
            for item in items:
                await uow.outbox.reschedule(item.id, self._clock.now(), "released", item.attempts)
            await uow.commit()

    async def _claim(self) -> list[OutboxItem]:
        now = self._clock.now()
        async with self._units() as uow:
            items = await uow.outbox.claim(
                worker=self._worker_id,
                now=now,
                stale_before=now - self._lease,
                limit=self._batch_size,
            )
            await uow.commit()
        return list(items)

    async def _deliver(self, item: OutboxItem, report: DrainReport) -> None:
        await self._limiter.wait_turn(item.chat_id)
        try:
            message_id = await self._send(item)
        except RetryAfter as error:
            seconds = _seconds(error.retry_after)
            self._limiter.pause(seconds)
            await self._reschedule(item, timedelta(seconds=seconds), error, item.attempts)
            report.retried += 1
        except (Forbidden, BadRequest) as error:
            await self._give_up(item, error, unreachable=_is_unreachable(error))
            report.failed += 1
        except TelegramError as error:  # network trouble, timeouts, 5xx
            attempts = item.attempts + 1
            if gives_up_after(attempts):
                await self._give_up(item, error, unreachable=False)
                report.failed += 1
            else:
                await self._reschedule(item, backoff_after(attempts), error, attempts)
                report.retried += 1
        else:
            async with self._units() as uow:
                await uow.outbox.mark_sent(item.id, message_id, self._clock.now())
                await uow.commit()
            report.sent += 1

    async def _send(self, item: OutboxItem) -> int:
        """The id of the message that now shows the item."""
        text, markup = self._render(item.payload)
        chart = item.payload.get("chart")
        replaces = item.payload.get("replaces")
        if replaces is not None:
            return await self._replace(item, int(replaces), text, markup)
        if chart is None:
            return await self._send_text(item, text, markup)
        language = str(item.payload.get("language") or "zh")
        try:
            png = await asyncio.to_thread(
                chart_png, self._catalogue, language, Chart.from_json(chart)
            )
        except Exception:  # noqa: BLE001  # a chart that cannot be drawn: its caption, as text
            _LOG.exception("outbox %s: the chart could not be drawn; sending its text", item.key)
            return await self._send_text(item, text, markup)
        photo = await self._bot.send_photo(
            item.chat_id,
            InputFile(png, filename="chart.png"),
            caption=text[:CAPTION_MAX],
            reply_markup=markup,
            read_timeout=self.send_timeout,
        )
        return photo.message_id

    async def _send_text(
        self, item: OutboxItem, text: str, markup: InlineKeyboardMarkup | None
    ) -> int:
        message = await self._bot.send_message(
            item.chat_id, text, reply_markup=markup, read_timeout=self.send_timeout
        )
        return message.message_id

    async def _replace(
        self, item: OutboxItem, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> int:
        """Edit the message into the item's text; one that shows it already counts as sent,
        and one that cannot be edited (deleted, too old) gives way to a new message."""
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=item.chat_id,
                message_id=message_id,
                reply_markup=markup,
                read_timeout=self.send_timeout,
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return message_id
            if _is_unreachable(error):
                raise
            _LOG.info(
                "outbox %s: message %s not edited (%s); sending anew", item.key, message_id, error
            )
            return await self._send_text(item, text, markup)
        return message_id

    def _render(self, payload: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
        language = str(payload.get("language") or "zh")
        text = "\n".join(
            self._catalogue.render(language, Text.from_json(part))
            for part in (payload["text"], *(payload.get("lines") or []))
        )
        rows = [
            [
                InlineKeyboardButton(
                    self._catalogue.render(language, Text.from_json(button["label"])),
                    callback_data=button.get("data"),
                    url=button.get("url"),
                )
                for button in row
            ]
            for row in payload.get("buttons") or []
        ]
        return text, InlineKeyboardMarkup(rows) if rows else None

    async def _reschedule(
        self, item: OutboxItem, delay: timedelta, error: Exception, attempts: int
    ) -> None:
        _LOG.info("outbox %s to chat %s retries in %s: %s", item.key, item.chat_id, delay, error)
        async with self._units() as uow:
            await uow.outbox.reschedule(item.id, self._clock.now() + delay, repr(error), attempts)
            await uow.commit()

    async def _give_up(self, item: OutboxItem, error: Exception, *, unreachable: bool) -> None:
        _LOG.warning("outbox %s to chat %s given up: %s", item.key, item.chat_id, error)
        async with self._units() as uow:
            await uow.outbox.mark_failed(item.id, repr(error), self._clock.now())
            if unreachable:
                await uow.members.set_reachable(item.chat_id, False)
            await uow.commit()


def chart_png(catalogue: Catalogue, language: str, chart: Chart) -> bytes:
    """Draw a chart described in the domain (blocking: call it from a thread)."""
    from bot import charts  # matplotlib: imported on first use, not at start-up

    title = catalogue.render(language, chart.title)
    series = {catalogue.render(language, name): values for name, values in chart.series}
    if chart.kind is ChartKind.FUNNEL:
        values = next(iter(series.values()), ())
        return charts.funnel(title, chart.labels, values)
    if chart.kind is ChartKind.BAR or len(series) == 1:
        values = next(iter(series.values()), ())
        return charts.bar(title, chart.labels, values)
    return charts.grouped_bar(title, chart.labels, series)


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


def _is_unreachable(error: TelegramError) -> bool:
    return isinstance(error, Forbidden) or any(
        marker in error.message.lower() for marker in _UNREACHABLE_MARKERS
    )
