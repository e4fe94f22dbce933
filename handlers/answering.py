"""Respondents (customers, usually not members) answering a survey in the chat: the link,
consent, one question per message, Back, and /withdraw."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ExtBot, filters

from bot.context import KehuContext
from crm.surveys.form import QuestionType
from crm.surveys.research import token_from_payload
from crm.surveys.screens import ConsentScreen, Notice, QuestionScreen, Screen
from crm.texts import Text
from handlers.gate import allow_public, allow_public_buttons
from handlers.identity import person_from

_RANGE_ROW = 6

allow_public(filters.Regex(r"^/withdraw(@\w+)?$"))
allow_public_buttons("sv:")
allow_public_buttons("svw:")


async def open_link(update: Update, context: KehuContext, payload: str) -> bool:
    """A /start payload: True if it was a survey link (good or garbled) and was answered."""
    token = token_from_payload(payload)
    if token is None:
        return False
    assert update.effective_user is not None
    if not token:
        show(context, Notice(Text("survey.link_invalid")), edit=False)
        return True
    screen = await context.services.answering.open_link(
        person_from(update.effective_user), token, context.language
    )
    show(context, screen, edit=False)
    return True


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    assert update.effective_user is not None
    action, rest = context.matches[0].group(1), context.matches[0].group(2).split(":")
    person, answering = person_from(update.effective_user), context.services.answering
    if action == "o":
        screen = await answering.open_invitation(person, rest[0], context.language)
    elif action == "c":
        screen = await answering.consent(person, int(rest[0]), rest[1] == "y")
    elif action == "a":
        screen = await answering.choose(person, int(rest[0]), int(rest[1]), int(rest[2]))
    elif action == "t":
        screen = await answering.toggle(person, int(rest[0]), int(rest[1]), int(rest[2]))
    elif action == "d":
        screen = await answering.done(person, int(rest[0]), int(rest[1]))
    else:
        screen = await answering.back(person, int(rest[0]), int(rest[1]))
    if isinstance(screen, Notice) and screen.toast:
        context.answer(context.render(screen.text), alert=True)
        return
    context.answer()
    # A toggle or a refused answer redraws the same question; anything else moves on.
    in_place = isinstance(screen, QuestionScreen) and (action == "t" or screen.problem is not None)
    if action != "o" and not in_place:
        _close_pressed_message(update, context)
    show(context, screen, edit=in_place)


async def answer_text(update: Update, context: KehuContext) -> bool:
    """Plain text from someone with a survey waiting: True if it was taken as an answer."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    assert user is not None
    screen = await context.services.answering.text(person_from(user), message.text or "")
    if screen is None:
        return False
    show(context, screen, edit=False)
    return True


async def answer_other(update: Update, context: KehuContext) -> bool:
    """A sticker, voice note or file from someone with a survey waiting."""
    assert update.effective_user is not None
    screen = await context.services.answering.not_text(person_from(update.effective_user))
    if screen is None:
        return False
    show(context, screen, edit=False)
    return True


async def withdraw(update: Update, context: KehuContext) -> None:
    context.reply(
        context.t("survey.withdraw_confirm"),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(context.t("survey.withdraw_yes"), callback_data="svw:y"),
                    InlineKeyboardButton(context.t("survey.withdraw_no"), callback_data="svw:n"),
                ]
            ]
        ),
    )


async def withdraw_pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    assert update.effective_user is not None
    context.answer()
    if context.matches[0].group(1) != "y":
        context.edit(context.t("survey.withdraw_kept"))
        return
    count = await context.services.answering.withdraw(person_from(update.effective_user))
    context.edit(context.t("survey.withdrawn" if count else "survey.withdraw_nothing"))


def show(context: KehuContext, screen: Screen, *, edit: bool) -> None:
    send = context.edit if edit else context.reply
    if isinstance(screen, Notice):
        send(context.render(screen.text))
    elif isinstance(screen, ConsentScreen):
        send(*_consent(context, screen))
    else:
        send(*_question(context, screen))


