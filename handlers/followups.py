"""/log: a follow-up in one message (or from the card), confirmed as a draft."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from crm.errors import DomainError
from crm.followup_service import AskText, LogDraft, PickCustomer, Saved
from crm.followups import ContactMethod
from handlers import render


async def log(update: Update, context: KehuContext) -> None:
    text = update.effective_message.text if update.effective_message else ""
    body = (text or "").partition(" ")[2]
    outcome = await context.services.follow_ups.start_from_text(context.member, body, context.zone)
    show(context, outcome, edit=False)


async def log_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, value = context.matches[0].group(1, 2)
    service, member = context.services.follow_ups, context.member
    context.answer()
    if action == "save":
        show(context, await service.save(member), edit=True)
    elif action == "cancel":
        await service.cancel(member)
        context.edit(context.t("log.cancelled"))
    elif action == "edit":
        context.edit(context.t("log.choose_field"), render.draft_fields(context.t))
    elif action == "field":
        asked = await service.edit(member, value or "")
        if value == "method":
            context.edit(
                context.t("log.ask_method", name=asked.customer_name),
                render.methods_keyboard(context.t, "log:setmethod"),
            )
        else:
            context.edit(context.t(f"log.ask_{value}"))
    elif action == "setmethod":
        show(context, await service.set_method(member, _method(value)), edit=True)
    elif action == "method":
        asked = await service.choose_method(member, _method(value))
        context.edit(context.t("log.ask_summary", name=asked.customer_name))
    elif action == "pick" and value and value.isdigit():
        show(context, await service.pick_customer(member, int(value)), edit=True)
    else:
        raise DomainError("errors.button_expired")


def _method(value: str | None) -> ContactMethod:
    try:
        return ContactMethod(value or "")
    except ValueError:
        raise DomainError("errors.button_expired") from None


def show(
    context: KehuContext, outcome: LogDraft | PickCustomer | AskText | Saved, *, edit: bool
) -> None:
    if isinstance(outcome, LogDraft):
        text, markup = render.draft(context.t, outcome, context.zone)
    elif isinstance(outcome, PickCustomer):
        text, markup = render.candidates(context.t, outcome.fragment, outcome.candidates)
    elif isinstance(outcome, AskText):
        (context.edit if edit else context.reply)(
            context.t(f"log.ask_{outcome.field}", name=outcome.customer_name)
        )
        return
    else:
        task = outcome.task
        text = context.t("log.saved") + (
            "\n" + context.t("log.saved_task", when=render.when(task.due_at, context.zone))
            if task
            else ""
        )
        markup = render.card_keyboard(context.t, outcome.follow_up.customer_id)
    (context.edit if edit else context.reply)(text, markup)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("log", log),
        CallbackQueryHandler(
            log_pressed, pattern=r"^log:(save|cancel|edit|field|setmethod|method|pick)(?::(\w+))?$"
        ),
    ]
