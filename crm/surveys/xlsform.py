"""XLSForm workbook bytes → ``Form``: the authoring subset described in ``docs/xlsform.md``.
Every problem found is reported (sheet, row as Excel shows it, column header, and a text that
says what works), not just the first one."""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from io import BytesIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from crm.errors import InvalidInput
from crm.surveys import expressions
from crm.surveys.expressions import ExpressionError
from crm.surveys.form import (
    KANO_ANSWERS,
    Choice,
    Form,
    FormSettings,
    Kano,
    KanoSide,
    Question,
    QuestionType,
    Quota,
    RangeSpec,
)
from crm.texts import Text

MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_SURVEY_ROWS = 2_000
MAX_OTHER_ROWS = 10_000
MAX_SCANNED_ROWS = 50_000  # blank rows included: a sheet formatted down to row 1,048,576
MAX_COLUMNS = 200
MAX_CELL = 2_000
MAX_PROBLEMS = 20
MAX_RANGE_VALUES = 21
SUPPORTED_TYPES = (
    "select_one <list>",
    "select_multiple <list>",
    "integer",
    "decimal",
    "text",
    "range",
    "note",
    "begin group",
    "end group",
)
CUSTOMER_FIELDS = ("industry", "size", "stage", "grade", "region", "source")
SURVEY, CHOICES, SETTINGS, QUOTAS = "survey", "choices", "settings", "quotas"
_SHEET_ORDER = {"": 0, SURVEY: 1, CHOICES: 2, SETTINGS: 3, QUOTAS: 4}
_SIMPLE_TYPES = {
    "integer": QuestionType.INTEGER,
    "decimal": QuestionType.DECIMAL,
    "text": QuestionType.TEXT,
    "range": QuestionType.RANGE,
    "note": QuestionType.NOTE,
}
_NAME = re.compile(r"[^\W\d][\w\-.]*")
_TRUE = frozenset({"yes", "true", "1", "y"})
_FALSE = frozenset({"no", "false", "0", "n", ""})
_RANGE_PARAMETERS = ("start", "end", "step")
_SELECT_PARAMETERS = ("randomize",)
_CHOICE_KNOWN_COLUMNS = frozenset({"list_name", "name", "label", "x_tag", "image", "media"})
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


@dataclass(frozen=True)
class WorkbookProblem:
    sheet: str  # "" for the file itself
    row: int | None  # row number as Excel shows it
    column: str | None  # the column's header
    text: Text

    def message(self) -> Text:
        """The problem with where it is, e.g. "survey sheet, row 4, column relevant: ..."."""
        if not self.sheet:
            return Text("form.problem.file", {"text": self.text})
        where: dict[str, str | int | float | Text] = {"sheet": self.sheet, "text": self.text}
        if self.row is not None and self.column is not None:
            return Text("form.problem.cell", {**where, "row": self.row, "column": self.column})
        if self.row is not None:
            return Text("form.problem.row", {**where, "row": self.row})
        if self.column is not None:
            return Text("form.problem.column", {**where, "column": self.column})
        return Text("form.problem.sheet", where)


class WorkbookInvalid(InvalidInput):
    """The workbook cannot become a form; ``problems`` lists everything found (at most 20)."""

    def __init__(self, problems: tuple[WorkbookProblem, ...]) -> None:
        summary = Text("form.error.invalid", {"count": len(problems)})
        super().__init__(summary.key, **summary.vars)
        self.problems = problems


def parse_workbook(data: bytes) -> Form:
    """The form a workbook describes; raises ``WorkbookInvalid`` listing every problem."""
    problems = _Problems()
    sheets = _read_workbook(data, problems)
    form = _FormReader(sheets, problems).read() if sheets is not None else None
    if problems.found or form is None:
        raise WorkbookInvalid(problems.sorted())
    return form


# --- collecting problems ----------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self._items: list[WorkbookProblem] = []

    @property
    def found(self) -> bool:
        return bool(self._items)

    def add(self, sheet: str, row: int | None, column: str | None, text: Text) -> None:
        if len(self._items) < MAX_PROBLEMS * 10:
            self._items.append(WorkbookProblem(sheet, row, column, text))

    def sorted(self) -> tuple[WorkbookProblem, ...]:
        ordered = sorted(
            self._items,
            key=lambda item: (_SHEET_ORDER.get(item.sheet, 9), item.row or MAX_SCANNED_ROWS),
        )
        return tuple(ordered[:MAX_PROBLEMS])


