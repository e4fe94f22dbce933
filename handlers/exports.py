"""/export for managers and admins: customers, follow-up records, tasks, deals (optionally for a
period) and survey answers, as an Excel document in the chat. Only what the member may see;
phones masked unless the role may see them whole; every export audit-logged (by the domain).

Why the workbook is built after the update, not inside it: replies leave only once the update's
transaction commits, and on SQLite that transaction holds the write lock from its first
statement. Building 100,000 rows inside it would keep every other writer (reminders, the
outbox) waiting ~10 s, and the member would see nothing until the very end. So the update only
asks for the export (permission, row count, audit entry, the export job) and commits; then
``scheduler.exports`` builds and sends it (and builds it again if the process stops first).
Survey answers (hundreds, not 100,000) are built in the update, like the /survey export."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ExtBot

from bot.context import KehuContext
from crm.errors import InvalidInput
from crm.exports.records import ExportKind
from crm.exports.service import DATED_KINDS, PERIODS, TABLE_KINDS, ExportPlan
from crm.surveys import analysis
from crm.surveys.export import responses_workbook

if TYPE_CHECKING:
    from bot.app import KehuApplication

_LOG = logging.getLogger(__name__)
_SHOWN_SURVEYS = 30


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


async def _start(context: KehuContext, kind: ExportKind, period: str) -> None:
    request = await context.services.exports.request(
        context.member, kind, period, context.zone, context.language
    )
    plan, job = request.plan, request.job
    if job is None:
        context.edit(
            context.t("export.nothing", what=_what(context, kind), period=_period(context, plan))
        )
        return
    application: KehuApplication = context.application  # type: ignore[assignment]
    zone = context.zone

    async def launch(bot: ExtBot[None]) -> None:
        # The job and the audit entry are committed; the long build runs on its own (PTB
        # waits for it on a graceful stop), so this update and the ones after it are not
        # held up. A stop in the middle leaves the job, and another run builds it again.
        application.exports.start(job, plan, zone)

    context.scope.after_commit(launch)


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
