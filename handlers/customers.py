"""/new (the guided dialog) and the customer card with its buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import KehuContext
from crm.customers import Stage
from crm.errors import DomainError
from crm.new_customer import Created, Prompt, Unfinished
from handlers import render


async def new_customer(update: Update, context: KehuContext) -> None:
    outcome = await context.services.new_customer.start(context.member)
    show_step(context, outcome, edit=False)


async def new_customer_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, step, index = context.matches[0].group(1, 2, 3)
    flow, member = context.services.new_customer, context.member
    if action == "pick":
        outcome: Prompt | Created | Unfinished | None = await flow.pick(member, step, int(index))
    elif action == "skip":
        outcome = await flow.skip(member, step)
    elif action == "go":
        outcome = await flow.continue_despite_duplicates(member)
    elif action == "save":
        outcome = await flow.save(member)
    elif action == "resume":
        outcome = await flow.resume(member)
    elif action == "restart":
        outcome = await flow.start(member, restart=True)
    else:  # cancel
        await flow.cancel(member)
        outcome = None
    context.answer()
    if outcome is None:
        context.edit(context.t("new.cancelled"))
    else:
        show_step(context, outcome, edit=True)


def show_step(context: KehuContext, outcome: Prompt | Created | Unfinished, *, edit: bool) -> None:
    if isinstance(outcome, Created):
        customer = outcome.customer
        text = context.t("new.created", name=customer.name, code=customer.code)
        markup: InlineKeyboardMarkup = render.card_keyboard(context.t, customer.id)
    elif isinstance(outcome, Unfinished):
        text, markup = render.unfinished(context.t, outcome)
    else:
        text, markup = render.new_customer_prompt(context.t, outcome)
    (context.edit if edit else context.reply)(text, markup)


async def open_card(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    view = await context.services.customers.card(context.member, int(context.matches[0].group(1)))
    text, markup = render.card(context.t, view, context.zone)
    context.answer()
    context.reply(text, markup)


async def card_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, customer_id = context.matches[0].group(1), int(context.matches[0].group(2))
    member, services = context.member, context.services
    context.answer()
    if action in ("task", "deal", "tags_new"):
        asks = {"task": "task", "deal": "deal", "tags_new": "tag"}[action]
        question = await services.card.ask(member, customer_id, asks)
        context.reply(context.t(f"card.ask_{question.asks}", name=question.customer_name))
    elif action == "log":
        asked = await services.follow_ups.start_for_customer(member, customer_id)
        context.reply(
            context.t("log.ask_method", name=asked.customer_name),
            render.methods_keyboard(context.t, "log:method"),
        )
    elif action == "stage":
        customer = await services.customers.get(member, customer_id)
        context.edit(
            context.t("card.choose_stage", name=customer.name),
            render.stage_keyboard(context.t, customer.id, customer.stage),
        )
    elif action == "tags":
        await _show_tags(context, customer_id)
    elif action == "more":
        view = await services.customers.card(member, customer_id)
        text, _ = render.card(context.t, view, context.zone)
        context.edit(text, render.more_keyboard(context.t, view))
    elif action == "fields":
        view = await services.customers.card(member, customer_id)
        context.edit(context.t("card.choose_field"), render.fields_keyboard(context.t, view))
    elif action == "reassign":
        await _show_reassign(context, customer_id)


async def _show_tags(context: KehuContext, customer_id: int) -> None:
    view = await context.services.customers.card(context.member, customer_id)
    current = [tag.name for tag in view.tags]
    suggestions = [
        name for name in await context.services.customers.tag_suggestions() if name not in current
    ][:9]
    removes = [
        render.button(f"✕ {name[:20]}", f"tag:rm:{customer_id}:{index}")
        for index, name in enumerate(current[:9])
    ]
    adds = [
        render.button(f"+ {name[:20]}", f"tag:add:{customer_id}:{name[:30]}")
        for name in suggestions
    ]
    keyboard = [
        *render.rows(removes),
        *render.rows(adds),
        [
            render.button(context.t("card.new_tag"), f"card:tags_new:{customer_id}"),
            render.button(context.t("common.back"), f"cust:open:{customer_id}"),
        ],
    ]
    text = context.t("card.tags_title", name=view.customer.name, tags="、".join(current) or "—")
    context.edit(text, InlineKeyboardMarkup(keyboard))


async def tag_pressed(update: Update, context: KehuContext) -> None:
    """✕ / + on the tag screen; the index points into the list that screen showed."""
    assert context.matches is not None
    action, customer_id, index = (
        context.matches[0].group(1),
        *map(int, context.matches[0].group(2, 3)),
    )
    customers, member = context.services.customers, context.member
    current = [tag.name for tag in (await customers.card(member, customer_id)).tags]
    offered = (
        current
        if action == "rm"
        else [name for name in await customers.tag_suggestions() if name not in current]
    )
    if index >= len(offered):
        raise DomainError("errors.button_expired")
    if action == "rm":
        await customers.remove_tag(member, customer_id, offered[index])
    else:
        await customers.add_tag(member, customer_id, offered[index])
    context.answer()
    await _show_tags(context, customer_id)


async def stage_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    customer_id, stage = int(context.matches[0].group(1)), Stage(context.matches[0].group(2))
    await context.services.customers.change_stage(context.member, customer_id, stage)
    view = await context.services.customers.card(context.member, customer_id)
    text, markup = render.card(context.t, view, context.zone)
    context.answer(context.t("card.stage_changed", stage=context.t(f"stages.{stage}")))
    context.edit(text, markup)


async def reveal_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    customer_id, contact_id = (int(value) for value in context.matches[0].group(1, 2))
    contact = await context.services.customers.reveal_phone(context.member, customer_id, contact_id)
    context.answer()
    context.reply(context.t("card.revealed", name=contact.name, phone=contact.phone or "—"))


async def ask_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    customer_id, asks = int(context.matches[0].group(1)), context.matches[0].group(2)
    question = await context.services.card.ask(context.member, customer_id, asks)
    context.answer()
    key = "card.ask_edit" if asks.startswith("edit:") else f"card.ask_{asks}"
    field = context.t(f"fields.{asks.removeprefix('edit:')}") if asks.startswith("edit:") else ""
    context.reply(context.t(key, name=question.customer_name, field=field))


async def field_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    customer_id, field = int(context.matches[0].group(1)), context.matches[0].group(2)
    question = await context.services.card.ask(context.member, customer_id, f"edit:{field}")
    context.answer()
    label = question.custom_label or context.t(f"fields.{field}")
    context.reply(context.t("card.ask_edit", name=question.customer_name, field=label))


async def _show_reassign(context: KehuContext, customer_id: int) -> None:
    targets = await context.services.customers.reassign_targets(context.member, customer_id)
    keyboard = [
        *render.rows(
            [
                render.button(member.name[:20], f"reassign:{customer_id}:{member.id}")
                for member in targets[:15]
            ],
            2,
        ),
        [render.button(context.t("common.back"), f"cust:open:{customer_id}")],
    ]
    context.edit(context.t("card.choose_owner"), InlineKeyboardMarkup(keyboard))


async def reassign_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    customer_id, owner_id = (int(value) for value in context.matches[0].group(1, 2))
    customer = await context.services.customers.reassign(context.member, customer_id, owner_id)
    view = await context.services.customers.card(context.member, customer.id)
    text, markup = render.card(context.t, view, context.zone)
    context.answer(context.t("card.reassigned", owner=view.owner_name))
    context.edit(text, markup)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("new", new_customer),
        CallbackQueryHandler(
            new_customer_pressed,
            pattern=r"^nc:(pick|skip|go|save|cancel|resume|restart)(?::(\w+))?(?::(\d{1,3}))?$",
        ),
        CallbackQueryHandler(open_card, pattern=r"^cust:open:(\d{1,12})$"),
        CallbackQueryHandler(
            card_pressed,
            pattern=r"^card:(log|task|stage|deal|tags|tags_new|more|fields|reassign):(\d{1,12})$",
        ),
        CallbackQueryHandler(reveal_pressed, pattern=r"^card:reveal:(\d{1,12}):(\d{1,12})$"),
        CallbackQueryHandler(ask_pressed, pattern=r"^card:ask:(\d{1,12}):(contact|edit:\w+)$"),
        CallbackQueryHandler(field_pressed, pattern=r"^card:field:(\d{1,12}):(\w+)$"),
        CallbackQueryHandler(tag_pressed, pattern=r"^tag:(rm|add):(\d{1,12}):(\d{1,2})$"),
        CallbackQueryHandler(stage_pressed, pattern=rf"^stage:(\d{{1,12}}):({'|'.join(Stage)})$"),
        CallbackQueryHandler(reassign_pressed, pattern=r"^reassign:(\d{1,12}):(\d{1,12})$"),
    ]
