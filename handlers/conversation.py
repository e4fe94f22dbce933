"""Plain text, photos and documents from members: to the dialog waiting for them, else text is
a search. And /cancel, which closes whatever dialog is open."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import KehuContext
from crm.card_actions import Answered
from crm.customer_service import SearchPage
from crm.errors import InvalidInput
from crm.followups import Attachment
from crm.new_customer import Created, Prompt
from crm.reports.periods import Period
from crm.surveys.screens import ConsentScreen, Notice, QuestionScreen
from handlers import answering, customers, followups, render
from handlers.reports import send_report
from handlers.search import PAGE_SIZE

TEXT_MAX = 4096


async def text_message(update: Update, context: KehuContext) -> None:
    message = update.effective_message
    assert message is not None
    assert message.text is not None
    if context.scope.member is None:  # a respondent: the gate let them in for their survey
        await answering.answer_text(update, context)
        return
    if len(message.text) > TEXT_MAX:
        raise InvalidInput("errors.too_long", limit=TEXT_MAX)
    outcome = await context.services.conversation.text(
        context.member, message.text, context.zone, PAGE_SIZE
    )
    if isinstance(outcome, SearchPage):
        text, markup = render.search_results(
            context.t, outcome.query, outcome.hits, outcome.page, outcome.total, PAGE_SIZE
        )
        context.reply(text, markup)
    elif isinstance(outcome, Prompt | Created):
        customers.show_step(context, outcome, edit=False)
    elif isinstance(outcome, ConsentScreen | QuestionScreen | Notice):
        answering.show(context, outcome, edit=False)
    elif isinstance(outcome, Period):
        await send_report(context, outcome)
    elif isinstance(outcome, Answered):
        context.reply(
            context.t(f"card.saved_{outcome.asks.split(':')[0]}", detail=outcome.detail),
            render.card_keyboard(context.t, outcome.customer_id),
        )
    else:
        followups.show(context, outcome, edit=False)


async def file_message(update: Update, context: KehuContext) -> None:
    message = update.effective_message
    assert message is not None
    if context.scope.member is None:
        await answering.answer_other(update, context)
        return
    if message.photo:
        photo = message.photo[-1]
        attachment = Attachment("photo", photo.file_id, photo.file_unique_id)
    else:
        assert message.document is not None
        document = message.document
        attachment = Attachment(
            "document", document.file_id, document.file_unique_id, document.file_name
        )
    draft = await context.services.conversation.attachment(context.member, attachment)
    context.reply(context.t("log.attached", count=draft.attachments))


async def cancel(update: Update, context: KehuContext) -> None:
    closed = await context.services.conversation.cancel(context.member)
    context.reply(context.t("dialog.cancelled" if closed else "dialog.nothing_open"))


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("cancel", cancel),
        MessageHandler(filters.TEXT & ~filters.COMMAND, text_message),
        MessageHandler(filters.PHOTO | filters.Document.ALL, file_message),
    ]
