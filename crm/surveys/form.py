"""A survey form as the engine sees it: parsed once from an XLSForm workbook, immutable, and
stored as JSON with each survey version (answers keep the version they were given under)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class QuestionType(StrEnum):
    SELECT_ONE = "select_one"
    SELECT_MULTIPLE = "select_multiple"
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"
    RANGE = "range"
    NOTE = "note"


class KanoSide(StrEnum):
    FUNCTIONAL = "functional"
    DYSFUNCTIONAL = "dysfunctional"


# The five standard KANO answers (choice names a KANO question's list must use).
KANO_ANSWERS = ("like", "expect", "neutral", "tolerate", "dislike")

Labels = Mapping[str, str]
"""Text by language: ``{"zh": ..., "en": ...}``; the key ``""`` holds a plain ``label``."""


def pick(labels: Labels, language: str) -> str:
    """The text in ``language``, else the plain one, else Chinese, else any."""
    for key in (language, "", "zh", "en"):
        if labels.get(key):
            return labels[key]
    return next(iter(labels.values()), "")


@dataclass(frozen=True)
class Choice:
    name: str
    labels: Labels = field(hash=False)
    tag: str | None = None  # x_tag: choosing this answer tags the customer
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)  # for choice_filter

    def label(self, language: str) -> str:
        return pick(self.labels, language) or self.name


@dataclass(frozen=True)
class RangeSpec:
    start: float
    end: float
    step: float

    def values(self) -> tuple[float, ...]:
        count = round((self.end - self.start) / self.step)
        return tuple(self.start + index * self.step for index in range(count + 1))


@dataclass(frozen=True)
class Kano:
    feature: str
    side: KanoSide


@dataclass(frozen=True)
class Question:
    name: str
    type: QuestionType
    labels: Labels = field(hash=False)
    row: int = 0  # row in the ``survey`` sheet, for messages about the workbook
    hints: Labels = field(default_factory=dict, hash=False)
    required: bool = False
    relevant: str | None = None  # own relevance AND every enclosing group's, already combined
    constraint: str | None = None
    constraint_messages: Labels = field(default_factory=dict, hash=False)
    choices: tuple[Choice, ...] = ()
    choice_filter: str | None = None
    range: RangeSpec | None = None
    randomize: bool = False
    kano: Kano | None = None
    check: str | None = None  # x_check: the expected answer of an attention check
    contradiction: str | None = None  # x_contradiction: true means the response contradicts
    tag: str | None = None  # x_tag on a non-select question: answering it tags the customer
    group: str | None = None  # name of the innermost enclosing group

    def label(self, language: str) -> str:
        return pick(self.labels, language) or self.name

    def choice(self, name: str) -> Choice | None:
        return next((choice for choice in self.choices if choice.name == name), None)

    @property
    def is_scale(self) -> bool:
        return self.type is QuestionType.RANGE

    @property
    def is_nps(self) -> bool:
        spec = self.range
        return spec is not None and (spec.start, spec.end, spec.step) == (0, 10, 1)


@dataclass(frozen=True)
class Quota:
    """A quota cell: at most ``limit`` valid completed responses where ``field`` equals
    ``value``. ``field`` is a customer attribute (industry, size, stage, grade, region, source)
    or ``${question}`` for an answer."""

    field: str
    value: str
    limit: int

    @property
    def question(self) -> str | None:
        if self.field.startswith("${") and self.field.endswith("}"):
            return self.field[2:-1]
        return None


@dataclass(frozen=True)
class FormSettings:
    form_id: str
    title: Labels
    version: str
    consent: Labels = field(default_factory=dict)  # x_consent: what the answers are used for
    minutes: int = 5  # x_minutes: estimated time
    target: int = 0  # x_target: valid responses wanted (0: no target)
    speeder_ratio: float = 1 / 3  # x_speeder_ratio: faster than this share of the median
    min_seconds: int = 0  # x_min_seconds: absolute minimum completion time
    retention_days: int = 365  # x_retention_days: how long answers are kept
    default_language: str = "zh"

    def title_in(self, language: str) -> str:
        return pick(self.title, language) or self.form_id


@dataclass(frozen=True)
class Form:
    settings: FormSettings
    questions: tuple[Question, ...]
    quotas: tuple[Quota, ...] = ()

    def question(self, name: str) -> Question | None:
        return next((question for question in self.questions if question.name == name), None)

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.type is not QuestionType.NOTE)

    def to_json(self) -> dict[str, Any]:
        from crm.surveys.serialization import form_to_json

        return form_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Form:
        from crm.surveys.serialization import form_from_json

        return form_from_json(data)


Answer = str | int | float | tuple[str, ...]
"""select_one: the choice name; select_multiple: the chosen names in form order; integer: int;
decimal and range: float (a whole range value is stored as int); text: str."""
