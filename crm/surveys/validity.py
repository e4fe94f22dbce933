"""Why a completed response should not count: too fast, the same answer everywhere, a failed
attention check, or answers that contradict each other. Flags only: nothing is ever deleted.

Rules (the seed documents: "剔除填写时间<2分钟或答案逻辑矛盾的问卷"):

- speeder: faster than ``speeder_ratio`` × the median completion time of the survey's completed
  responses, or — while there are too few of them for a median (``median_duration`` returns
  None) — × the estimated time ``minutes``; or faster than ``min_seconds``.
- straight-lining: at least ``STRAIGHT_LINE_MINIMUM`` answers in one battery, all the same. A
  battery is every ``range`` question on the same scale, or every ``select_one`` question in the
  same group with the same list of ≥ 3 choices (a matrix of ratings). Attention-check questions
  are left out (their answer is dictated).
- attention: a question with ``x_check`` answered differently (numbers compared as numbers).
- contradiction: a question's ``x_contradiction`` expression is true for the answers given
  (evaluated only when the question itself was answered, or for a note).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping, Sequence

from crm.surveys.expressions import ExpressionError, is_true
from crm.surveys.form import Answer, Form, Question, QuestionType
from crm.surveys.responses import Flag, FlagKind
from crm.texts import Text

STRAIGHT_LINE_MINIMUM = 4
MATRIX_MINIMUM_CHOICES = 3


def median_duration(durations: Sequence[float], minimum_count: int = 5) -> float | None:
    """The median completion time, or None while fewer than ``minimum_count`` are known."""
    if len(durations) < max(minimum_count, 1):
        return None
    return float(statistics.median(durations))


def flags_for(
    form: Form,
    answers: Mapping[str, Answer],
    duration_seconds: float,
    median_seconds: float | None,
) -> tuple[Flag, ...]:
    """Every validity flag the response earns, each with a reason that explains it."""
    flags: list[Flag] = []
    speeder = _speeder(form, duration_seconds, median_seconds)
    if speeder is not None:
        flags.append(speeder)
    flags.extend(_straight_lines(form, answers))
    flags.extend(_attention(form, answers))
    flags.extend(_contradictions(form, answers))
    return tuple(flags)


# --- speeders --------------------------------------------------------------------------------


def _speeder(form: Form, seconds: float, median: float | None) -> Flag | None:
    settings = form.settings
    expected = median if median is not None else settings.minutes * 60.0
    limit = settings.speeder_ratio * expected
    shown = {"seconds": _whole(seconds), "limit": _whole(limit)}
    if seconds < limit and median is not None:
        reason = Text("analysis.flag.speeder_median", {**shown, "median": _whole(median)})
        return Flag(FlagKind.SPEEDER, reason)
    if seconds < limit:
        reason = Text("analysis.flag.speeder_expected", {**shown, "expected": _whole(expected)})
        return Flag(FlagKind.SPEEDER, reason)
    if seconds < settings.min_seconds:
        reason = Text(
            "analysis.flag.speeder_minimum",
            {"seconds": _whole(seconds), "minimum": settings.min_seconds},
        )
        return Flag(FlagKind.SPEEDER, reason)
    return None


def _whole(seconds: float) -> int:
    return round(seconds)


# --- straight-lining -------------------------------------------------------------------------


def _batteries(form: Form) -> Iterator[tuple[Question, ...]]:
    batteries: dict[tuple[object, ...], list[Question]] = {}
    for question in form.questions:
        if question.check is not None:
            continue
        if question.type is QuestionType.RANGE and question.range is not None:
            spec = question.range
            key: tuple[object, ...] = ("range", spec.start, spec.end, spec.step)
        elif (
            question.type is QuestionType.SELECT_ONE
            and len(question.choices) >= MATRIX_MINIMUM_CHOICES
        ):
            key = ("select", question.group, tuple(choice.name for choice in question.choices))
        else:
            continue
        batteries.setdefault(key, []).append(question)
    yield from (tuple(questions) for questions in batteries.values())


def _straight_lines(form: Form, answers: Mapping[str, Answer]) -> Iterator[Flag]:
    language = form.settings.default_language
    for battery in _batteries(form):
        given = [(q, answers[q.name]) for q in battery if _answered(answers.get(q.name))]
        if len(given) < STRAIGHT_LINE_MINIMUM:
            continue
        values = {_normalised(answer) for _, answer in given}
        if len(values) == 1:
            question, answer = given[0]
            vars_: dict[str, str | int | float | Text] = {
                "count": len(given),
                "value": _shown(question, answer, language),
            }
            yield Flag(FlagKind.STRAIGHT_LINE, Text("analysis.flag.straight_line", vars_))


# --- attention checks ------------------------------------------------------------------------


def _attention(form: Form, answers: Mapping[str, Answer]) -> Iterator[Flag]:
    language = form.settings.default_language
    for question in form.questions:
        if question.check is None:
            continue
        answer = answers.get(question.name)
        if not _answered(answer) or answer is None:
            continue
        if _normalised(answer) != _normalised(question.check):
            reason = Text(
                "analysis.flag.attention",
                {
                    "question": question.label(language),
                    "expected": _shown(question, question.check, language),
                    "given": _shown(question, answer, language),
                },
            )
            yield Flag(FlagKind.ATTENTION, reason)


# --- contradictions --------------------------------------------------------------------------


def _contradictions(form: Form, answers: Mapping[str, Answer]) -> Iterator[Flag]:
    language = form.settings.default_language
    for question in form.questions:
        if question.contradiction is None:
            continue
        current = answers.get(question.name)
        if not _answered(current) and question.type is not QuestionType.NOTE:
            continue
        if _contradicts(question.contradiction, answers, current):
            reason = Text("analysis.flag.contradiction", {"question": question.label(language)})
            yield Flag(FlagKind.CONTRADICTION, reason)


def _contradicts(source: str, answers: Mapping[str, Answer], current: Answer | None) -> bool:
    """A broken expression (the form parser should have refused it) flags nobody."""
    try:
        return is_true(source, answers, current=current)
    except ExpressionError:
        return False


# --- values ----------------------------------------------------------------------------------


def _answered(answer: Answer | None) -> bool:
    return answer is not None and answer != "" and answer != ()


def _normalised(answer: Answer) -> str:
    """A comparable form: numbers as numbers (3 == 3.0 == "3"), multiple choices as a sorted
    space-separated list (the XLSForm way of writing them)."""
    if isinstance(answer, tuple):
        return " ".join(sorted(answer))
    if isinstance(answer, str):
        parts = answer.split()
        if len(parts) > 1:
            return " ".join(sorted(parts))
        answer = answer.strip()
    try:
        number = float(answer)
    except ValueError:
        return str(answer)
    return repr(number)


def _shown(question: Question, answer: Answer, language: str) -> str:
    """The answer as a reader knows it: choice labels for selects, numbers without ``.0``."""
    if isinstance(answer, tuple):
        return ", ".join(_shown(question, name, language) for name in answer)
    if isinstance(answer, str):
        choice = question.choice(answer.strip())
        return choice.label(language) if choice is not None else answer
    return f"{answer:g}"
