"""What the answers say: per-question summaries, trends, cross-tabs by customer segment, KANO
and the summary table of the seed documents (调研主题, 样本量, 核心结论(占比), 关联客户标签,
建议措施). Pure functions over completed responses; plain dataclasses out, no I/O.

Only valid responses (no flags) are analysed unless ``include_flagged`` is true.

Suggested actions (``summary_table``), the first rule that applies wins:

1. an NPS question (0-10) with NPS < 0 → improve service;
2. the linked tag is 价格敏感型 → a pricing offer; 服务关注型 → faster service response;
   技术偏好型 → prioritise the feature; 品质关注型 → fix quality;
3. a scale question whose mean is below the middle of its scale → investigate;
4. an NPS of 50 or more → ask promoters for referrals;
5. nobody answered → collect more answers; otherwise keep the current approach.

For a KANO feature the action follows its category (must-be: make sure it is there;
one-dimensional: invest; attractive: use it to stand out; indifferent: deprioritise;
reverse: reconsider; questionable: check the questions).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import StrEnum

from crm.keywords import (
    DEFAULT_KEYWORD_TAGS,
    PRICE_SENSITIVE,
    QUALITY_FOCUSED,
    SERVICE_FOCUSED,
    TECH_ORIENTED,
    KeywordExtractor,
    tags_for,
)
from crm.surveys.form import KANO_ANSWERS, Answer, Choice, Form, KanoSide, Question, QuestionType
from crm.surveys.responses import CompletedResponse
from crm.texts import Text

SEGMENTS = ("industry", "size", "stage")
UNKNOWN_SEGMENT = ""  # a respondent without a value for the segment (anonymous, not filled in)
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6
NPS_REFERRAL_MIN = 50.0
NUMERIC_TYPES = frozenset({QuestionType.RANGE, QuestionType.INTEGER, QuestionType.DECIMAL})
SELECT_TYPES = frozenset({QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE})


# --- per question ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceCount:
    choice: Choice
    count: int
    share: float  # of the respondents who answered the question, 0-1


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, −100…100 (None without answers)."""
        if not self.total:
            return None
        return 100 * (self.promoters - self.detractors) / self.total

    @classmethod
    def of(cls, values: Iterable[float]) -> Nps:
        scores = [round(value) for value in values]
        promoters = sum(1 for score in scores if score >= NPS_PROMOTER_MIN)
        detractors = sum(1 for score in scores if score <= NPS_DETRACTOR_MAX)
        return cls(promoters, len(scores) - promoters - detractors, detractors)


@dataclass(frozen=True)
class QuestionSummary:
    question: Question
    answered: int
    choices: tuple[ChoiceCount, ...] = ()  # selects, in form order
    mean: float | None = None  # numbers
    median: float | None = None
    distribution: Mapping[float, int] = field(default_factory=dict)  # value → count, ascending
    nps: Nps | None = None  # 0-10 ranges
    texts: tuple[str, ...] = ()  # text questions

    @property
    def top_choice(self) -> ChoiceCount | None:
        """The most chosen answer (the first in form order on a tie), None if nothing chosen."""
        best = max(self.choices, key=lambda item: item.count, default=None)
        return best if best is not None and best.count > 0 else None


def valid_only(
    responses: Sequence[CompletedResponse], include_flagged: bool = False
) -> list[CompletedResponse]:
    return [response for response in responses if include_flagged or response.valid]


def summarise(
    form: Form, responses: Sequence[CompletedResponse], *, include_flagged: bool = False
) -> tuple[QuestionSummary, ...]:
    """One summary per answerable question, in form order."""
    counted = valid_only(responses, include_flagged)
    return tuple(summarise_question(question, counted) for question in form.answerable)


def summarise_question(
    question: Question, responses: Sequence[CompletedResponse]
) -> QuestionSummary:
    """The summary of one question over ``responses`` (already filtered)."""
    answers = [_answer(response, question.name) for response in responses]
    given = [answer for answer in answers if answer is not None]
    if question.type in SELECT_TYPES:
        return _select_summary(question, given)
    if question.type in NUMERIC_TYPES:
        return _numeric_summary(question, given)
    texts = tuple(str(answer).strip() for answer in given if str(answer).strip())
    return QuestionSummary(question, len(texts), texts=texts)


