"""/survey for managers and admins: import a workbook or start from a template, send to
customers, follow the progress, links per channel; /keywords for the keyword → tag dictionary."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import KehuContext
from crm.errors import InvalidInput
from crm.permissions import Action, can
from crm.surveys.records import Survey, SurveyStatus
from crm.surveys.research import AUDIENCE_KINDS, CHANNELS, DEEP_LINK_PREFIX, Progress, Sent
from crm.surveys.templates import TEMPLATES, template_workbook
from crm.surveys.xlsform import WorkbookInvalid
from handlers import answering, conversation, survey_results

WORKBOOK_MAX_BYTES = 5 * 1024 * 1024
_SHOWN_LINKS = 20
_SHOWN_PROBLEMS = 12


async def survey_command(update: Update, context: KehuContext) -> None:
    argument = (context.args or [""])[0].lower()
    if argument == "import":
        context.reply(context.t("survey.send_workbook"))
    elif argument in ("templates", "template"):
        context.reply(*_templates(context))
    else:
        surveys = await context.services.research.surveys(context.member)
        context.reply(*_survey_list(context, surveys))


async def workbook(update: Update, context: KehuContext) -> None:
    """An .xlsx sent by a manager or admin: a survey to import (or a new version of one)."""
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    if context.scope.member is None:
        await answering.answer_other(update, context)
        return
    if not can(
        context.member.role, Action.RUN_SURVEYS
    ) or await context.services.conversation.has_log_draft(context.member):
        await conversation.file_message(update, context)
        return
    if (message.document.file_size or 0) > WORKBOOK_MAX_BYTES:
        raise InvalidInput("survey.workbook_too_big", limit=WORKBOOK_MAX_BYTES // (1024 * 1024))
    file = await message.document.get_file()
    data = bytes(await file.download_as_bytearray())
    try:
        imported = await context.services.research.import_workbook(context.member, data)
    except WorkbookInvalid as invalid:
        context.reply(_problems(context, invalid))
        return
    survey = imported.survey
    key = "survey.imported_version" if imported.new_version else "survey.imported"
    context.reply(
        context.t(
            key,
            title=survey.title,
            version=survey.version_number,
            questions=len(survey.form.answerable),
        ),
        _survey_keyboard(context, survey),
    )


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, rest = context.matches[0].group(1), context.matches[0].group(2)
    research, member = context.services.research, context.member
    context.answer()
    if action == "tpl":
        if rest:
            await _template_chosen(context, rest)
        else:
            context.edit(*_templates(context))
        return
    parts = rest.split(":")
    survey_id = int(parts[0])
    if action == "menu":
        survey = await research.survey(member, survey_id)
        context.edit(_survey_text(context, survey), _survey_keyboard(context, survey))
    elif action == "status":
        progress = await research.progress(member, survey_id)
        context.reply(_status(context, progress), _survey_keyboard(context, progress.survey))
    elif action == "open":
        survey = await research.set_open(member, survey_id, parts[1] == "1")
        context.edit(_survey_text(context, survey), _survey_keyboard(context, survey))
    elif action == "link":
        await _channel_link(context, survey_id, parts[1:])
    elif action == "send":
        await _send_step(context, survey_id, parts[1:])
    elif action == "export":
        await survey_results.export(context, survey_id)
    elif action == "charts":
        await survey_results.send_charts(context, survey_id)


async def _template_chosen(context: KehuContext, name: str) -> None:
    imported = await context.services.research.import_template(context.member, name)
    survey = imported.survey
    context.reply_document(
        template_workbook(name), f"{name}.xlsx", context.t("survey.template_file")
    )
    context.reply(
        context.t(
            "survey.imported_version" if imported.new_version else "survey.imported",
            title=survey.title,
            version=survey.version_number,
            questions=len(survey.form.answerable),
        ),
        _survey_keyboard(context, survey),
    )


async def _channel_link(context: KehuContext, survey_id: int, parts: list[str]) -> None:
    if not parts:
        buttons = [
            [_button(context.t(f"survey.channel.{name}"), f"svm:link:{survey_id}:{name}")]
            for name in CHANNELS
        ]
        context.reply(context.t("survey.pick_channel"), InlineKeyboardMarkup(buttons))
        return
    token = await context.services.research.channel_link(context.member, survey_id, parts[0])
    channel = context.t(f"survey.channel.{parts[0]}")
    context.reply(context.t("survey.channel_link", channel=channel, url=_url(context, token)))


async def _send_step(context: KehuContext, survey_id: int, parts: list[str]) -> None:
    """Send in three presses: who (tag, stage, industry, owner), which value, confirm."""
    research, member, t = context.services.research, context.member, context.t
    if not parts:
        buttons = [
            [_button(t(f"survey.audience.{kind}"), f"svm:send:{survey_id}:{kind}")]
            for kind in AUDIENCE_KINDS
        ]
        context.edit(t("survey.pick_audience"), InlineKeyboardMarkup(buttons))
        return
    kind = parts[0]
    values = await research.audience_values(member, kind)
    if len(parts) == 1:
        if not values:
            context.edit(t("survey.no_audience_values"))
            return
        buttons = [
            [_button(_value_label(context, kind, value), f"svm:send:{survey_id}:{kind}:{i}")]
            for i, value in enumerate(values)
        ]
        context.edit(t("survey.pick_value", kind=t(f"survey.audience.{kind}")), _rows(buttons))
        return
    index = int(parts[1])
    if index >= len(values):
        raise InvalidInput("errors.button_expired")
    value = values[index]
    if len(parts) == 2:
        size = await research.audience_size(member, survey_id, kind, value)
        confirm = _button(t("survey.send_confirm"), f"svm:send:{survey_id}:{kind}:{index}:go")
        label = _value_label(context, kind, value)
        context.edit(
            t("survey.send_preview", count=size, value=label),
            InlineKeyboardMarkup([[confirm]]) if size else None,
        )
        return
    sent = await research.send(member, survey_id, kind, value)
    context.edit(_sent(context, sent))


def _value_label(context: KehuContext, kind: str, value: str) -> str:
    return context.t(f"stages.{value}") if kind == "stage" else value


def _sent(context: KehuContext, sent: Sent) -> str:
    lines = [context.t("survey.sent", in_chat=sent.in_chat, by_link=len(sent.by_link))]
    for link in sent.by_link[:_SHOWN_LINKS]:
        lines.append(f"{link.code} {link.name}: {_url(context, link.token)}")
    if len(sent.by_link) > _SHOWN_LINKS:
        lines.append(context.t("survey.more_links", count=len(sent.by_link) - _SHOWN_LINKS))
    return "\n".join(lines)


def _url(context: KehuContext, token: str) -> str:
    return f"https://t.me/{context.bot.username}?start={DEEP_LINK_PREFIX}{token}"


def _problems(context: KehuContext, invalid: WorkbookInvalid) -> str:
    lines = [context.t("survey.workbook_invalid", count=len(invalid.problems))]
    for problem in invalid.problems[:_SHOWN_PROBLEMS]:
        where = context.t(
            "survey.problem_where",
            sheet=problem.sheet,
            row=problem.row if problem.row is not None else "-",
            column=problem.column or "-",
        )
        lines.append(f"• {where}: {context.render(problem.text)}")
    return "\n".join(lines)


def _templates(context: KehuContext) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [[_button(context.render(info.title), f"svm:tpl:{info.name}")] for info in TEMPLATES]
    return context.t("survey.templates"), InlineKeyboardMarkup(buttons)


def _survey_list(
    context: KehuContext, surveys: Sequence[Survey]
) -> tuple[str, InlineKeyboardMarkup]:
    if not surveys:
        templates = _button(context.t("survey.browse_templates"), "svm:tpl:")
        return context.t("survey.none_yet"), InlineKeyboardMarkup([[templates]])
    buttons = [
        [_button(f"{survey.title} (v{survey.version_number})", f"svm:menu:{survey.id}")]
        for survey in surveys
    ]
    buttons.append([_button(context.t("survey.browse_templates"), "svm:tpl:")])
    return context.t("survey.list", count=len(surveys)), InlineKeyboardMarkup(buttons)


def _survey_text(context: KehuContext, survey: Survey) -> str:
    return context.t(
        "survey.menu",
        title=survey.title,
        version=survey.version_number,
        questions=len(survey.form.answerable),
        status=context.t(f"survey.status_{survey.status.value}"),
    )


def _survey_keyboard(context: KehuContext, survey: Survey) -> InlineKeyboardMarkup:
    t, sid = context.t, survey.id
    is_open = survey.status is SurveyStatus.OPEN
    return InlineKeyboardMarkup(
        [
            [
                _button(t("survey.action_send"), f"svm:send:{sid}"),
                _button(t("survey.action_status"), f"svm:status:{sid}"),
            ],
            [
                _button(t("survey.action_charts"), f"svm:charts:{sid}"),
                _button(t("survey.action_export"), f"svm:export:{sid}"),
            ],
            [
                _button(t("survey.action_link"), f"svm:link:{sid}"),
                _button(
                    t("survey.action_close" if is_open else "survey.action_reopen"),
                    f"svm:open:{sid}:{0 if is_open else 1}",
                ),
            ],
        ]
    )


def _status(context: KehuContext, progress: Progress) -> str:
    t = context.t
    lines = [t("survey.status_title", title=progress.survey.title)]
    for channel, counts in progress.channels.items():
        lines.append(
            t(
                "survey.status_channel",
                channel=_channel_name(context, channel),
                invited=counts.invited,
                opened=counts.opened,
                consented=counts.consented,
                completed=counts.completed,
                valid=counts.valid,
            )
        )
    total = progress.total
    lines.append(
        t(
            "survey.status_total",
            invited=total.invited,
            opened=total.opened,
            consented=total.consented,
            declined=total.declined,
            completed=total.completed,
            valid=total.valid,
        )
    )
    if progress.target:
        share = round(100 * total.valid / progress.target)
        lines.append(
            t("survey.status_target", valid=total.valid, target=progress.target, share=share)
        )
    for cell in progress.cells:
        key = "survey.quota_cell_full" if cell.full else "survey.quota_cell"
        lines.append(
            t(key, field=cell.field, value=cell.value, filled=cell.filled, limit=cell.limit)
        )
    return "\n".join(lines)


def _channel_name(context: KehuContext, channel: str) -> str:
    known = (*CHANNELS, "telegram", "personal")
    return context.t(f"survey.channel.{channel}") if channel in known else channel


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def _rows(buttons: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(buttons[:40])


async def keywords(update: Update, context: KehuContext) -> None:
    """/keywords, /keywords add 太贵 价格敏感型, /keywords remove 太贵"""
    research, member, args = context.services.research, context.member, context.args or []
    if args and args[0] == "add" and len(args) == 3:
        await research.set_keyword(member, args[1], args[2])
        context.reply(context.t("survey.keyword_set", keyword=args[1], tag=args[2]))
    elif args and args[0] == "remove" and len(args) == 2:
        removed = await research.remove_keyword(member, args[1])
        key = "survey.keyword_removed" if removed else "survey.keyword_missing"
        context.reply(context.t(key, keyword=args[1]))
    elif args:
        raise InvalidInput("survey.keyword_usage")
    else:
        dictionary = await research.keywords(member)
        lines = [f"{keyword} → {tag}" for keyword, tag in dictionary.items()]
        context.reply(context.t("survey.keywords", count=len(lines), lines="\n".join(lines)))


_XLSX = filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("xlsm")


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("survey", survey_command),
        CommandHandler("keywords", keywords),
        CallbackQueryHandler(
            pressed, pattern=r"^svm:(menu|status|open|link|send|export|charts|tpl):([\w:]{0,56})$"
        ),
        MessageHandler(_XLSX, workbook),
    ]
