"""/export for managers and admins: customers, follow-up records, tasks, deals (optionally for a
period) and survey answers, as an Excel document in the chat. Only what the member may see;
phones masked unless the role may see them whole; every export audit-logged (by the domain).

Why the workbook is built after the update, not inside it: replies leave only once the update's
transaction commits, and on SQLite that transaction holds the write lock from its first
statement. Building 100,000 rows inside it would keep every other writer (reminders, the
outbox) waiting ~10 s, and the member would see nothing until the very end. So the update only
prepares the export (permission, row count, audit entry) and commits; then, once committed, a
background task sends "building n rows…" (for a big export) and reads the rows page by page,
each page in a short unit of work of its own, writing each page off the event loop
(``asyncio.to_thread``); it sends the document and turns the progress message into "ready".
A failure tells the member so. Survey answers (hundreds, not 100,000) are built in the update,
like the /survey export."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ExtBot

from bot.context import KehuContext
from bot.runtime import Kehu
from crm.errors import InvalidInput
from crm.exports.records import Cursor, ExportKind
from crm.exports.service import DATED_KINDS, PERIODS, TABLE_KINDS, ExportPlan, Page
from crm.exports.xlsx import ExportWorkbook, write_pages
from crm.surveys import analysis
from crm.surveys.export import responses_workbook
from crm.texts import Text

_LOG = logging.getLogger(__name__)
_SHOWN_SURVEYS = 30
_BUILDING: set[int] = set()  # chats with an export being built (in this process)


async def export_command(update: Update, context: KehuContext) -> None:
    """/export, or straight away: /export customers, /export followups 30d."""
    args = [arg.lower() for arg in context.args or []]
    context.services.exports.check(context.member)  # refuses reps, audit-logged
    if not args:
        context.reply(*_menu(context))
        return
    try:
        kind = ExportKind(args[0])
    except ValueError:
        raise InvalidInput("export.usage") from None
    period = args[1] if len(args) > 1 else "all"
    if kind is ExportKind.SURVEY_RESPONSES or period not in PERIODS:
        raise InvalidInput("export.usage")
    await _start(context, kind, period)


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    step, rest = context.matches[0].group(1), context.matches[0].group(2)
    context.answer()
    if step == "s":
        if not rest.isdigit():
            raise InvalidInput("errors.button_expired")
        await _survey(context, int(rest))
        return
    kind_name, _, period = rest.partition(":")
    try:
        kind = ExportKind(kind_name)
    except ValueError:
        raise InvalidInput("errors.button_expired") from None
    if step == "k" and kind is ExportKind.SURVEY_RESPONSES:
        await _survey_list(context)
    elif step == "k" and kind in DATED_KINDS:
        context.edit(*_periods(context, kind))
    else:
        await _start(context, kind, period or "all")


# --- customers, follow-ups, tasks, deals ------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    plan: ExportPlan
    chat_id: int
    language: str
    zone: tzinfo


async def _start(context: KehuContext, kind: ExportKind, period: str) -> None:
    chat = context.scope.update.effective_chat
    assert chat is not None
    if chat.id in _BUILDING:  # one at a time per chat: a double press builds nothing twice
        raise InvalidInput("export.busy")
    plan = await context.services.exports.prepare(context.member, kind, period, context.zone)
    if plan.rows == 0:
        context.edit(
            context.t("export.nothing", what=_what(context, kind), period=_period(context, plan))
        )
        return
    job = _Job(plan, chat.id, context.language, context.zone)
    kehu, application = context.kehu, context.application

    async def launch(bot: ExtBot[None]) -> None:
        # The audit entry is committed; the long build runs on its own (PTB waits for it on
        # a graceful stop), so this update and the ones after it are not held up.
        _BUILDING.add(job.chat_id)
        application.create_task(_build(kehu, bot, job), name=f"export-{job.chat_id}")

    context.scope.after_commit(launch)


async def _build(kehu: Kehu, bot: ExtBot[None], job: _Job) -> None:
    try:
        await _build_and_send(kehu, bot, job)
    finally:
        _BUILDING.discard(job.chat_id)


async def _build_and_send(kehu: Kehu, bot: ExtBot[None], job: _Job) -> None:
    plan, t = job.plan, _translator(kehu, job.language)
    what = t(plan.sheet_name)
    progress_id: int | None = None
    try:
        if plan.large:
            progress_id = await _send(
                kehu,
                lambda: bot.send_message(
                    job.chat_id, t(Text("export.building", {"what": what, "count": plan.rows}))
                ),
            )
        book = ExportWorkbook(what, plan.columns, t, job.zone)

        async def fetch(after: Cursor | None) -> Page:
            async with kehu.unit_of_work() as uow:  # read only: rolled back on leaving
                return await kehu.services(uow).exports.page(plan, after)

        data = await write_pages(book, fetch)
    except Exception:  # noqa: BLE001 - a background task: log it, tell the member
        _LOG.exception("export %s for chat %s failed", plan.kind.value, job.chat_id)
        failed = t(Text("export.failed", {"what": what}))
        await _send(kehu, lambda: bot.send_message(job.chat_id, failed))
        return
    period = t(Text(f"export.period.{plan.period}"))
    key = "export.caption" if plan.full_phones else "export.caption_masked"
    caption = t(Text(key, {"what": what, "period": period, "count": book.rows}))
    if book.truncated:
        caption += "\n" + t(Text("export.truncated", {"count": book.rows}))
    await _send(
        kehu,
        lambda: bot.send_document(
            job.chat_id, InputFile(data, filename=plan.file_name), caption=caption
        ),
    )
    if progress_id is not None:
        built = t(Text("export.built", {"what": what, "count": book.rows}))
        await _send(
            kehu,
            lambda: bot.edit_message_text(built, chat_id=job.chat_id, message_id=progress_id),
        )


async def _send(kehu: Kehu, call: Callable[[], Awaitable[object]]) -> int | None:
    if kehu.limiter is not None:
        await kehu.limiter.wait_turn(None)
    try:
        sent = await call()
    except TelegramError:  # the member may have blocked the bot meanwhile: nothing to retry
        _LOG.warning("export message could not be sent", exc_info=True)
        return None
    return getattr(sent, "message_id", None)


def _translator(kehu: Kehu, language: str) -> Callable[[Text], str]:
    def translate(text: Text) -> str:
        return kehu.catalogue.render(language, text)

    return translate


# --- survey answers ---------------------------------------------------------------------------


async def _survey_list(context: KehuContext) -> None:
    surveys = await context.services.exports.surveys(context.member)
    if not surveys:
        context.edit(context.t("export.no_surveys"))
        return
    buttons = [
        [_button(f"{survey.title} (v{survey.version_number})", f"exp:s:{survey.id}")]
        for survey in surveys[:_SHOWN_SURVEYS]
    ]
    context.edit(context.t("export.pick_survey"), InlineKeyboardMarkup(buttons))


async def _survey(context: KehuContext, survey_id: int) -> None:
    found = await context.services.exports.survey_responses(context.member, survey_id, context.zone)
    language, render, zone = context.language, context.render, context.zone

    def build() -> bytes:
        summaries = analysis.summarise(found.form, found.responses)
        return responses_workbook(found.form, found.responses, summaries, language, render, tz=zone)

    data = await asyncio.to_thread(build)
    title, count = found.survey.title, len(found.responses)
    caption = (
        context.t("export.survey_caption_hidden", title=title, count=count, hidden=found.hidden)
        if found.hidden
        else context.t("export.survey_caption", title=title, count=count)
    )
    context.reply_document(data, found.file_name, caption)


# --- keyboards --------------------------------------------------------------------------------


def _menu(context: KehuContext) -> tuple[str, InlineKeyboardMarkup]:
    kinds = (*TABLE_KINDS, ExportKind.SURVEY_RESPONSES)
    buttons = [
        _button(context.t(f"export.kind.{kind.value}"), f"exp:k:{kind.value}") for kind in kinds
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    return context.t("export.menu"), InlineKeyboardMarkup(rows)


def _periods(context: KehuContext, kind: ExportKind) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        _button(context.t(f"export.period.{period}"), f"exp:p:{kind.value}:{period}")
        for period in PERIODS
    ]
    rows = [buttons[:1], buttons[1:3], buttons[3:]]
    return context.t("export.pick_period", what=_what(context, kind)), InlineKeyboardMarkup(rows)


def _what(context: KehuContext, kind: ExportKind) -> str:
    return context.t(f"export.sheet.{kind.value}")


def _period(context: KehuContext, plan: ExportPlan) -> str:
    return context.t(f"export.period.{plan.period}")


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("export", export_command),
        CallbackQueryHandler(pressed, pattern=r"^exp:(k|p|s):([\w:]{1,40})$"),
    ]