def _select_summary(question: Question, given: Sequence[Answer]) -> QuestionSummary:
    counts: Counter[str] = Counter()
    for answer in given:
        counts.update(set(_chosen(answer)))
    answered = len(given)
    choices = tuple(
        ChoiceCount(choice, counts[choice.name], _share(counts[choice.name], answered))
        for choice in question.choices
    )
    return QuestionSummary(question, answered, choices=choices)


def _numeric_summary(question: Question, given: Sequence[Answer]) -> QuestionSummary:
    values = [number for number in map(_number, given) if number is not None]
    counts = Counter(values)
    scale = question.range.values() if question.range is not None else ()
    distribution = {value: counts.get(value, 0) for value in sorted({*scale, *counts})}
    return QuestionSummary(
        question,
        len(values),
        mean=statistics.fmean(values) if values else None,
        median=float(statistics.median(values)) if values else None,
        distribution=distribution,
        nps=Nps.of(values) if question.is_nps else None,
    )


# --- trends ----------------------------------------------------------------------------------


class TrendBy(StrEnum):
    MONTH = "month"  # calendar month of completion, "2026-03"
    VERSION = "version"  # survey version, "1", "2", ...


@dataclass(frozen=True)
class TrendPoint:
    period: str
    answered: int
    mean: float | None
    nps: float | None  # only for 0-10 questions


def trend(
    form: Form,
    responses: Sequence[CompletedResponse],
    question_name: str,
    *,
    by: TrendBy = TrendBy.MONTH,
    include_flagged: bool = False,
    tz: tzinfo | None = None,
) -> tuple[TrendPoint, ...]:
    """Mean (and NPS) of a numeric question per month of ``completed_at`` (converted to ``tz``
    when given) or per version, oldest first."""
    question = _require(form, question_name)
    groups: dict[tuple[int, int], list[float]] = {}
    for response in valid_only(responses, include_flagged):
        value = _number(_answer(response, question.name))
        if value is None:
            continue
        groups.setdefault(_period(response, by, tz), []).append(value)
    return tuple(
        TrendPoint(
            period=f"{key[0]:04d}-{key[1]:02d}" if by is TrendBy.MONTH else str(key[0]),
            answered=len(values),
            mean=statistics.fmean(values),
            nps=Nps.of(values).score if question.is_nps else None,
        )
        for key, values in sorted(groups.items())
    )


def _period(response: CompletedResponse, by: TrendBy, tz: tzinfo | None) -> tuple[int, int]:
    if by is TrendBy.VERSION:
        return (response.version, 0)
    moment = response.completed_at
    if tz is not None and moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return (moment.year, moment.month)


# --- cross-tabs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossTab:
    """Answers to one question by the value of a customer segment (industry, size, stage)."""

    question: Question
    segment: str
    rows: tuple[str, ...]  # segment values, most respondents first, UNKNOWN_SEGMENT last
    columns: tuple[str, ...]  # choice names, or values of a numeric question ("3", "4.5")
    counts: Mapping[tuple[str, str], int]
    respondents: Mapping[str, int]  # per segment value, who answered the question
    means: Mapping[str, float] = field(default_factory=dict)  # numeric questions

    def count(self, row: str, column: str) -> int:
        return self.counts.get((row, column), 0)

    def share(self, row: str, column: str) -> float:
        """Share within the segment value (of its respondents; several per select_multiple)."""
        return _share(self.count(row, column), self.respondents.get(row, 0))


def cross_tab(
    form: Form,
    responses: Sequence[CompletedResponse],
    question_name: str,
    segment: str,
    *,
    include_flagged: bool = False,
) -> CrossTab:
    question = _require(form, question_name)
    counts: Counter[tuple[str, str]] = Counter()
    respondents: Counter[str] = Counter()
    values: dict[str, list[float]] = {}
    for response in valid_only(responses, include_flagged):
        cells = _cells(question, _answer(response, question.name))
        if not cells:
            continue
        row = response.segments.get(segment) or UNKNOWN_SEGMENT
        respondents[row] += 1
        counts.update((row, cell) for cell in cells)
        number = _number(_answer(response, question.name))
        if question.type in NUMERIC_TYPES and number is not None:
            values.setdefault(row, []).append(number)
    rows = sorted(respondents, key=lambda row: (row == UNKNOWN_SEGMENT, -respondents[row], row))
    return CrossTab(
        question=question,
        segment=segment,
        rows=tuple(rows),
        columns=_columns(question, {cell for _, cell in counts}),
        counts=dict(counts),
        respondents=dict(respondents),
        means={row: statistics.fmean(numbers) for row, numbers in values.items()},
    )


