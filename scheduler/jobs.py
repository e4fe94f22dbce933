"""The recurring jobs, registered on PTB's JobQueue (APScheduler)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import KehuApplication
    from bot.context import KehuContext

_LOG = logging.getLogger(__name__)
OUTBOX_TICK_SECONDS = 1.0
PROCESSED_UPDATES_KEPT = timedelta(days=7)


async def outbox_tick(context: KehuContext) -> None:
    application: KehuApplication = context.application  # type: ignore[assignment]
    if application.outbox is not None:
        await application.outbox.drain()


async def prune_processed_updates(context: KehuContext) -> None:
    """Telegram redelivers within 24 hours; a week of update ids is plenty."""
    kehu = context.kehu
    async with kehu.unit_of_work() as uow:
        removed = await uow.updates.prune(kehu.clock.now() - PROCESSED_UPDATES_KEPT)
        await uow.commit()
    _LOG.info("pruned %d processed update ids", removed)


def schedule(application: Any) -> None:
    jobs = application.job_queue
    jobs.run_repeating(outbox_tick, interval=OUTBOX_TICK_SECONDS, first=0.2, name="outbox")
    jobs.run_repeating(
        prune_processed_updates,
        interval=timedelta(hours=6),
        first=timedelta(minutes=1),
        name="prune-processed-updates",
    )
