"""Builds and delivers exports (``ExportJob``): in the background once the update that asked
for one has committed, and again, in this process or another, for a job whose process stopped
before delivering it (``recover``, on a JobQueue tick).

A run claims its job, sends "building n rows…" for a big export, reads the rows page by page
(each page in a short unit of work of its own, written into the workbook off the event loop),
renews its claim as it goes, sends the document, turns the progress message into "ready" and
drops the job. A run that finds its job taken over (it was too slow to renew) stops without
sending. A process killed between sending the document and dropping the job sends it again
after the restart: a file delivered twice, never a file lost."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InputFile
from telegram.error import TelegramError

from crm.exports.records import Cursor, ExportJob
from crm.exports.service import EXPORT_RENEW, ExportPlan, Page
from crm.exports.xlsx import ExportWorkbook, write_pages
from crm.texts import Text

if TYPE_CHECKING:
    from bot.app import KehuApplication

_LOG = logging.getLogger(__name__)


class _TakenOver(Exception):
    """Another run holds the job now."""


class ExportBuilder:
    def __init__(self, application: KehuApplication) -> None:
        self._application = application

    def start(self, job: ExportJob, plan: ExportPlan, zone: ZoneInfo) -> None:
        """Build ``job`` as planned in the update that asked for it."""
        self._application.create_task(self._run(job, plan, zone), name=f"export-{job.id}")

    async def recover(self) -> int:
        """Start a run for each job whose process stopped; how many."""
        kehu = self._application.kehu
        async with kehu.unit_of_work() as uow:
            abandoned = await kehu.services(uow).exports.abandoned()
        for job in abandoned:
            _LOG.warning("export job %s lost its process; building it again", job.id)
            self._application.create_task(self._run(job, None, None), name=f"export-{job.id}")
        return len(abandoned)

    async def _run(self, job: ExportJob, plan: ExportPlan | None, zone: ZoneInfo | None) -> None:
        kehu = self._application.kehu
        claim = f"{kehu.worker_id}:{secrets.token_hex(3)}"  # this run's own, not the process's
        try:
            async with kehu.unit_of_work() as uow:
                exports = kehu.services(uow).exports
                if not await exports.claim(job, claim):
                    return  # another run has it
                if plan is None or zone is None:
                    resumed = await exports.resume(job)
                    if resumed is None:
                        await uow.commit()
                        return
                    plan, zone = resumed
                await uow.commit()
        except Exception:  # noqa: BLE001 - a job that cannot be planned again is dropped, not retried
            _LOG.exception("export job %s could not be resumed; dropped", job.id)
            await self._drop(job)
            return
        try:
            await _Build(self._application, job, plan, zone, claim).deliver()
        except _TakenOver:
            _LOG.warning("export job %s was taken over by another run; this one stops", job.id)
            return
        await self._drop(job)

    async def _drop(self, job: ExportJob) -> None:
        kehu = self._application.kehu
        async with kehu.unit_of_work() as uow:
            await kehu.services(uow).exports.delivered(job)
            await uow.commit()


class _Build:
    """One run's building and sending of one export."""

    def __init__(
        self,
        application: KehuApplication,
        job: ExportJob,
        plan: ExportPlan,
        zone: ZoneInfo,
        claim: str,
    ) -> None:
        self._kehu = application.kehu
        self._bot = application.bot
        self._job, self._plan, self._zone, self._claim = job, plan, zone, claim
        self._renewed = self._kehu.clock.now()  # claimed just now

    def t(self, text: Text) -> str:
        return self._kehu.catalogue.render(self._job.language, text)

    async def deliver(self) -> None:
        plan, chat_id = self._plan, self._job.chat_id
        what = self.t(plan.sheet_name)
        progress_id = self._job.progress_message_id
        try:
            if plan.large and progress_id is None:
                building = self.t(Text("export.building", {"what": what, "count": plan.rows}))
                progress_id = await self._send(lambda: self._bot.send_message(chat_id, building))
                if progress_id is not None:
                    await self._note_progress(progress_id)
            book = ExportWorkbook(what, plan.columns, self.t, self._zone)
            data = await write_pages(book, self._fetch)
        except _TakenOver:
            raise
        except Exception:  # noqa: BLE001 - a background task: log it, tell the member
            _LOG.exception("export %s (job %s) failed", plan.kind.value, self._job.id)
            failed = self.t(Text("export.failed", {"what": what}))
            await self._send(lambda: self._bot.send_message(chat_id, failed))
            return
        await self._renew()  # still ours: send
        period = self.t(Text(f"export.period.{plan.period}"))
        key = "export.caption" if plan.full_phones else "export.caption_masked"
        caption = self.t(Text(key, {"what": what, "period": period, "count": book.rows}))
        if book.truncated:
            caption += "\n" + self.t(Text("export.truncated", {"count": book.rows}))
        document = InputFile(data, filename=plan.file_name)
        await self._send(lambda: self._bot.send_document(chat_id, document, caption=caption))
        if progress_id is not None:
            built = self.t(Text("export.built", {"what": what, "count": book.rows}))
            message_id = progress_id
            await self._send(
                lambda: self._bot.edit_message_text(built, chat_id=chat_id, message_id=message_id)
            )

    async def _fetch(self, after: Cursor | None) -> Page:
        if self._kehu.clock.now() - self._renewed >= EXPORT_RENEW:
            await self._renew()
        async with self._kehu.unit_of_work() as uow:  # read only: rolled back on leaving
            return await self._kehu.services(uow).exports.page(self._plan, after)

    async def _renew(self) -> None:
        async with self._kehu.unit_of_work() as uow:
            still_ours = await self._kehu.services(uow).exports.renew(self._job, self._claim)
            await uow.commit()
        if not still_ours:
            raise _TakenOver
        self._renewed = self._kehu.clock.now()

    async def _note_progress(self, message_id: int) -> None:
        async with self._kehu.unit_of_work() as uow:
            await self._kehu.services(uow).exports.building(self._job, message_id)
            await uow.commit()

    async def _send(self, call: Callable[[], Awaitable[object]]) -> int | None:
        if self._kehu.limiter is not None:
            await self._kehu.limiter.wait_turn(None)
        try:
            sent = await call()
        except TelegramError:  # the member may have blocked the bot meanwhile: nothing to retry
            _LOG.warning("export message could not be sent", exc_info=True)
            return None
        return getattr(sent, "message_id", None)