def _cells(question: Question, answer: Answer | None) -> tuple[str, ...]:
    if answer is None:
        return ()
    if question.type in SELECT_TYPES:
        known = {choice.name for choice in question.choices}
        return tuple(name for name in dict.fromkeys(_chosen(answer)) if name in known)
    number = _number(answer)
    return (_number_key(number),) if number is not None else ()


def _columns(question: Question, seen: set[str]) -> tuple[str, ...]:
    if question.type in SELECT_TYPES:
        return tuple(choice.name for choice in question.choices)
    scale = question.range.values() if question.range is not None else ()
    numbers = {*scale, *(float(cell) for cell in seen)}
    return tuple(_number_key(number) for number in sorted(numbers))


# --- KANO ------------------------------------------------------------------------------------


class KanoCategory(StrEnum):
    ATTRACTIVE = "A"
    ONE_DIMENSIONAL = "O"
    MUST_BE = "M"
    INDIFFERENT = "I"
    REVERSE = "R"
    QUESTIONABLE = "Q"


# The order that breaks a tie between equally frequent categories: M > O > A > I > R > Q.
KANO_ORDER: tuple[KanoCategory, ...] = (
    KanoCategory.MUST_BE,
    KanoCategory.ONE_DIMENSIONAL,
    KanoCategory.ATTRACTIVE,
    KanoCategory.INDIFFERENT,
    KanoCategory.REVERSE,
    KanoCategory.QUESTIONABLE,
)

_KANO_ROWS = {
    "like": "QAAAO",
    "expect": "RIIIM",
    "neutral": "RIIIM",
    "tolerate": "RIIIM",
    "dislike": "RRRRQ",
}
KANO_TABLE: Mapping[tuple[str, str], KanoCategory] = {
    (functional, dysfunctional): KanoCategory(row[column])
    for functional, row in _KANO_ROWS.items()
    for column, dysfunctional in enumerate(KANO_ANSWERS)
}


def kano_category(functional: str, dysfunctional: str) -> KanoCategory | None:
    """The standard KANO table (rows: the functional answer, columns: the dysfunctional)."""
    return KANO_TABLE.get((functional, dysfunctional))


