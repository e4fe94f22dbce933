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
REMINDER_TICK_SECONDS = 15.0
DIGEST_TICK_SECONDS = 60.0
EXPORT_TICK_SECONDS = 30.0
PROCESSED_UPDATES_KEPT = timedelta(days=7)


async def outbox_tick(context: KehuContext) -> None:
    """Starts a drain and returns: a long drain (a big batch at 30/s) runs on as a task while
    later ticks, finding it busy, just ask it to look again."""
    application: KehuApplication = context.application  # type: ignore[assignment]
    application.wake_outbox()


async def prune_processed_updates(context: KehuContext) -> None:
    """Telegram redelivers within 24 hours; a week of update ids is plenty."""
    kehu = context.kehu
    async with kehu.unit_of_work() as uow:
        removed = await uow.updates.prune(kehu.clock.now() - PROCESSED_UPDATES_KEPT)
        await uow.commit()
    _LOG.info("pruned %d processed update ids", removed)


async def reminder_tick(context: KehuContext) -> None:
    """Starts a dispatch and returns (thousands of reminders due at once take a while)."""
    application: KehuApplication = context.application  # type: ignore[assignment]
    application.create_task(application.reminders.run(), name="reminders")


async def dispatch_reminders(application: KehuApplication) -> int:
    """Due reminders and overdue warnings → outbox, one transaction per batch."""
    kehu = application.kehu
    queued = 0
    while True:
        async with kehu.unit_of_work() as uow:
            reminders = kehu.services(uow).reminders
            batch = await reminders.dispatch_due() + await reminders.dispatch_overdue()
            await uow.commit()
        queued += batch
        if batch == 0:
            break
    if queued:
        application.wake_outbox()
    return queued


async def recover_interrupted_imports(application: KehuApplication) -> int:
    """At start-up, before any update: imports whose commit a stopped process left unfinished
    (rolled back, nothing written) are handed back to their admins, who are told on the
    "importing…" message. A failure here is logged; the bot starts all the same."""
    kehu = application.kehu
    try:
        async with kehu.unit_of_work() as uow:
            recovered = await kehu.services(uow).imports.recover_interrupted(kehu.clock.now())
            await uow.commit()
    except Exception:  # noqa: BLE001 - e.g. SQLite's write lock held by another process
        _LOG.exception("imports cut short by a restart could not be looked for")
        return 0
    if recovered:
        _LOG.warning("%d import(s) cut short by a restart handed back to their admins", recovered)
    return recovered


async def export_tick(context: KehuContext) -> None:
    """Exports whose process stopped before delivering them are built again."""
    application: KehuApplication = context.application  # type: ignore[assignment]
    application.create_task(application.exports.recover(), name="export-recovery")


async def digest_tick(context: KehuContext) -> None:
    """Starts a digest run and returns (SingleFlight: one run at a time per process)."""
    application: KehuApplication = context.application  # type: ignore[assignment]
    application.create_task(application.digests.run(), name="digests")


async def dispatch_digests(application: KehuApplication) -> int:
    """Digests and morning agendas now due → outbox, one transaction per batch. Safe to run in
    two processes at once: the outbox key (member, local date) lets only one of them in."""
    kehu = application.kehu
    queued = 0
    while True:
        async with kehu.unit_of_work() as uow:
            batch = await kehu.services(uow).digests.dispatch_due()
            await uow.commit()
        queued += batch
        if batch == 0:
            break
    if queued:
        _LOG.info("queued %d digests", queued)
        application.wake_outbox()
    return queued


def schedule(application: Any) -> None:
    jobs = application.job_queue
    jobs.run_repeating(outbox_tick, interval=OUTBOX_TICK_SECONDS, first=0.2, name="outbox")
    jobs.run_repeating(reminder_tick, interval=REMINDER_TICK_SECONDS, first=1.0, name="reminders")
    jobs.run_repeating(digest_tick, interval=DIGEST_TICK_SECONDS, first=60.0, name="digests")
    jobs.run_repeating(export_tick, interval=EXPORT_TICK_SECONDS, first=5.0, name="exports")
    jobs.run_repeating(
        prune_processed_updates,
        interval=timedelta(hours=6),
        first=timedelta(minutes=1),
        name="prune-processed-updates",
    )