def _consent(context: KehuContext, screen: ConsentScreen) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    purpose = screen.purpose or t("survey.default_purpose")
    text = t(
        "survey.consent",
        title=screen.title,
        minutes=screen.minutes,
        purpose=purpose,
        days=screen.retention_days,
    )
    if screen.resumed:
        text = t("survey.consent_again") + "\n\n" + text
    rid = screen.response_id
    keyboard = [
        [
            InlineKeyboardButton(t("survey.agree"), callback_data=f"sv:c:{rid}:y"),
            InlineKeyboardButton(t("survey.decline"), callback_data=f"sv:c:{rid}:n"),
        ]
    ]
    return text, InlineKeyboardMarkup(keyboard)


def _question(context: KehuContext, screen: QuestionScreen) -> tuple[str, InlineKeyboardMarkup]:
    t, language, question = context.t, context.language, screen.question
    lines = []
    if screen.resumed:
        lines.append(t("survey.resumed"))
    done, total = screen.position
    heading = question.label(language)
    if question.type is not QuestionType.NOTE:
        heading = t("survey.progress", index=done, total=total) + " " + heading
    lines.append(heading)
    hint = question.hints and (question.hints.get(language) or question.hints.get(""))
    if hint:
        lines.append(t("survey.hint", hint=hint))
    if question.type in (QuestionType.TEXT, QuestionType.INTEGER, QuestionType.DECIMAL):
        lines.append(t(f"survey.type_{question.type.value}"))
    elif question.type is QuestionType.SELECT_MULTIPLE:
        lines.append(t("survey.pick_several"))
    if screen.problem is not None:
        lines.append("⚠️ " + context.render(screen.problem))
    return "\n".join(lines), InlineKeyboardMarkup(_answer_buttons(context, screen))


def _answer_buttons(
    context: KehuContext, screen: QuestionScreen
) -> list[list[InlineKeyboardButton]]:
    t, question = context.t, screen.question
    prefix = f"{screen.response_id}:{screen.index}"
    rows: list[list[InlineKeyboardButton]] = []
    if question.range is not None:
        values = question.range.values()
        buttons = [
            InlineKeyboardButton(
                _mark(_number(value), screen.selected), callback_data=f"sv:a:{prefix}:{i}"
            )
            for i, value in enumerate(values)
        ]
        rows += [buttons[i : i + _RANGE_ROW] for i in range(0, len(buttons), _RANGE_ROW)]
    elif question.type in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        action = "t" if question.type is QuestionType.SELECT_MULTIPLE else "a"
        for choice in screen.choices:
            index = question.choices.index(choice)
            label = choice.label(context.language)
            if question.type is QuestionType.SELECT_MULTIPLE:
                label = ("☑ " if choice.name in screen.selected else "☐ ") + label
            else:
                label = _mark(label, (label,) if choice.name in screen.selected else ())
            rows.append(
                [InlineKeyboardButton(label, callback_data=f"sv:{action}:{prefix}:{index}")]
            )
    last: list[InlineKeyboardButton] = []
    if screen.can_go_back:
        last.append(InlineKeyboardButton(t("survey.back"), callback_data=f"sv:b:{prefix}"))
    if question.type is QuestionType.NOTE:
        last.append(InlineKeyboardButton(t("survey.continue"), callback_data=f"sv:d:{prefix}"))
    elif question.type is QuestionType.SELECT_MULTIPLE:
        last.append(InlineKeyboardButton(t("survey.done"), callback_data=f"sv:d:{prefix}"))
    elif not question.required:
        last.append(InlineKeyboardButton(t("survey.skip"), callback_data=f"sv:d:{prefix}"))
    if last:
        rows.append(last)
    return rows


def _mark(label: str, selected: tuple[str, ...]) -> str:
    return f"✓ {label}" if label in selected else label


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _close_pressed_message(update: Update, context: KehuContext) -> None:
    """Take the buttons off the question just answered, so old buttons do not linger."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    chat_id, message_id = query.message.chat.id, query.message.message_id

    async def strip(bot: ExtBot[None]) -> None:
        with contextlib.suppress(BadRequest):
            await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)

    context.scope.after_commit(strip)


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("withdraw", withdraw),
        CallbackQueryHandler(pressed, pattern=r"^sv:([ocatdb]):([\w:-]{1,60})$"),
        CallbackQueryHandler(withdraw_pressed, pattern=r"^svw:([yn])$"),
    ]
