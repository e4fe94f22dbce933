"""/import for admins: send an .xlsx or .csv, check the proposed column mapping (a button per
column to change it), the owner and the dry run (with the rejected rows as an .xlsx), then
Import or Cancel. Registered before surveys: an .xlsx is a customer table when an import is
open, or when it is a workbook without a ``survey`` sheet; else it goes on to the survey
import. A .csv from an admin is a customer table (unless a follow-up log is being written)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.context import KehuContext
from crm.errors import DomainError, InvalidInput
from crm.importing.fields import FIELDS
from crm.importing.reader import MAX_BYTES, MAX_ROWS, sheet_names
from crm.importing.report import rejected_workbook
from crm.importing.service import ImportSession, Preview
from crm.members import Member
from crm.permissions import Action, can
from crm.texts import Text
from handlers import conversation, surveys

if TYPE_CHECKING:
    from bot.app import KehuApplication

_LOG = logging.getLogger(__name__)
_XLSX = (".xlsx", ".xlsm")
_SHOWN_COLUMNS = 30
_SHOWN_OWNERS = 30


async def import_command(update: Update, context: KehuContext) -> None:
    await context.services.imports.start(context.member)
    context.reply(context.t("import.intro", rows=MAX_ROWS, limit_mb=MAX_BYTES // (1024 * 1024)))


async def document(update: Update, context: KehuContext) -> None:
    """Every document: ours when it is a customer table from an admin, else passed on."""
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    name = message.document.file_name or ""
    lower = name.lower()
    member = context.scope.member
    if member is None or not can(member.role, Action.IMPORT_CUSTOMERS):
        await _pass_on(update, context, lower)
        return
    waiting = await context.services.imports.waiting(member)
    if not waiting and (
        await context.services.conversation.has_log_draft(member)
        or not lower.endswith((".csv", *_XLSX))
    ):
        await _pass_on(update, context, lower)
        return
    if (message.document.file_size or 0) > MAX_BYTES:
        raise InvalidInput("import.error_too_big", limit_mb=MAX_BYTES // (1024 * 1024))
    file = await message.document.get_file()
    data = bytes(await file.download_as_bytearray())
    if not waiting and lower.endswith(_XLSX):
        sheets = sheet_names(data)
        if not sheets or "survey" in sheets:  # a survey form (or no workbook): as before
            await surveys.workbook(update, context)
            return
    preview = await context.services.imports.receive(
        member, data, name, message.document.file_id, context.zone
    )
    _send_rejected(context, preview)
    context.reply(*_preview(context, preview.session, preview.owner_name))


async def _pass_on(update: Update, context: KehuContext, lower_name: str) -> None:
    if lower_name.endswith(_XLSX):
        await surveys.workbook(update, context)
    else:
        await conversation.file_message(update, context)


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    parts = context.matches[0].group(1).split(":")
    service, member = context.services.imports, context.member
    context.answer()
    action = parts[0]
    if action == "x":
        await service.cancel(member)
        context.edit(context.t("import.cancelled"))
        return
    if action == "go":
        await _commit_after_update(context)
        return
    session = await service.session(member)
    if action == "col" and len(parts) == 2:
        context.edit(*_field_picker(context, session, int(parts[1])))
    elif action == "own" and len(parts) == 1:
        owners = await service.owners(member)
        buttons = [
            [_button(person.name, f"imp:own:{person.id}")] for person in owners[:_SHOWN_OWNERS]
        ]
        buttons.append([_button(context.t("import.back"), "imp:back")])
        context.edit(context.t("import.pick_owner"), InlineKeyboardMarkup(buttons))
    elif action == "back":
        names = {person.id: person.name for person in await service.owners(member)}
        context.edit(*_preview(context, session, names.get(session.owner_id, "?")))
    else:
        data = await _download(context, session.file_id)
        if action == "set" and len(parts) == 3:
            field = None if parts[2] == "-" else parts[2]
            preview = await service.remap(member, data, context.zone, int(parts[1]), field)
        elif action == "own" and len(parts) == 2:
            preview = await service.set_owner(member, data, context.zone, int(parts[1]))
        else:
            raise InvalidInput("errors.button_expired")
        after = preview.session.counts
        if (after.duplicate, after.invalid) != (session.counts.duplicate, session.counts.invalid):
            _send_rejected(context, preview)  # the rows left out changed: a new file
        context.edit(*_preview(context, preview.session, preview.owner_name))


@dataclass(frozen=True)
class _Commit:
    member: Member
    session: ImportSession
    message_id: int
    zone: ZoneInfo


async def _commit_after_update(context: KehuContext) -> None:
    """The commit of a big file takes a while: it runs on its own once this update has
    committed, so that the updates after this one, everybody's, are not queued behind it (on
    PostgreSQL they are answered meanwhile; on SQLite, where the import's one transaction holds
    the write lock, they wait for it, up to the busy timeout). The preview turns into
    "importing n rows…"; the outbox turns that into the result."""
    message = context.scope.update.effective_message
    assert message is not None
    session = await context.services.imports.begin_commit(context.member, message.message_id)
    counts = session.counts
    context.edit(
        context.t("import.committing", file=session.file_name, count=counts.new + counts.updated)
    )
    job = _Commit(context.member, session, message.message_id, context.zone)
    application: KehuApplication = context.application  # type: ignore[assignment]

    async def launch(bot: ExtBot[None]) -> None:
        application.create_task(_commit(application, bot, job), name=f"import-{job.member.id}")

    context.scope.after_commit(launch)


async def _commit(application: KehuApplication, bot: ExtBot[None], job: _Commit) -> None:
    """The commit in a transaction of its own, or, if it fails, the failure in another."""
    kehu = application.kehu
    try:
        file = await bot.get_file(job.session.file_id)
        data = bytes(await file.download_as_bytearray())
        async with kehu.unit_of_work() as uow:
            await kehu.services(uow).imports.commit(job.member, data, job.zone)
            await uow.commit()
    except Exception as error:  # noqa: BLE001 - a background task: log it, tell the admin
        if isinstance(error, DomainError):
            reason = error.text
        else:
            _LOG.exception("import of %s by member %s failed", job.session.file_name, job.member.id)
            reason = Text("import.failed", {"file": job.session.file_name})
        async with kehu.unit_of_work() as uow:
            await kehu.services(uow).imports.failed(job.member, job.session, job.message_id, reason)
            await uow.commit()
    application.wake_outbox()


async def _download(context: KehuContext, file_id: str) -> bytes:
    file = await context.bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


def _field_label(context: KehuContext, field: str | None) -> str:
    return context.t(f"import.field.{field}") if field else context.t("import.ignored")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _preview(
    context: KehuContext, session: ImportSession, owner_name: str
) -> tuple[str, InlineKeyboardMarkup]:
    t, counts = context.t, session.counts
    lines = [
        t("import.preview", file=session.file_name, rows=counts.rows, header=session.header_row)
    ]
    for index, header in enumerate(session.headers[:_SHOWN_COLUMNS]):
        field = session.mapping[index] if index < len(session.mapping) else None
        lines.append(f"{_column_letter(index)} {header or '-'} → {_field_label(context, field)}")
    if len(session.headers) > _SHOWN_COLUMNS:
        lines.append(t("import.more_columns", count=len(session.headers) - _SHOWN_COLUMNS))
    if "name" not in session.mapping:
        lines.append(t("import.no_name_column"))
    owner_column = session.owner_column
    if owner_column:
        lines.append(t("import.owner_column", column=owner_column, owner=owner_name))
    else:
        lines.append(t("import.owner", owner=owner_name))
    lines.append(
        t(
            "import.counts",
            new=counts.new,
            updated=counts.updated,
            duplicate=counts.duplicate,
            invalid=counts.invalid,
        )
    )
    if counts.duplicate + counts.invalid:
        lines.append(t("import.rejected_hint"))
    writable = counts.new + counts.updated
    lines.append(t("import.confirm_hint" if writable else "import.nothing_to_import"))
    buttons: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for index, header in enumerate(session.headers[:_SHOWN_COLUMNS]):
        label = f"{_column_letter(index)} {header[:12] or '-'}"
        row.append(_button(label, f"imp:col:{index}"))
        if len(row) == 3:
            buttons.append(row)
            row = []
    if row:
        buttons.append(row)
    buttons.append([_button(t("import.change_owner"), "imp:own")])
    last = [_button(t("import.cancel"), "imp:x")]
    if writable:
        last.insert(0, _button(t("import.go", count=writable), "imp:go"))
    buttons.append(last)
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


def _field_picker(
    context: KehuContext, session: ImportSession, column: int
) -> tuple[str, InlineKeyboardMarkup]:
    if not 0 <= column < len(session.headers):
        raise InvalidInput("errors.button_expired")
    buttons: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for field in FIELDS:
        row.append(_button(_field_label(context, field), f"imp:set:{column}:{field}"))
        if len(row) == 3:
            buttons.append(row)
            row = []
    if row:
        buttons.append(row)
    buttons.append(
        [
            _button(context.t("import.ignored"), f"imp:set:{column}:-"),
            _button(context.t("import.back"), "imp:back"),
        ]
    )
    header = session.headers[column] or _column_letter(column)
    return context.t("import.pick_field", column=header), InlineKeyboardMarkup(buttons)


def _send_rejected(context: KehuContext, preview: Preview) -> None:
    rejected = preview.outcome.rejected
    if not rejected:
        return
    t = context.t
    data = rejected_workbook(
        preview.session.headers,
        rejected,
        context.render,
        lambda field: _field_label(context, field),
        (t("import.column_row"), t("import.column_field"), t("import.column_reason")),
    )
    context.reply_document(
        data, t("import.rejected_file_name"), t("import.rejected_caption", count=len(rejected))
    )


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("import", import_command),
        CallbackQueryHandler(pressed, pattern=r"^imp:((?:col|set|own|back|go|x)[\w:\-]{0,40})$"),
        MessageHandler(filters.Document.ALL, document),
    ]
