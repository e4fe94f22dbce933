"""The survey's Excel workbook: every response (flagged ones too, with the reasons), a sheet per
question summary, the KANO table when the form has KANO pairs, and the summary table of the
seed documents. xlsxwriter in ``constant_memory`` mode (rows go out as they are written), bytes
out. Every text from respondents goes through ``write_string``, so "=1+1" stays text and never
becomes a formula; sheet names are cleaned for Excel (≤ 31 characters, unique, no ``[]:*?/\\``).
Datetimes are written as the wall-clock time of ``tz`` when given, else as stored."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

import xlsxwriter

from crm.surveys.analysis import (
    KANO_ORDER,
    KanoResult,
    QuestionSummary,
    SummaryRow,
    kano,
    kano_pairs,
    kano_text,
    summary_table,
)
from crm.surveys.form import Answer, Form, Question, QuestionType
from crm.surveys.responses import CompletedResponse
from crm.texts import Text

Translate = Callable[[Text], str]

MAX_SHEET_NAME = 31
MAX_CELL_TEXT = 32_767
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_RESERVED_SHEET_NAMES = frozenset({"history"})

SHEET_RESPONSES = Text("analysis.export.sheet_responses")
SHEET_KANO = Text("analysis.export.sheet_kano")
SHEET_SUMMARY = Text("analysis.export.sheet_summary")
RESPONSE_HEADERS = (
    Text("analysis.export.response_id"),
    Text("analysis.export.customer_code"),
    Text("analysis.export.channel"),
    Text("analysis.export.version"),
    Text("analysis.export.started"),
    Text("analysis.export.completed"),
    Text("analysis.export.duration"),
)
FLAGS = Text("analysis.export.flags")
VALID = Text("analysis.export.valid")
YES = Text("analysis.export.yes")
NO = Text("analysis.export.no")
ANSWERED = Text("analysis.export.answered")
CHOICE = Text("analysis.export.choice")
VALUE = Text("analysis.export.value")
COUNT = Text("analysis.export.count")
SHARE = Text("analysis.export.share")
ANSWER = Text("analysis.export.answer")
MEAN = Text("analysis.export.mean")
MEDIAN = Text("analysis.export.median")
NPS = Text("analysis.export.nps")
KANO_HEADERS_HEAD = (Text("analysis.export.feature"), Text("analysis.export.question"))
KANO_HEADERS_TAIL = (
    Text("analysis.export.total"),
    Text("analysis.export.category"),
    Text("analysis.export.better"),
    Text("analysis.export.worse"),
)
SUMMARY_HEADERS = (
    Text("analysis.export.topic"),
    Text("analysis.export.sample"),
    Text("analysis.export.finding"),
    Text("analysis.export.tag"),
    Text("analysis.export.action"),
)


def responses_workbook(
    form: Form,
    responses: Sequence[CompletedResponse],
    summaries: Sequence[QuestionSummary],
    language: str,
    translate: Translate,
    *,
    kano_results: Sequence[KanoResult] | None = None,
    table: Sequence[SummaryRow] | None = None,
    tz: tzinfo | None = None,
) -> bytes:
    """The workbook as bytes. ``kano_results`` and ``table`` are computed (valid responses
    only) when not given."""
    if kano_results is None:
        kano_results = kano(form, responses) if kano_pairs(form) else ()
    if table is None:
        table = summary_table(summaries, kano_results, language=language)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    writer = _Writer(book, language, translate, tz)
    writer.responses(form, responses)
    for index, summary in enumerate(summaries, start=1):
        writer.question(index, summary)
    if kano_results:
        writer.kano(kano_results)
    writer.summary(table)
    book.close()
    return buffer.getvalue()


class _Writer:
    def __init__(self, book: Any, language: str, translate: Translate, tz: tzinfo | None) -> None:
        self.book = book
        self.language = language
        self.t = translate
        self.tz = tz
        self.names = SheetNames()
        self.bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True})
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.percent = book.add_format({"num_format": "0.0%"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.decimal = book.add_format({"num_format": "0.00"})

    # --- sheets --------------------------------------------------------------------------

    def responses(self, form: Form, responses: Sequence[CompletedResponse]) -> None:
        sheet = self._sheet(self.t(SHEET_RESPONSES))
        questions = form.answerable
        headers = [self.t(text) for text in RESPONSE_HEADERS]
        headers += [question.label(self.language) for question in questions]
        headers += [self.t(FLAGS), self.t(VALID)]
        self._header(sheet, 0, headers)
        sheet.freeze_panes(1, 1)
        sheet.set_column(0, 3, 10)
        sheet.set_column(4, 5, 19)
        sheet.set_column(6, len(headers) - 1, 16)
        for row, response in enumerate(responses, start=1):
            self._response(sheet, row, questions, response)

    def question(self, index: int, summary: QuestionSummary) -> None:
        question = summary.question
        label = question.label(self.language)
        sheet = self._sheet(f"{index}. {label}")
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, 2, 12)
        text(sheet, 0, 0, label, self.title)
        text(sheet, 1, 0, self.t(ANSWERED))
        sheet.write_number(1, 1, summary.answered)
        if question.type in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
            self._choices(sheet, summary)
        elif question.type is QuestionType.TEXT:
            self._header(sheet, 3, [self.t(ANSWER)])
            for row, answer in enumerate(summary.texts, start=4):
                text(sheet, row, 0, answer)
        else:
            self._numbers(sheet, summary)

    def kano(self, results: Sequence[KanoResult]) -> None:
        sheet = self._sheet(self.t(SHEET_KANO))
        categories = [f"{c.value} {self.t(kano_text(c))}" for c in KANO_ORDER]
        heads = [self.t(h) for h in KANO_HEADERS_HEAD]
        self._header(sheet, 0, [*heads, *categories, *(self.t(h) for h in KANO_HEADERS_TAIL)])
        sheet.set_column(0, 1, 24)
        sheet.set_column(2, 2 + len(categories) + 3, 11)
        for row, result in enumerate(results, start=1):
            text(sheet, row, 0, result.feature)
            text(sheet, row, 1, result.functional.label(self.language))
            column = 2
            for category in KANO_ORDER:
                sheet.write_number(row, column, result.counts.get(category, 0))
                column += 1
            sheet.write_number(row, column, result.total)
            if result.category is not None:
                text(sheet, row, column + 1, self.t(kano_text(result.category)))
            self._maybe_number(sheet, row, column + 2, result.better, self.decimal)
            self._maybe_number(sheet, row, column + 3, result.worse, self.decimal)

    def summary(self, table: Sequence[SummaryRow]) -> None:
        sheet = self._sheet(self.t(SHEET_SUMMARY))
        self._header(sheet, 0, [self.t(header) for header in SUMMARY_HEADERS])
        sheet.set_column(0, 0, 32)
        sheet.set_column(1, 1, 10)
        sheet.set_column(2, 2, 40)
        sheet.set_column(3, 3, 14)
        sheet.set_column(4, 4, 40)
        for row, line in enumerate(table, start=1):
            text(sheet, row, 0, line.topic(self.language))
            sheet.write_number(row, 1, line.sample)
            text(sheet, row, 2, self.t(line.finding))
            text(sheet, row, 3, line.tag or "")
            text(sheet, row, 4, self.t(line.action))

    # --- pieces --------------------------------------------------------------------------

    def _sheet(self, wanted: str) -> Any:
        return self.book.add_worksheet(self.names.add(wanted))

    def _header(self, sheet: Any, row: int, headers: Iterable[str]) -> None:
        for column, header in enumerate(headers):
            text(sheet, row, column, header, self.bold)

    def _response(
        self, sheet: Any, row: int, questions: Sequence[Question], response: CompletedResponse
    ) -> None:
        sheet.write_number(row, 0, response.id)
        text(sheet, row, 1, response.customer_code or "")
        text(sheet, row, 2, response.channel)
        sheet.write_number(row, 3, response.version)
        sheet.write_datetime(row, 4, self._local(response.started_at), self.date)
        sheet.write_datetime(row, 5, self._local(response.completed_at), self.date)
        sheet.write_number(row, 6, round(response.duration_seconds))
        column = 7
        for question in questions:
            self._answer(sheet, row, column, question, response.answers.get(question.name))
            column += 1
        text(sheet, row, column, "; ".join(self.t(flag.reason) for flag in response.flags))
        text(sheet, row, column + 1, self.t(YES if response.valid else NO))

    def _answer(
        self, sheet: Any, row: int, column: int, question: Question, answer: Answer | None
    ) -> None:
        if answer is None or answer == "" or answer == ():
            return
        if isinstance(answer, bool):
            text(sheet, row, column, str(answer))
        elif isinstance(answer, int | float):
            sheet.write_number(row, column, answer)
        else:
            text(sheet, row, column, self._labels(question, answer))

    def _labels(self, question: Question, answer: str | tuple[str, ...]) -> str:
        if question.type not in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
            return answer if isinstance(answer, str) else " ".join(answer)
        names = answer if isinstance(answer, tuple) else tuple(answer.split())
        labels = []
        for name in names:
            choice = question.choice(name)
            labels.append(choice.label(self.language) if choice is not None else name)
        return "; ".join(labels)

    def _choices(self, sheet: Any, summary: QuestionSummary) -> None:
        self._header(sheet, 3, [self.t(CHOICE), self.t(COUNT), self.t(SHARE)])
        for row, item in enumerate(summary.choices, start=4):
            text(sheet, row, 0, item.choice.label(self.language))
            sheet.write_number(row, 1, item.count)
            sheet.write_number(row, 2, item.share, self.percent)

    def _numbers(self, sheet: Any, summary: QuestionSummary) -> None:
        self._header(sheet, 3, [self.t(VALUE), self.t(COUNT), self.t(SHARE)])
        row = 4
        for value, count in summary.distribution.items():
            sheet.write_number(row, 0, value)
            sheet.write_number(row, 1, count)
            share = count / summary.answered if summary.answered else 0.0
            sheet.write_number(row, 2, share, self.percent)
            row += 1
        score = summary.nps.score if summary.nps is not None else None
        for label, number in ((MEAN, summary.mean), (MEDIAN, summary.median), (NPS, score)):
            if number is not None:
                text(sheet, row + 1, 0, self.t(label))
                sheet.write_number(row + 1, 1, number, self.decimal)
                row += 1

    def _maybe_number(
        self, sheet: Any, row: int, column: int, number: float | None, style: Any
    ) -> None:
        if number is not None:
            sheet.write_number(row, column, number, style)

    def _local(self, moment: datetime) -> datetime:
        if self.tz is not None and moment.tzinfo is not None:
            moment = moment.astimezone(self.tz)
        return moment.replace(tzinfo=None)


def text(sheet: Any, row: int, column: int, value: str, style: Any = None) -> None:
    """Always a string cell: "=HYPERLINK(...)" or "+1" from a respondent stays inert text. An
    empty value leaves the cell empty."""
    if value:
        sheet.write_string(row, column, value[:MAX_CELL_TEXT], style)


class SheetNames:
    """Excel sheet names: no ``[]:*?/\\``, no leading or trailing apostrophe, at most 31
    characters, unique ignoring case, never the reserved "History"."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def add(self, wanted: str) -> str:
        base = " ".join(_SHEET_FORBIDDEN.sub("_", wanted).split())  # no line breaks or tabs
        name = _trimmed(base, MAX_SHEET_NAME)
        number = 1
        while name.casefold() in self._taken or name.casefold() in _RESERVED_SHEET_NAMES:
            number += 1
            suffix = f" ({number})"
            name = _trimmed(base, MAX_SHEET_NAME - len(suffix)) + suffix
        self._taken.add(name.casefold())
        return name


def _trimmed(name: str, length: int) -> str:
    return name[:length].strip().strip("'").strip() or "Sheet"