# --- reading cells ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    number: int
    cells: Mapping[str, str]  # normalized header → trimmed text

    def get(self, key: str) -> str:
        return self.cells.get(key, "")

    def labels(self, family: str) -> dict[str, str]:
        """``label``, ``label::zh``, ``label::English (en)``... as ``{"": .., "zh": .., ...}``."""
        found: dict[str, str] = {}
        for key, text in self.cells.items():
            base, _, language = key.partition("::")
            if base == family and text:
                found[language] = text
        return found


@dataclass(frozen=True)
class _Sheet:
    name: str
    headers: Mapping[str, str]  # normalized → as written
    rows: tuple[_Row, ...]

    def column(self, key: str) -> str:
        return self.headers.get(key, key)


def _header_key(raw: str) -> str:
    base, separator, language = raw.partition("::")
    key = re.sub(r"\s+", "_", base.strip().lower())
    return f"{key}::{language_code(language)}" if separator else key


def language_code(text: str) -> str:
    """``zh``, ``Chinese (zh)``, ``中文``, ``zh-CN`` → ``zh``; likewise for English."""
    text = text.strip()
    inside = re.search(r"\(([^()]+)\)\s*$", text)
    code = (inside.group(1) if inside else text).strip().lower()
    if code.startswith("zh") or code in ("chinese", "中文", "汉语", "简体中文"):
        return "zh"
    if code.startswith("en") or code in ("english", "英文", "英语"):
        return "en"
    return code


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return expressions.format_number(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _read_workbook(data: bytes, problems: _Problems) -> dict[str, _Sheet] | None:
    if not _looks_like_xlsx(data, problems):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError):
        problems.add("", None, None, Text("form.error.not_xlsx"))
        return None
    try:
        return {
            title.strip().lower(): _read_sheet(title, book[title].iter_rows, problems)
            for title in book.sheetnames
            if title.strip().lower() in _SHEET_ORDER
        }
    finally:
        book.close()


