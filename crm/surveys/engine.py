"""Answering a form one question at a time. Pure functions over ``(form, answers)``: the caller
stores the progress (answers so far, the current question, the respondent's seed)."""

from __future__ import annotations

import math
import random
import re
import unicodedata
import zlib
from collections.abc import Mapping

from crm.errors import InvalidInput
from crm.surveys import expressions
from crm.surveys.expressions import format_number
from crm.surveys.form import Answer, Choice, Form, Question, QuestionType, pick
from crm.texts import Text

MAX_TEXT = 1_000
_INTEGER = re.compile(r"[-+]?[0-9]{1,15}")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]{1,15}(?:\.[0-9]{0,10})?|\.[0-9]{1,10})")
_SEPARATORS = re.compile(r"[\s,，、;；]+")


class AnswerRejected(InvalidInput):
    """The answer cannot be stored; ``text`` says what works instead."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.key, **text.vars)


# --- moving through the form ------------------------------------------------------------------


def is_relevant(question: Question, answers: Mapping[str, Answer]) -> bool:
    return question.relevant is None or expressions.is_true(question.relevant, answers)


def first(form: Form, answers: Mapping[str, Answer]) -> Question | None:
    """The first question to show (notes included)."""
    return next((q for q in form.questions if is_relevant(q, answers)), None)


def next_after(form: Form, name: str, answers: Mapping[str, Answer]) -> Question | None:
    """The next question to show after ``name``, or None when the form is finished."""
    index = _index(form, name)
    following = form.questions[index + 1 :]
    return next((q for q in following if is_relevant(q, answers)), None)


def position(form: Form, name: str, answers: Mapping[str, Answer]) -> tuple[int, int]:
    """``(number, count)`` for "3/12": ``name``'s place among the answerable questions that
    are shown with the current answers, and how many those are."""
    index = _index(form, name)
    shown = [
        number
        for number, question in enumerate(form.questions)
        if question.type is not QuestionType.NOTE and is_relevant(question, answers)
    ]
    before = sum(1 for number in shown if number < index)
    return before + 1, max(len(shown), before + 1)


def prune(form: Form, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """The answers that still count: those of questions still shown (and still among their
    filtered choices). Dropping one answer can hide later questions, so repeat until stable."""
    kept = {q.name: answers[q.name] for q in form.answerable if q.name in answers}
    changed = True
    while changed:
        changed = False
        for question in form.answerable:
            if question.name not in kept:
                continue
            still = _still_valid(question, kept)
            if still is None:
                del kept[question.name]
                changed = True
            elif still != kept[question.name]:
                kept[question.name] = still
                changed = True
    return kept


def _still_valid(question: Question, answers: Mapping[str, Answer]) -> Answer | None:
    if not is_relevant(question, answers):
        return None
    answer = answers[question.name]
    if question.choice_filter is None:
        return answer
    allowed = {choice.name for choice in _filtered(question, answers)}
    if isinstance(answer, tuple):
        remaining = tuple(name for name in answer if name in allowed)
        return remaining or None
    return answer if answer in allowed else None


def _index(form: Form, name: str) -> int:
    for index, question in enumerate(form.questions):
        if question.name == name:
            return index
    raise ValueError(f"no question {name!r} in form {form.settings.form_id!r}")


# --- choices ----------------------------------------------------------------------------------


def choices_for(
    form: Form, question: Question, answers: Mapping[str, Answer], seed: int
) -> tuple[Choice, ...]:
    """The choices to offer: filtered by ``choice_filter``, shuffled by ``seed`` when the
    question says ``randomize=true`` (the same seed always gives the same order)."""
    choices = list(question.choices)
    if question.randomize:
        salt = zlib.crc32(f"{form.settings.form_id}/{question.name}".encode())
        random.Random(seed * 1_000_003 + salt).shuffle(choices)
    allowed = set(_filtered(question, answers))
    return tuple(choice for choice in choices if choice in allowed)


def _filtered(question: Question, answers: Mapping[str, Answer]) -> tuple[Choice, ...]:
    source = question.choice_filter
    if source is None:
        return question.choices
    return tuple(
        choice
        for choice in question.choices
        if expressions.is_true(source, answers, columns={"name": choice.name, **choice.columns})
    )


# --- accepting one answer ---------------------------------------------------------------------


def accept(
    form: Form,
    question: Question,
    raw: str | tuple[str, ...],
    answers: Mapping[str, Answer],
    seed: int,
    language: str = "zh",
) -> Answer | None:
    """The value to store for ``raw``, or None when an optional question is skipped. Raises
    ``AnswerRejected`` saying what works instead."""
    if question.type is QuestionType.NOTE:
        return None
    if _is_empty(raw):
        if question.required:
            raise AnswerRejected(Text("form.answer.required"))
        return None
    value = _parse(form, question, raw, answers, seed, language)
    _check_constraint(question, value, answers, language)
    return value


def _is_empty(raw: str | tuple[str, ...]) -> bool:
    if isinstance(raw, tuple):
        return not any(part.strip() for part in raw)
    return not raw.strip()


def _parse(
    form: Form,
    question: Question,
    raw: str | tuple[str, ...],
    answers: Mapping[str, Answer],
    seed: int,
    language: str,
) -> Answer:
    kind = question.type
    if kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        offered = choices_for(form, question, answers, seed)
        if kind is QuestionType.SELECT_ONE:
            return _one_choice(raw, offered, language)
        return _many_choices(question, raw, offered, language)
    text = _single(raw)
    if kind is QuestionType.INTEGER:
        return _integer(text)
    if kind is QuestionType.DECIMAL:
        return _decimal(text)
    if kind is QuestionType.RANGE:
        return _range_value(question, text)
    return _text(text)


def _single(raw: str | tuple[str, ...]) -> str:
    return " ".join(raw).strip() if isinstance(raw, tuple) else raw.strip()


def _not_a_choice(offered: tuple[Choice, ...], language: str) -> AnswerRejected:
    labels = "、".join(choice.label(language) for choice in offered) or "—"
    return AnswerRejected(Text("form.answer.not_a_choice", {"choices": labels}))


def _one_choice(raw: str | tuple[str, ...], offered: tuple[Choice, ...], language: str) -> str:
    name = _single(raw)
    if any(choice.name == name for choice in offered):
        return name
    raise _not_a_choice(offered, language)


def _many_choices(
    question: Question, raw: str | tuple[str, ...], offered: tuple[Choice, ...], language: str
) -> tuple[str, ...]:
    parts = raw if isinstance(raw, tuple) else tuple(_SEPARATORS.split(raw))
    wanted = {part.strip() for part in parts if part.strip()}
    allowed = {choice.name for choice in offered}
    if not wanted <= allowed:
        raise _not_a_choice(offered, language)
    return tuple(choice.name for choice in question.choices if choice.name in wanted)


def _normalized(text: str) -> str:
    """Full-width digits, signs and points (１２．５) read as their ASCII forms."""
    return unicodedata.normalize("NFKC", text).strip()


def _integer(text: str) -> int:
    normalized = _normalized(text)
    if _INTEGER.fullmatch(normalized):
        return int(normalized)
    if _DECIMAL.fullmatch(normalized):
        raise AnswerRejected(Text("form.answer.not_a_whole_number", {"example": "25"}))
    raise AnswerRejected(Text("form.answer.not_a_number", {"example": "25"}))


def _decimal(text: str) -> float:
    normalized = _normalized(text)
    if _DECIMAL.fullmatch(normalized):
        return float(normalized)
    raise AnswerRejected(Text("form.answer.not_a_number", {"example": "3.5"}))


def _range_value(question: Question, text: str) -> int | float:
    spec = question.range
    if spec is None:  # a parsed form always has one; keep the answer as a number anyway
        return _decimal(text)
    normalized = _normalized(text)
    number = float(normalized) if _DECIMAL.fullmatch(normalized) else math.nan
    for allowed in spec.values():
        if abs(number - allowed) < 1e-9:
            return int(allowed) if allowed == int(allowed) else allowed
    bounds = {"min": format_number(spec.start), "max": format_number(spec.end)}
    raise AnswerRejected(Text("form.answer.out_of_range", bounds))


def _text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise AnswerRejected(Text("form.answer.too_long", {"limit": MAX_TEXT}))
    return text


def _check_constraint(
    question: Question, value: Answer, answers: Mapping[str, Answer], language: str
) -> None:
    if question.constraint is None:
        return
    with_value = {**answers, question.name: value}
    if expressions.is_true(question.constraint, with_value, current=value):
        return
    message = pick(question.constraint_messages, language)
    if message:
        raise AnswerRejected(Text("form.answer.constraint", {"message": message}))
    raise AnswerRejected(Text("form.answer.constraint_failed"))
