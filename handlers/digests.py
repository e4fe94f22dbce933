"""Daily digests for managers and morning agendas for reps, pushed at each member's hour:
/digest (settings), /digest 07:45, /digest off|on, /digest now, and the drill-down buttons."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from crm.digests.service import DigestSettings, DigestView
from crm.members import Role
from crm.texts import Text
from handlers import render
from scheduler.outbox import chart_png

_OFF = ("off", "关", "关闭")
_ON = ("on", "开", "开启")
_NOW = ("now", "现在", "立即")


async def digest(update: Update, context: KehuContext) -> None:
    argument = " ".join(context.args or []).strip()
    word = argument.lower()
    service, member = context.services.digests, context.member
    if not argument:
        _show_settings(context, service.settings(member))
    elif word in _NOW:
        await _show_now(context)
    elif word in _OFF or word in _ON:
        settings = await service.set_enabled(member, word in _ON)
        _saved(context, settings, "digest.saved_on" if settings.enabled else "digest.saved_off")
    else:
        settings = await service.set_time(member, argument)
        _saved(context, settings, "digest.saved_time")


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action = context.matches[0].group(1)
    service, member = context.services.digests, context.member
    context.answer()
    if action == "now":
        await _show_now(context)
        return
    settings = await service.set_enabled(member, action == "on")
    _saved(context, settings, "digest.saved_on" if settings.enabled else "digest.saved_off")


async def overdue(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    rep, tasks = await context.services.digests.overdue_of(
        context.member, int(context.matches[0].group(1))
    )
    context.answer()
    if not tasks:
        context.reply(context.t("digest.overdue_none", name=rep.name))
        return
    lines = [context.t("digest.overdue_title", name=rep.name, count=len(tasks))]
    lines += [
        context.t(
            "digest.overdue_line",
            due=render.when(task.due_at, context.zone),
            name=task.customer_name,
            code=task.customer_code,
            points=(task.talking_points or "")[:30],
        )
        for task in tasks
    ]
    opens = {task.customer_id: task.customer_name[:20] for task in tasks}
    context.reply("\n".join(lines), _open_buttons(opens))


async def stale(update: Update, context: KehuContext) -> None:
    customers = await context.services.digests.stale(context.member)
    context.answer()
    if not customers:
        context.reply(context.t("digest.stale_none"))
        return
    lines = [context.t("digest.stale_title", count=len(customers))]
    lines += [
        context.t("digest.stale_line", name=customer.name, code=customer.code)
        for customer in customers
    ]
    context.reply("\n".join(lines), _open_buttons({c.id: c.name[:20] for c in customers}))


async def deals(update: Update, context: KehuContext) -> None:
    day, found = await context.services.digests.deals_today(context.member)
    context.answer()
    date = day.strftime("%m-%d")
    if not found:
        context.reply(context.t("digest.deals_none", date=date))
        return
    total = sum((deal.amount for deal in found), Decimal(0))
    lines = [
        context.t("digest.deals_title", date=date, count=len(found), amount=render.money(total))
    ]
    lines += [
        context.t(
            "digest.deal_line",
            name=deal.customer_name,
            code=deal.customer_code,
            amount=render.money(deal.amount),
            product=deal.product,
            owner=deal.owner_name,
        )
        for deal in found
    ]
    context.reply("\n".join(lines), _open_buttons({d.customer_id: d.customer_name for d in found}))


async def _show_now(context: KehuContext) -> None:
    view = await context.services.digests.now(context.member)
    context.reply(*_render(context, view))
    if view.chart is not None:
        png = await asyncio.to_thread(
            chart_png, context.kehu.catalogue, context.language, view.chart
        )
        context.reply_photo(png, caption=context.render(view.chart.title))


def _render(context: KehuContext, view: DigestView) -> tuple[str, InlineKeyboardMarkup | None]:
    text = "\n".join(context.render(line) for line in view.lines)
    rows = [
        [
            InlineKeyboardButton(context.render(button.label), callback_data=button.data)
            for button in row
        ]
        for row in view.buttons
    ]
    return text, InlineKeyboardMarkup(rows) if rows else None


def _show_settings(context: KehuContext, settings: DigestSettings) -> None:
    role = context.member.role
    what = {Role.ADMIN: "digest.what_all", Role.MANAGER: "digest.what_team"}.get(
        role, "digest.what_agenda"
    )
    text = context.t(
        "digest.settings",
        what=Text(what),
        at=settings.at,
        zone=settings.zone,
        state=Text("digest.state_on" if settings.enabled else "digest.state_off"),
    )
    toggle = (
        render.button(context.t("digest.button_off"), "dg:off")
        if settings.enabled
        else render.button(context.t("digest.button_on"), "dg:on")
    )
    markup = InlineKeyboardMarkup(
        [[render.button(context.t("digest.button_now"), "dg:now"), toggle]]
    )
    context.reply(f"{text}\n{context.t('digest.settings_help')}", markup)


def _saved(context: KehuContext, settings: DigestSettings, key: str) -> None:
    context.reply(context.t(key, at=settings.at, zone=settings.zone))


def _open_buttons(opens: dict[int, str]) -> InlineKeyboardMarkup:
    buttons = [
        render.button(name, f"cust:open:{customer_id}") for customer_id, name in opens.items()
    ]
    return InlineKeyboardMarkup(render.rows(buttons[:12], 2))


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("digest", digest),
        CallbackQueryHandler(pressed, pattern=r"^dg:(now|on|off)$"),
        CallbackQueryHandler(overdue, pattern=r"^dg:overdue:(\d{1,12})$"),
        CallbackQueryHandler(stale, pattern=r"^dg:stale$"),
        CallbackQueryHandler(deals, pattern=r"^dg:deals$"),
    ]