def _looks_like_xlsx(data: bytes, problems: _Problems) -> bool:
    if len(data) > MAX_BYTES:
        limit = Text("form.error.too_large", {"limit_mb": MAX_BYTES // (1024 * 1024)})
        problems.add("", None, None, limit)
        return False
    if data.startswith(_OLE_SIGNATURE):
        if _ENCRYPTION_STREAM in data:
            problems.add("", None, None, Text("form.error.encrypted"))
        else:
            problems.add("", None, None, Text("form.error.legacy_xls"))
        return False
    if not data.startswith(b"PK"):
        problems.add("", None, None, Text("form.error.not_xlsx"))
        return False
    if _unpacked_size(data) > MAX_UNPACKED_BYTES:  # a zip bomb dressed as a workbook
        limit = Text("form.error.too_large", {"limit_mb": MAX_BYTES // (1024 * 1024)})
        problems.add("", None, None, limit)
        return False
    return True


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0  # load_workbook reports it as not a workbook


_RowReader = Callable[..., Iterator[tuple[object, ...]]]


def _read_sheet(title: str, iter_rows: _RowReader, problems: _Problems) -> _Sheet:
    name = title.strip().lower()
    limit = MAX_SURVEY_ROWS if name == SURVEY else MAX_OTHER_ROWS
    raw_rows: Iterator[tuple[object, ...]] = iter_rows(max_col=MAX_COLUMNS, values_only=True)
    header_cells = [_cell_text(value) for value in next(raw_rows, ())]
    headers = {_header_key(text): text for text in header_cells if text}
    keys = [_header_key(text) if text else "" for text in header_cells]
    rows: list[_Row] = []
    for number, values in enumerate(raw_rows, start=2):
        cells = _row_cells(name, number, keys, header_cells, values, problems)
        if not any(cells.values()):
            if number > MAX_SCANNED_ROWS:
                break
            continue
        if len(rows) == limit:
            problems.add(name, number, None, Text("form.error.too_many_rows", {"limit": limit}))
            break
        rows.append(_Row(number, cells))
    return _Sheet(name, headers, tuple(rows))


def _row_cells(
    sheet: str,
    number: int,
    keys: list[str],
    headers: list[str],
    values: Iterable[object],
    problems: _Problems,
) -> dict[str, str]:
    cells: dict[str, str] = {}
    for key, header, value in zip(keys, headers, values, strict=False):
        text = _cell_text(value)
        if not key or not text:
            continue
        if len(text) > MAX_CELL:
            too_long = Text("form.error.cell_too_long", {"limit": MAX_CELL, "length": len(text)})
            problems.add(sheet, number, header, too_long)
            text = text[:MAX_CELL]
        cells.setdefault(key, text)
    return cells


# --- the form ---------------------------------------------------------------------------------


@dataclass
class _ChoiceList:
    name: str
    choices: list[Choice] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # choice name → row


@dataclass(frozen=True)
class _Source:
    """An expression as written in one cell, checked once every name is known."""

    row: int
    column: str  # normalized header
    text: str
    owner: str  # the question or group the cell belongs to
    ordered: bool  # may only use earlier answers (relevant, choice_filter)


@dataclass
class _Group:
    name: str
    row: int
    relevant: str | None


class _FormReader:
    def __init__(self, sheets: Mapping[str, _Sheet], problems: _Problems) -> None:
        self._sheets = sheets
        self._problems = problems
        self._lists: dict[str, _ChoiceList] = {}
        self._choice_columns: frozenset[str] = frozenset()
        self._questions: list[Question] = []
        self._names: dict[str, int] = {}  # every named row (questions and groups) → row
        self._groups: list[_Group] = []
        self._memberships: dict[str, tuple[str, ...]] = {}  # question/group → enclosing groups
        self._sources: list[_Source] = []
        self._answerable_rows = 0

    def _add(self, sheet: str, row: int | None, column: str | None, text: Text) -> None:
        self._problems.add(sheet, row, column, text)

    def read(self) -> Form | None:
        survey = self._sheets.get(SURVEY)
        if survey is None:
            found = ", ".join(self._sheets) or "—"
            self._add("", None, None, Text("form.error.no_survey_sheet", {"sheets": found}))
            return None
        self._read_choices(self._sheets.get(CHOICES))
        settings = _SettingsReader(self._sheets.get(SETTINGS), self._add).read()
        if not self._has_headers(survey, ("type", "name")):
            return None
        self._read_survey(survey)
        self._check_sources(survey)
        self._check_kano(survey)
        quotas = self._read_quotas(self._sheets.get(QUOTAS))
        if self._answerable_rows == 0:
            self._add(SURVEY, None, None, Text("form.error.no_questions"))
        return Form(settings, tuple(self._questions), quotas)

    def _has_headers(self, sheet: _Sheet, wanted: tuple[str, ...]) -> bool:
        missing = [header for header in wanted if header not in sheet.headers]
        for header in missing:
            self._add(sheet.name, 1, header, Text("form.error.missing_header", {"header": header}))
        return not missing

    # choices ----------------------------------------------------------------------------------

    def _read_choices(self, sheet: _Sheet | None) -> None:
        if sheet is None or not self._has_headers(sheet, ("list_name", "name")):
            return
        self._choice_columns = frozenset(
            key for key in sheet.headers if key.partition("::")[0] not in _CHOICE_KNOWN_COLUMNS
        )
        for row in sheet.rows:
            self._read_choice(sheet, row)

    def _read_choice(self, sheet: _Sheet, row: _Row) -> None:
        list_name, name = row.get("list_name"), row.get("name")
        if not list_name:
            missing = Text("form.error.choice_missing_list", {"name": name or "—"})
            self._add(CHOICES, row.number, sheet.column("list_name"), missing)
            return
        choice_list = self._lists.setdefault(list_name, _ChoiceList(list_name))
        if not name:
            missing = Text("form.error.choice_missing_name", {"list": list_name})
            self._add(CHOICES, row.number, sheet.column("name"), missing)
        elif re.search(r"\s", name):
            spaced = Text("form.error.choice_name_space", {"name": name})
            self._add(CHOICES, row.number, sheet.column("name"), spaced)
        elif name in choice_list.rows:
            duplicate = Text(
                "form.error.duplicate_choice",
                {"list": list_name, "name": name, "first_row": choice_list.rows[name]},
            )
            self._add(CHOICES, row.number, sheet.column("name"), duplicate)
        else:
            choice_list.rows[name] = row.number
            choice_list.choices.append(self._choice(row, name))

    def _choice(self, row: _Row, name: str) -> Choice:
        columns = {key: row.get(key) for key in self._choice_columns if row.get(key)}
        return Choice(name, row.labels("label"), row.get("x_tag") or None, columns)

    # survey -----------------------------------------------------------------------------------

    def _read_survey(self, sheet: _Sheet) -> None:
        for row in sheet.rows:
            self._read_survey_row(sheet, row)
        for group in self._groups:
            unclosed = Text("form.error.group_not_closed", {"name": group.name})
            self._add(SURVEY, group.row, sheet.column("type"), unclosed)

    def _read_survey_row(self, sheet: _Sheet, row: _Row) -> None:
        written = row.get("type")
        if not written:
            self._add(SURVEY, row.number, sheet.column("type"), Text("form.error.missing_type"))
            return
        parts = written.split()
        head = parts[0].lower()
        lowered = " ".join(parts).lower()
        if lowered in ("begin group", "begin_group"):
            self._begin_group(sheet, row)
            return
        if lowered in ("end group", "end_group"):
            self._end_group(sheet, row)
            return
        if head in ("select_one", "select_multiple") and len(parts) <= 2:
            self._read_question(sheet, row, QuestionType(head), parts[1] if len(parts) == 2 else "")
        elif head in _SIMPLE_TYPES and len(parts) == 1:
            self._read_question(sheet, row, _SIMPLE_TYPES[head], "")
        else:
            self._answerable_rows += 1  # meant as a question: "no questions" would be noise
            self._claim_name(sheet, row, required=False)
            unknown = Text(
                "form.error.unknown_type",
                {"type": written, "supported": ", ".join(SUPPORTED_TYPES)},
            )
            self._add(SURVEY, row.number, sheet.column("type"), unknown)

    def _claim_name(self, sheet: _Sheet, row: _Row, *, required: bool = True) -> str | None:
        """The row's name if it is usable (reports missing, invalid and duplicate names)."""
        name = row.get("name")
        column = sheet.column("name")
        if not name:
            if required:
                self._add(SURVEY, row.number, column, Text("form.error.missing_name"))
            return None
        if not _NAME.fullmatch(name):
            self._add(SURVEY, row.number, column, Text("form.error.invalid_name", {"name": name}))
            return None
        if name in self._names:
            duplicate = Text(
                "form.error.duplicate_name", {"name": name, "first_row": self._names[name]}
            )
            self._add(SURVEY, row.number, column, duplicate)
            return None
        self._names[name] = row.number
        return name

    def _begin_group(self, sheet: _Sheet, row: _Row) -> None:
        name = self._claim_name(sheet, row) or f"#{row.number}"
        relevant = self._expression(sheet, row, "relevant", owner=name, ordered=True)
        self._memberships[name] = tuple(group.name for group in self._groups)
        self._groups.append(_Group(name, row.number, relevant))

    def _end_group(self, sheet: _Sheet, row: _Row) -> None:
        if not self._groups:
            self._add(SURVEY, row.number, sheet.column("type"), Text("form.error.group_not_open"))
            return
        self._groups.pop()

    def _read_question(self, sheet: _Sheet, row: _Row, kind: QuestionType, list_name: str) -> None:
        name = self._claim_name(sheet, row)
        if kind is not QuestionType.NOTE:
            self._answerable_rows += 1
        labels = row.labels("label")
        if not labels:
            self._add(SURVEY, row.number, sheet.column("label"), Text("form.error.missing_label"))
        if name is None:
            return
        self._memberships[name] = tuple(group.name for group in self._groups)
        choices = self._choices_of(sheet, row, kind, list_name)
        parameters = self._parameters(sheet, row, kind)
        question = Question(
            name=name,
            type=kind,
            labels=labels,
            row=row.number,
            hints=row.labels("hint"),
            required=self._required(sheet, row),
            relevant=self._relevance(sheet, row, name),
            constraint=self._expression(sheet, row, "constraint", owner=name, ordered=False),
            constraint_messages=row.labels("constraint_message"),
            choices=choices,
            choice_filter=self._choice_filter(sheet, row, name, list_name),
            range=self._range(sheet, row, parameters) if kind is QuestionType.RANGE else None,
            randomize=_is_yes(parameters.get("randomize", "")),
            kano=self._kano(sheet, row),
            check=row.get("x_check") or None,
            contradiction=self._expression(
                sheet, row, "x_contradiction", owner=name, ordered=False
            ),
            tag=row.get("x_tag") or None,
            group=self._groups[-1].name if self._groups else None,
        )
        self._check_expected_answer(sheet, question)
        self._questions.append(question)

    def _required(self, sheet: _Sheet, row: _Row) -> bool:
        value = row.get("required")
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        bad = Text("form.error.bad_required", {"value": value})
        self._add(SURVEY, row.number, sheet.column("required"), bad)
        return False

    def _relevance(self, sheet: _Sheet, row: _Row, name: str) -> str | None:
        own = self._expression(sheet, row, "relevant", owner=name, ordered=True)
        parts = [group.relevant for group in self._groups if group.relevant] + (
            [own] if own else []
        )
        if len(parts) <= 1:
            return parts[0] if parts else None
        return " and ".join(f"({part})" for part in parts)

    def _expression(
        self, sheet: _Sheet, row: _Row, column: str, *, owner: str, ordered: bool
    ) -> str | None:
        """The cell's expression if it parses (reports syntax errors and bare names)."""
        source = row.get(column)
        if not source:
            return None
        try:
            bare = expressions.columns_used(source)
        except ExpressionError as error:
            self._add(SURVEY, row.number, sheet.column(column), _syntax_problem(source, error))
            return None
        if bare and column != "choice_filter":
            name = sorted(bare)[0]
            self._add(
                SURVEY,
                row.number,
                sheet.column(column),
                Text("form.error.bare_name", {"name": name}),
            )
            return None
        self._sources.append(_Source(row.number, column, source, owner, ordered))
        return source

    def _choices_of(
        self, sheet: _Sheet, row: _Row, kind: QuestionType, list_name: str
    ) -> tuple[Choice, ...]:
        if kind not in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
            return ()
        column = sheet.column("type")
        if not list_name:
            self._add(SURVEY, row.number, column, Text("form.error.missing_list", {"type": kind}))
            return ()
        choice_list = self._lists.get(list_name)
        if choice_list is None:
            known = ", ".join(self._lists) or "—"
            unknown = Text("form.error.unknown_list", {"list": list_name, "lists": known})
            self._add(SURVEY, row.number, column, unknown)
            return ()
        if not choice_list.choices:
            self._add(
                SURVEY, row.number, column, Text("form.error.empty_list", {"list": list_name})
            )
        return tuple(choice_list.choices)

    def _choice_filter(self, sheet: _Sheet, row: _Row, name: str, list_name: str) -> str | None:
        source = self._expression(sheet, row, "choice_filter", owner=name, ordered=True)
        if source is None:
            return None
        known = self._choice_columns | {"name"}
        for column in sorted(expressions.columns_used(source) - known):
            unknown = Text(
                "form.error.unknown_column",
                {"name": column, "list": list_name or "—", "columns": ", ".join(sorted(known))},
            )
            self._add(SURVEY, row.number, sheet.column("choice_filter"), unknown)
        return source

    def _parameters(self, sheet: _Sheet, row: _Row, kind: QuestionType) -> dict[str, str]:
        written = row.get("parameters")
        if not written:
            return {}
        column = sheet.column("parameters")
        allowed = _allowed_parameters(kind)
        parameters: dict[str, str] = {}
        for piece in re.split(r"[\s;,]+", re.sub(r"\s*=\s*", "=", written).strip()):
            key, equals, value = piece.partition("=")
            if not equals or not key or not value:
                bad = Text("form.error.bad_parameters", {"value": piece})
                self._add(SURVEY, row.number, column, bad)
            elif key.lower() not in allowed:
                unknown = Text(
                    "form.error.unknown_parameter",
                    {"name": key, "allowed": ", ".join(allowed) or "—"},
                )
                self._add(SURVEY, row.number, column, unknown)
            else:
                parameters[key.lower()] = value
        return parameters

    def _range(self, sheet: _Sheet, row: _Row, parameters: Mapping[str, str]) -> RangeSpec | None:
        column = sheet.column("parameters")
        numbers: dict[str, float] = {}
        for key, default in zip(_RANGE_PARAMETERS, (1.0, 10.0, 1.0), strict=True):
            value = expressions.to_number(parameters.get(key, str(default)))
            if math.isnan(value):
                bad = Text("form.error.range_not_number", {"name": key, "value": parameters[key]})
                self._add(SURVEY, row.number, column, bad)
                return None
            numbers[key] = value
        problem = _range_problem(numbers["start"], numbers["end"], numbers["step"])
        if problem is not None:
            self._add(SURVEY, row.number, column, problem)
            return None
        return RangeSpec(numbers["start"], numbers["end"], numbers["step"])

    def _kano(self, sheet: _Sheet, row: _Row) -> Kano | None:
        written = row.get("x_kano")
        if not written:
            return None
        side, _, feature = written.replace("：", ":").partition(":")
        side = side.strip().lower()
        if side not in (KanoSide.FUNCTIONAL, KanoSide.DYSFUNCTIONAL) or not feature.strip():
            bad = Text("form.error.kano_format", {"value": written})
            self._add(SURVEY, row.number, sheet.column("x_kano"), bad)
            return None
        return Kano(feature.strip(), KanoSide(side))

    def _check_expected_answer(self, sheet: _Sheet, question: Question) -> None:
        expected = question.check
        if expected is None:
            return
        column = sheet.column("x_check")
        if question.choices and question.choice(expected) is None:
            names = ", ".join(choice.name for choice in question.choices)
            bad = Text("form.error.check_not_a_choice", {"value": expected, "choices": names})
            self._add(SURVEY, question.row, column, bad)
        elif question.range is not None and not _in_range(expected, question.range):
            values = ", ".join(expressions.format_number(v) for v in question.range.values())
            bad = Text("form.error.check_not_a_choice", {"value": expected, "choices": values})
            self._add(SURVEY, question.row, column, bad)
        elif question.type in (QuestionType.INTEGER, QuestionType.DECIMAL) and math.isnan(
            expressions.to_number(expected)
        ):
            bad = Text("form.error.check_not_a_number", {"value": expected})
            self._add(SURVEY, question.row, column, bad)

    # checks across rows -----------------------------------------------------------------------

    def _check_sources(self, sheet: _Sheet) -> None:
        cycles_seen: set[frozenset[str]] = set()
        graph = self._relevance_graph()
        for source in self._sources:
            for name in sorted(expressions.references(source.text)):
                self._check_reference(sheet, source, name, graph, cycles_seen)

    def _check_reference(
        self,
        sheet: _Sheet,
        source: _Source,
        name: str,
        graph: Mapping[str, set[str]],
        cycles_seen: set[frozenset[str]],
    ) -> None:
        column = sheet.column(source.column)
        if name not in self._names:
            unknown = Text("form.error.unknown_reference", {"name": name})
            self._add(SURVEY, source.row, column, unknown)
            return
        if not source.ordered:
            return
        if name == source.owner:
            self._add(SURVEY, source.row, column, Text("form.error.self_reference", {"name": name}))
            return
        if self._names[name] < source.row:
            return
        cycle = _path(graph, name, source.owner) if source.column == "relevant" else None
        if cycle is None:
            later = Text("form.error.forward_reference", {"name": name})
            self._add(SURVEY, source.row, column, later)
        elif frozenset(cycle) not in cycles_seen:
            cycles_seen.add(frozenset(cycle))
            text = " → ".join([source.owner, *cycle])
            self._add(
                SURVEY, source.row, column, Text("form.error.relevance_cycle", {"cycle": text})
            )

    def _relevance_graph(self) -> dict[str, set[str]]:
        """Who depends on whom for being shown: own relevance, and the enclosing groups'."""
        graph: dict[str, set[str]] = {
            name: set(groups) for name, groups in self._memberships.items()
        }
        for source in self._sources:
            if source.column == "relevant":
                graph.setdefault(source.owner, set()).update(expressions.references(source.text))
        return graph

    def _check_kano(self, sheet: _Sheet) -> None:
        features: dict[str, dict[KanoSide, Question]] = {}
        column = sheet.column("x_kano")
        for question in self._questions:
            if question.kano is None:
                continue
            sides = features.setdefault(question.kano.feature, {})
            side = question.kano.side
            if side in sides:
                duplicate = Text(
                    "form.error.kano_duplicate",
                    {"feature": question.kano.feature, "side": side, "first_row": sides[side].row},
                )
                self._add(SURVEY, question.row, column, duplicate)
                continue
            sides[side] = question
            self._check_kano_question(column, question)
        for feature, sides in features.items():
            for side in KanoSide:
                if side not in sides:
                    present = next(iter(sides.values()))
                    unpaired = Text("form.error.kano_unpaired", {"feature": feature, "side": side})
                    self._add(SURVEY, present.row, column, unpaired)

    def _check_kano_question(self, column: str, question: Question) -> None:
        names = tuple(choice.name for choice in question.choices)
        if question.type is QuestionType.SELECT_ONE and sorted(names) == sorted(KANO_ANSWERS):
            return
        bad = Text("form.error.kano_question", {"answers": ", ".join(KANO_ANSWERS)})
        self._add(SURVEY, question.row, column, bad)

    # quotas -----------------------------------------------------------------------------------

    def _read_quotas(self, sheet: _Sheet | None) -> tuple[Quota, ...]:
        if sheet is None or not self._has_headers(sheet, ("field", "value", "limit")):
            return ()
        quotas = (self._quota(sheet, row) for row in sheet.rows)
        return tuple(quota for quota in quotas if quota is not None)

    def _quota(self, sheet: _Sheet, row: _Row) -> Quota | None:
        quota_field, value, limit = row.get("field"), row.get("value"), row.get("limit")
        usable = self._quota_field_ok(sheet, row, quota_field)
        if not value:
            self._add(QUOTAS, row.number, sheet.column("value"), Text("form.error.quota_value"))
            usable = False
        elif usable and quota_field.startswith("${"):
            usable = self._quota_value_ok(sheet, row, quota_field[2:-1], value)
        if not re.fullmatch(r"\d+", limit) or int(limit) == 0:
            bad = Text("form.error.quota_limit", {"value": limit or "—"})
            self._add(QUOTAS, row.number, sheet.column("limit"), bad)
            usable = False
        return Quota(quota_field, value, int(limit)) if usable else None

    def _quota_field_ok(self, sheet: _Sheet, row: _Row, quota_field: str) -> bool:
        if quota_field in CUSTOMER_FIELDS:
            return True
        match = re.fullmatch(r"\$\{(.+)\}", quota_field)
        question = self._question(match.group(1)) if match else None
        if question is not None and question.type is QuestionType.SELECT_ONE:
            return True
        bad = Text(
            "form.error.quota_field",
            {"field": quota_field or "—", "fields": ", ".join(CUSTOMER_FIELDS)},
        )
        self._add(QUOTAS, row.number, sheet.column("field"), bad)
        return False

    def _quota_value_ok(self, sheet: _Sheet, row: _Row, name: str, value: str) -> bool:
        question = self._question(name)
        if question is None or question.choice(value) is not None:
            return True
        names = ", ".join(choice.name for choice in question.choices)
        bad = Text("form.error.quota_choice", {"value": value, "question": name, "choices": names})
        self._add(QUOTAS, row.number, sheet.column("value"), bad)
        return False

    def _question(self, name: str) -> Question | None:
        return next((question for question in self._questions if question.name == name), None)


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Whole:
    key: str
    minimum: int
    example: int


_WHOLE_SETTINGS = (
    _Whole("x_minutes", 1, 5),
    _Whole("x_target", 0, 300),
    _Whole("x_min_seconds", 0, 120),
    _Whole("x_retention_days", 1, 365),
)


_AddProblem = Callable[[str, int | None, str | None, Text], None]


class _SettingsReader:
    def __init__(self, sheet: _Sheet | None, add: _AddProblem) -> None:
        self._sheet = sheet
        self._row = sheet.rows[0] if sheet is not None and sheet.rows else _Row(2, {})
        self._add = add

    def read(self) -> FormSettings:
        title = self._row.labels("form_title")
        form_id = self._row.get("form_id")
        if not title and not form_id:
            self._add(SETTINGS, None, self._column("form_title"), Text("form.error.missing_title"))
        numbers = {whole.key: self._whole(whole) for whole in _WHOLE_SETTINGS}
        language = language_code(self._row.get("default_language") or "zh")
        return FormSettings(
            form_id=form_id or _first_label(title) or "form",
            title=title,
            version=self._row.get("version") or "1",
            consent=self._row.labels("x_consent"),
            minutes=numbers["x_minutes"] or 5,
            target=numbers["x_target"] or 0,
            speeder_ratio=self._ratio(),
            min_seconds=numbers["x_min_seconds"] or 0,
            retention_days=numbers["x_retention_days"] or 365,
            default_language=language if language in ("zh", "en") else "zh",
        )

    def _column(self, key: str) -> str:
        return self._sheet.column(key) if self._sheet is not None else key

    def _whole(self, whole: _Whole) -> int | None:
        value = self._row.get(whole.key)
        if not value:
            return None
        if re.fullmatch(r"\d+", value) and int(value) >= whole.minimum:
            return int(value)
        bad = Text(
            "form.error.setting_whole_number",
            {
                "setting": whole.key,
                "value": value,
                "minimum": whole.minimum,
                "example": whole.example,
            },
        )
        self._add(SETTINGS, self._row.number, self._column(whole.key), bad)
        return None

    def _ratio(self) -> float:
        value = self._row.get("x_speeder_ratio")
        default = 1 / 3
        if not value:
            return default
        ratio = expressions.to_number(value)
        if 0 < ratio < 1:
            return ratio
        bad = Text("form.error.setting_ratio", {"value": value})
        self._add(SETTINGS, self._row.number, self._column("x_speeder_ratio"), bad)
        return default


# --- small helpers ----------------------------------------------------------------------------


def _first_label(labels: Mapping[str, str]) -> str:
    """Without a ``form_id`` the title identifies the form (versions share it)."""
    return next((labels[key] for key in ("zh", "", "en") if labels.get(key)), "")


def _is_yes(value: str) -> bool:
    return value.strip().lower() in _TRUE


def _allowed_parameters(kind: QuestionType) -> tuple[str, ...]:
    if kind is QuestionType.RANGE:
        return _RANGE_PARAMETERS
    if kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        return _SELECT_PARAMETERS
    return ()


def _range_problem(start: float, end: float, step: float) -> Text | None:
    shown = {
        "start": expressions.format_number(start),
        "end": expressions.format_number(end),
        "step": expressions.format_number(step),
    }
    if step <= 0:
        return Text("form.error.range_step", shown)
    if end <= start:
        return Text("form.error.range_order", shown)
    steps = (end - start) / step
    if abs(steps - round(steps)) > 1e-9:
        return Text("form.error.range_uneven", shown)
    if round(steps) + 1 > MAX_RANGE_VALUES:
        count = {"count": round(steps) + 1, "limit": MAX_RANGE_VALUES}
        return Text("form.error.range_too_many", {**shown, **count})
    return None


def _in_range(value: str, spec: RangeSpec) -> bool:
    number = expressions.to_number(value)
    return any(abs(number - allowed) < 1e-9 for allowed in spec.values())


def _syntax_problem(source: str, error: ExpressionError) -> Text:
    return Text(
        "form.error.expression",
        {"expression": source[:200], "position": error.position + 1, "detail": error.message},
    )


def _path(graph: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The names on a dependency path from ``start`` to ``goal`` (both included), if any."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        if name == goal:
            path: list[str] = []
            step: str | None = name
            while step is not None:
                path.append(step)
                step = previous[step]
            return path[::-1]
        for following in sorted(graph.get(name, ())):
            if following not in previous:
                previous[following] = name
                queue.append(following)
    return None
