"""Quota cells: at most N valid completed responses per cell (an industry, a size, an answer).
A full cell politely closes the survey for new respondents who fall into it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crm.surveys.form import Answer, Form, Quota
from crm.surveys.responses import CompletedResponse


@dataclass(frozen=True)
class QuotaCell:
    field: str
    value: str
    limit: int
    filled: int

    @property
    def full(self) -> bool:
        return self.filled >= self.limit


def cells(form: Form, completed: Sequence[CompletedResponse]) -> list[QuotaCell]:
    return [
        QuotaCell(quota.field, quota.value, quota.limit, _filled(quota, completed))
        for quota in form.quotas
    ]


def screens(form: Form, question: str) -> bool:
    """Whether answering ``question`` may put the respondent into a quota cell."""
    return any(quota.question == question for quota in form.quotas)


def full_cell_for_customer(
    form: Form, segments: Mapping[str, str], completed: Sequence[CompletedResponse]
) -> str | None:
    for quota in form.quotas:
        in_cell = quota.question is None and segments.get(quota.field) == quota.value
        if in_cell and _filled(quota, completed) >= quota.limit:
            return _name(quota)
    return None


def full_cell_for_answers(
    form: Form, answers: Mapping[str, Answer], completed: Sequence[CompletedResponse]
) -> str | None:
    for quota in form.quotas:
        question = quota.question
        in_cell = question is not None and _answered(answers.get(question), quota.value)
        if in_cell and _filled(quota, completed) >= quota.limit:
            return _name(quota)
    return None


def _filled(quota: Quota, completed: Sequence[CompletedResponse]) -> int:
    return sum(1 for response in completed if response.valid and _in_cell(quota, response))


def _in_cell(quota: Quota, response: CompletedResponse) -> bool:
    if quota.question is None:
        return response.segments.get(quota.field) == quota.value
    return _answered(response.answers.get(quota.question), quota.value)


def _answered(answer: Answer | None, value: str) -> bool:
    if isinstance(answer, tuple):
        return value in answer
    return answer is not None and str(answer) == value


def _name(quota: Quota) -> str:
    return f"{quota.field}={quota.value}"
