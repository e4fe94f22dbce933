"""/today, /tasks, and the buttons on reminders."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from handlers import render


async def today(update: Update, context: KehuContext) -> None:
    agenda = await context.services.tasks.today(context.member, context.zone)
    context.reply(*render.agenda(context.t, agenda, context.zone))


async def later(update: Update, context: KehuContext) -> None:
    await _later_page(context, 0, edit=False)


async def later_page(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    context.answer()
    await _later_page(context, int(context.matches[0].group(1)), edit=True)


async def _later_page(context: KehuContext, page: int, *, edit: bool) -> None:
    lines, more = await context.services.tasks.later(context.member, context.zone, page)
    (context.edit if edit else context.reply)(
        *render.later(context.t, lines, page, more, context.zone)
    )


async def task_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, task_id = context.matches[0].group(1), int(context.matches[0].group(2))
    tasks, member = context.services.tasks, context.member
    if action == "done":
        line = await tasks.done(member, task_id)
        context.answer(context.t("task.done_toast"))
        context.edit(context.t("task.done", name=line.customer_name))
    elif action == "snooze":
        until = await tasks.snooze(member, task_id)
        context.answer()
        context.edit(context.t("task.snoozed", when=render.when(until, context.zone)))
    elif action == "tomorrow":
        until = await tasks.tomorrow_morning(member, task_id, context.zone)
        context.answer()
        context.edit(context.t("task.snoozed", when=render.when(until, context.zone)))
    else:  # log the outcome: a follow-up for this customer that closes the task
        task = await tasks.open_task(member, task_id)
        asked = await context.services.follow_ups.for_task(member, task.id, task.customer_id)
        context.answer()
        context.reply(
            context.t("log.ask_method", name=asked.customer_name),
            render.methods_keyboard(context.t, "log:method"),
        )


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("today", today),
        CommandHandler("tasks", later),
        CallbackQueryHandler(later_page, pattern=r"^tasks:(\d{1,4})$"),
        CallbackQueryHandler(task_pressed, pattern=r"^task:(done|snooze|tomorrow|log):(\d{1,12})$"),
    ]