@dataclass(frozen=True)
class KanoResult:
    feature: str
    functional: Question
    dysfunctional: Question
    counts: Mapping[KanoCategory, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def category(self) -> KanoCategory | None:
        """The most frequent category; ties broken M > O > A > I > R > Q."""
        best = max(KANO_ORDER, key=lambda category: self.counts.get(category, 0))
        return best if self.counts.get(best, 0) > 0 else None

    @property
    def better(self) -> float | None:
        """(A + O) / (A + O + M + I)."""
        a, o, m, i = self._core()
        return (a + o) / (a + o + m + i) if a + o + m + i else None

    @property
    def worse(self) -> float | None:
        """−(O + M) / (A + O + M + I)."""
        a, o, m, i = self._core()
        return -(o + m) / (a + o + m + i) if a + o + m + i else None

    def _core(self) -> tuple[int, int, int, int]:
        get = self.counts.get
        return (
            get(KanoCategory.ATTRACTIVE, 0),
            get(KanoCategory.ONE_DIMENSIONAL, 0),
            get(KanoCategory.MUST_BE, 0),
            get(KanoCategory.INDIFFERENT, 0),
        )


def kano_pairs(form: Form) -> tuple[tuple[str, Question, Question], ...]:
    """(feature, functional question, dysfunctional question) for every complete pair."""
    sides: dict[str, dict[KanoSide, Question]] = {}
    for question in form.questions:
        if question.kano is not None:
            sides.setdefault(question.kano.feature, {})[question.kano.side] = question
    return tuple(
        (feature, pair[KanoSide.FUNCTIONAL], pair[KanoSide.DYSFUNCTIONAL])
        for feature, pair in sides.items()
        if len(pair) == len(KanoSide)
    )


def kano(
    form: Form, responses: Sequence[CompletedResponse], *, include_flagged: bool = False
) -> tuple[KanoResult, ...]:
    counted = valid_only(responses, include_flagged)
    return tuple(
        _kano_feature(feature, functional, dysfunctional, counted)
        for feature, functional, dysfunctional in kano_pairs(form)
    )


def _kano_feature(
    feature: str,
    functional: Question,
    dysfunctional: Question,
    responses: Sequence[CompletedResponse],
) -> KanoResult:
    counts: Counter[KanoCategory] = Counter()
    for response in responses:
        pair = (_answer(response, functional.name), _answer(response, dysfunctional.name))
        if isinstance(pair[0], str) and isinstance(pair[1], str):
            category = kano_category(pair[0], pair[1])
            if category is not None:
                counts[category] += 1
    return KanoResult(
        feature, functional, dysfunctional, {category: counts[category] for category in KANO_ORDER}
    )


# --- the summary table -----------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table: 调研主题, 样本量, 核心结论(占比), 关联客户标签, 建议措施."""

    question: Question
    sample: int
    finding: Text
    tag: str | None
    action: Text
    feature: str | None = None  # a KANO feature (``question`` is its functional question)

    def topic(self, language: str) -> str:
        return self.question.label(language)


def summary_table(
    summaries: Sequence[QuestionSummary],
    kano_results: Sequence[KanoResult] = (),
    *,
    language: str = "zh",
    extractor: KeywordExtractor | None = None,
    keyword_tags: Mapping[str, str] = DEFAULT_KEYWORD_TAGS,
) -> tuple[SummaryRow, ...]:
    """A row per question (KANO questions as one row per feature), in form order. Choice
    labels in the findings are in ``language``; text questions list their top keywords when an
    ``extractor`` is given."""
    in_kano = {q.name for result in kano_results for q in (result.functional, result.dysfunctional)}
    rows = [
        _row(summary, language, extractor, keyword_tags)
        for summary in summaries
        if summary.question.name not in in_kano and summary.question.kano is None
    ]
    rows.extend(_kano_row(result) for result in kano_results)
    return tuple(rows)


def _row(
    summary: QuestionSummary,
    language: str,
    extractor: KeywordExtractor | None,
    keyword_tags: Mapping[str, str],
) -> SummaryRow:
    tag = _linked_tag(summary, keyword_tags)
    finding = _finding(summary, language, extractor)
    action = _action(summary, tag, language)
    return SummaryRow(summary.question, summary.answered, finding, tag, action)


def _linked_tag(summary: QuestionSummary, keyword_tags: Mapping[str, str]) -> str | None:
    top = summary.top_choice
    if top is not None and top.choice.tag:
        return top.choice.tag
    if summary.question.tag:
        return summary.question.tag
    found = Counter(tag for text in summary.texts for tag in tags_for(text, keyword_tags))
    return found.most_common(1)[0][0] if found else None


def _finding(summary: QuestionSummary, language: str, extractor: KeywordExtractor | None) -> Text:
    question = summary.question
    if not summary.answered:
        return Text("analysis.finding.none")
    top = summary.top_choice
    if question.type in SELECT_TYPES and top is not None:
        share = _percent(top.share)
        choice = top.choice.label(language)
        return Text("analysis.finding.top_choice", {"share": share, "choice": choice})
    if summary.nps is not None and summary.nps.score is not None:
        nps = summary.nps
        return Text(
            "analysis.finding.nps",
            {
                "nps": round(nps.score or 0.0),
                "promoters": _percent(_share(nps.promoters, nps.total)),
                "detractors": _percent(_share(nps.detractors, nps.total)),
            },
        )
    if question.range is not None and summary.mean is not None:
        scale = {"low": f"{question.range.start:g}", "high": f"{question.range.end:g}"}
        return Text("analysis.finding.mean", {"mean": _one_place(summary.mean), **scale})
    if summary.mean is not None and summary.median is not None:
        numbers = {"mean": _one_place(summary.mean), "median": _one_place(summary.median)}
        return Text("analysis.finding.average", numbers)
    if extractor is not None and summary.texts:
        words = [word for word, _ in extractor.top(summary.texts, top_k=3)]
        keywords: dict[str, str | int | float | Text] = {
            "count": summary.answered,
            "keywords": " / ".join(words),
        }
        return Text("analysis.finding.keywords", keywords)
    return Text("analysis.finding.answers", {"count": summary.answered})


def _action(summary: QuestionSummary, tag: str | None, language: str) -> Text:
    question, nps = summary.question, summary.nps
    score = nps.score if nps is not None else None
    if score is not None and score < 0:
        return Text("analysis.action.improve_service")
    by_tag = _tag_action(summary, tag, language)
    if by_tag is not None:
        return by_tag
    spec = question.range
    mean = summary.mean
    if (
        spec is not None
        and not question.is_nps
        and mean is not None
        and mean < (spec.start + spec.end) / 2
    ):
        return Text("analysis.action.investigate")
    if score is not None and score >= NPS_REFERRAL_MIN:
        return Text("analysis.action.referral")
    if not summary.answered:
        return Text("analysis.action.collect_more")
    return Text("analysis.action.keep")


def _tag_action(summary: QuestionSummary, tag: str | None, language: str) -> Text | None:
    if tag == PRICE_SENSITIVE:
        return Text("analysis.action.pricing_offer")
    if tag == SERVICE_FOCUSED:
        return Text("analysis.action.service_response")
    if tag == QUALITY_FOCUSED:
        return Text("analysis.action.quality")
    if tag == TECH_ORIENTED:
        top = summary.top_choice
        feature = top.choice.label(language) if top is not None else ""
        return Text("analysis.action.prioritise_feature", {"feature": feature or "—"})
    return None


def _kano_row(result: KanoResult) -> SummaryRow:
    category = result.category
    if category is None:
        finding, action = Text("analysis.finding.none"), Text("analysis.action.collect_more")
    else:
        finding = Text(
            "analysis.finding.kano",
            {
                "category": kano_text(category),
                "better": _two_places(result.better),
                "worse": _two_places(result.worse),
            },
        )
        key = category.name.lower()
        action = Text(f"analysis.kano_action.{key}")
    return SummaryRow(result.functional, result.total, finding, None, action, result.feature)


def kano_text(category: KanoCategory) -> Text:
    """The category's name as the reader knows it (必备型, 期望型, ...)."""
    key = category.name.lower()
    return Text(f"analysis.kano.{key}")


# --- keywords --------------------------------------------------------------------------------


def top_keywords(
    summaries: Sequence[QuestionSummary],
    *,
    top_k: int = 20,
    extractor: KeywordExtractor | None = None,
) -> list[tuple[str, float]]:
    """The heaviest keywords over every text answer (for a word cloud)."""
    from crm.keywords import default_extractor

    texts = [text for summary in summaries for text in summary.texts]
    if not texts:
        return []
    return (extractor or default_extractor()).top(texts, top_k=top_k)


# --- everything at once ----------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    summaries: tuple[QuestionSummary, ...]
    kano: tuple[KanoResult, ...]
    table: tuple[SummaryRow, ...]
    valid: int
    flagged: int


def analyse(
    form: Form,
    responses: Sequence[CompletedResponse],
    *,
    include_flagged: bool = False,
    language: str | None = None,
    extractor: KeywordExtractor | None = None,
) -> Analysis:
    """Summaries, KANO results and the summary table in one go."""
    summaries = summarise(form, responses, include_flagged=include_flagged)
    kano_results = kano(form, responses, include_flagged=include_flagged)
    table = summary_table(
        summaries,
        kano_results,
        language=language or form.settings.default_language,
        extractor=extractor,
    )
    valid = sum(1 for response in responses if response.valid)
    return Analysis(summaries, kano_results, table, valid, len(responses) - valid)


# --- helpers ---------------------------------------------------------------------------------


def _require(form: Form, name: str) -> Question:
    question = form.question(name)
    if question is None:
        raise KeyError(name)
    return question


def _answer(response: CompletedResponse, name: str) -> Answer | None:
    answer = response.answers.get(name)
    if answer is None or answer == "" or answer == ():
        return None
    return answer


def _chosen(answer: Answer) -> tuple[str, ...]:
    if isinstance(answer, tuple):
        return answer
    return tuple(str(answer).split())


def _number(answer: Answer | None) -> float | None:
    if isinstance(answer, bool) or answer is None or isinstance(answer, tuple):
        return None
    try:
        return float(answer)
    except ValueError:
        return None


def _number_key(number: float) -> str:
    return f"{number:g}"


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _percent(share: float) -> int:
    return round(share * 100)


def _one_place(value: float) -> float:
    return round(value, 1)


def _two_places(value: float | None) -> float:
    return round(value, 2) if value is not None else 0.0
