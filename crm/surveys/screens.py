"""What a respondent sees next, as the answering use cases return it: the consent screen, a
question, or a notice (thanks, declined, closed, ...). The bot renders these."""

from __future__ import annotations

from dataclasses import dataclass

from crm.surveys.form import Choice, Question
from crm.texts import Text


@dataclass(frozen=True)
class ConsentScreen:
    response_id: int
    title: str
    minutes: int
    purpose: str  # the workbook's consent text, in the respondent's language ("" if none)
    retention_days: int
    resumed: bool = False


@dataclass(frozen=True)
class QuestionScreen:
    response_id: int
    index: int  # the question's position in the form (for button data)
    question: Question
    choices: tuple[Choice, ...]  # in the order shown (filtered, maybe shuffled)
    selected: tuple[str, ...]  # the current answer: choice names, or the value as text
    position: tuple[int, int]  # (3, 12)
    can_go_back: bool
    problem: Text | None = None  # why the last input was not taken
    resumed: bool = False


@dataclass(frozen=True)
class Notice:
    """A message instead of a question; ``toast`` ones answer a button press only."""

    text: Text
    toast: bool = False


Screen = ConsentScreen | QuestionScreen | Notice
