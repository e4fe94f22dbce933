"""One spreadsheet row → a checked record: full-width folded, trimmed, phones normalised, stage
and grade recognised in Chinese or English, dates as text or Excel serial numbers; every
problem is kept with its field, so the error file can say what to fix."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from crm.customer_service import TAG_MAX
from crm.customers import Grade, Stage
from crm.importing import fields as f
from crm.importing.reader import MAX_CELL
from crm.importing.records import SearchKeys
from crm.text import keys_and_document, normalize_phone
from crm.texts import Text

LIMITS = {
    f.CODE: 32,
    f.NAME: 100,
    f.CONTACT: 100,
    f.TITLE: 100,
    f.EMAIL: 200,
    f.NOTES: MAX_CELL,
    f.OWNER: 128,
    **dict.fromkeys(f.CHOICE_FIELDS, 64),
}
_STAGE_WORDS: dict[Stage, tuple[str, ...]] = {
    Stage.POTENTIAL: ("潜在", "潜在客户", "潜客", "线索", "新线索", "potential", "lead",
                      "prospect"),
    Stage.INTENT: ("意向", "意向客户", "有意向", "跟进中", "洽谈", "洽谈中", "intent", "interested",
                   "opportunity", "negotiating"),
    Stage.DEAL: ("成交", "已成交", "成交客户", "签约", "已签约", "合作中", "deal", "won",
                 "closed won", "customer", "signed"),
    Stage.LOST: ("流失", "已流失", "流失客户", "丢单", "lost", "churned", "closed lost"),
}  # fmt: skip
_STAGES = {word: stage for stage, words in _STAGE_WORDS.items() for word in words}
_GRADE = re.compile(r"^([abc])\s*(?:级|类|等|级客户|类客户)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE_SPLIT = re.compile(r"[,，;；/、\n]+")
_TAG_SPLIT = re.compile(r"[,，;；/、|｜\n]+")
MAX_TAGS = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u3000]+")
_PLAIN = re.compile(r"[\x00-\x1f\x7f\u3000]|  ")  # what ``clean`` has more to do for
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ t]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_EXCEL_EPOCH = date(1899, 12, 30)
_FORMULA = re.compile(r"^=[a-z_]+[a-z0-9_.]*\(", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    field: str  # a field name from ``crm.importing.fields`` ("" for the whole row)
    text: Text


class Record(NamedTuple):
    """A row's values, cleaned. Empty cells are None: an update leaves those fields alone.
    (A tuple, not a dataclass: 100,000 of them cross from the reader process, and a tuple
    crosses and is built several times faster.)"""

    number: int
    values: Mapping[str, str]  # text fields, cleaned, non-empty only
    phone: str | None = None
    stage: Stage | None = None
    grade: Grade | None = None
    dates: Mapping[str, datetime] = MappingProxyType({})
    problems: tuple[Problem, ...] = ()
    tags: tuple[str, ...] = ()
    # the file's distinct codes and phones are numbered as they first appear (``Repeats``):
    # the import tells a repeat by its number, without keeping every code and phone
    code_number: int = -1
    phone_number: int = -1
    search: SearchKeys | None = None  # a new customer's keys, when parsed for a commit

    def get(self, name: str) -> str | None:
        return self.values.get(name)


class Repeats:
    """Numbers the distinct codes and phones of one file, in the order they first appear."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.phones: dict[str, int] = {}


def with_search_keys(record: Record) -> Record:
    """The record with the search keys it will have as a new customer (a valid row with a
    name; an update's are made from what the customer has)."""
    if record.problems or f.NAME not in record.values:
        return record
    return record._replace(search=search_keys(record))


def search_keys(record: Record) -> SearchKeys:
    """A named row's keys as a new customer (``crm.text.keys_and_document``)."""
    return SearchKeys._make(new_customer_keys(record.values, record.phone, record.tags))


def new_customer_keys(
    values: Mapping[str, str], phone: str | None, tags: Sequence[str]
) -> tuple[str, str, str, str]:
    """``search_keys`` of a row given by its parts, as a plain tuple."""
    contact = values.get(f.CONTACT)
    keys, document = keys_and_document(values[f.NAME], [(contact, phone)] if contact else [], tags)
    return (*keys, document)


def clean(text: str, *, keep_lines: bool = False) -> str:
    """Full-width letters, digits and spaces folded (ＡＢＣ１２３ → ABC123), control characters
    dropped, runs of spaces collapsed, trimmed."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if _PLAIN.search(text) is None:
        return text.strip()
    text = _CONTROL.sub("" if keep_lines else " ", text)
    if keep_lines:
        return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()
    return _SPACES.sub(" ", text.replace("\n", " ").replace("\r", " ")).strip()


def parse_row(
    number: int,
    cells: Sequence[str],
    mapping: Sequence[str | None],
    zone: ZoneInfo,
    repeats: Repeats | None = None,
) -> Record:
    return row_parser(tuple(mapping), zone)(number, cells, repeats or Repeats())


_Cell = tuple[bool, Any, tuple[Problem, ...]] | None
# where a column's value goes
_IN_VALUES, _IN_PHONE, _IN_STAGE, _IN_GRADE, _IN_DATES, _IN_TAGS = range(6)
_SLOTS = {f.PHONE: _IN_PHONE, f.STAGE: _IN_STAGE, f.GRADE: _IN_GRADE, f.TAGS: _IN_TAGS}
_UNIQUE = frozenset({f.NAME, f.PHONE, f.CODE, f.EMAIL})  # (nearly) a new value in every row


@lru_cache(maxsize=64)
def row_parser(
    mapping: tuple[str | None, ...], zone: ZoneInfo
) -> Callable[[int, Sequence[str], Repeats], Record]:
    """``parse_row`` for one mapping: what each mapped column does is worked out once."""
    columns = [
        (
            index,
            target,
            _cell if target in _UNIQUE else _repeated_cell,
            _IN_DATES if target in f.DATE_FIELDS else _SLOTS.get(target, _IN_VALUES),
        )
        for index, target in enumerate(mapping)
        if target is not None
    ]

    def parse(number: int, cells: Sequence[str], repeats: Repeats) -> Record:
        values: dict[str, str] = {}
        problems: list[Problem] = []
        found: list[Any] = [values, None, None, None, {}, ()]
        count = len(cells)
        for index, target, read, slot in columns:
            if index >= count:
                break
            raw = cells[index]
            if not raw:
                continue
            cell = read(target, raw, zone)
            if cell is None:
                continue
            assign, value, wrong = cell
            if wrong:
                problems.extend(wrong)
            if not assign:
                continue
            if slot == _IN_VALUES:
                values[target] = value
            elif slot == _IN_DATES:
                found[_IN_DATES][target] = value
            else:
                found[slot] = value
        phone, stage, grade, dates, tags = found[1:]
        code = values.get(f.CODE)
        codes, phones = repeats.codes, repeats.phones
        return Record(
            number,
            values,
            phone,
            stage,
            grade,
            dates,
            tuple(problems),
            tags,
            -1 if code is None else codes.setdefault(code, len(codes)),
            -1 if phone is None else phones.setdefault(phone, len(phones)),
        )

    return parse


def _cell(target: str, raw: str, zone: ZoneInfo) -> _Cell:
    """One non-empty cell of column ``target``: None to skip it, else whether it sets the
    field, the value, and its problems. Depends on its arguments only (cached for the columns
    whose values repeat: stages, grades, dates, choices)."""
    if len(raw) > MAX_CELL:
        return (
            False,
            None,
            (Problem(target, Text("import.reason.cell_too_long", {"limit": MAX_CELL})),),
        )
    if _FORMULA.match(raw):
        return False, None, (Problem(target, Text("import.reason.formula")),)
    text = clean(raw, keep_lines=target == f.NOTES)
    if not text:
        return None
    if target == f.PHONE:
        phone, problem = _phone(text)
        return True, phone, tuple(problem)
    if target == f.STAGE:
        stage = parse_stage(text)
        if stage is None:
            return True, None, (Problem(target, Text("import.reason.stage", {"value": text[:40]})),)
        return True, stage, ()
    if target == f.GRADE:
        grade = parse_grade(text)
        if grade is None:
            return True, None, (Problem(target, Text("import.reason.grade", {"value": text[:40]})),)
        return True, grade, ()
    if target == f.TAGS:
        return _tags(text)
    if target in f.DATE_FIELDS:
        day = parse_date(text)
        if day is None:
            return False, None, (Problem(target, Text("import.reason.date", {"value": text[:40]})),)
        return True, datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC), ()
    if target == f.CODE:
        text = text.replace(" ", "").upper()
    elif target == f.EMAIL:
        text = text.casefold()
        if not _EMAIL.match(text):
            return (
                False,
                None,
                (Problem(target, Text("import.reason.email", {"value": text[:60]})),),
            )
    limit = LIMITS.get(target, 64)
    if len(text) > limit:
        return False, None, (Problem(target, Text("import.reason.too_long", {"limit": limit})),)
    return True, text, ()


_repeated_cell = lru_cache(maxsize=32_768)(_cell)


def _tags(text: str) -> _Cell:
    """ "重点客户、华东，#VIP" → the tags 重点客户, 华东, VIP (a leading # dropped, each once)."""
    tags = tuple(
        dict.fromkeys(
            tag for part in _TAG_SPLIT.split(text) if (tag := part.strip().lstrip("#＃ "))
        )
    )
    too_long = next((tag for tag in tags if len(tag) > TAG_MAX), None)
    if too_long is not None:
        reason = Text("import.reason.tag_too_long", {"value": too_long[:40], "limit": TAG_MAX})
        return False, None, (Problem(f.TAGS, reason),)
    if len(tags) > MAX_TAGS:
        reason = Text("import.reason.too_many_tags", {"limit": MAX_TAGS})
        return False, None, (Problem(f.TAGS, reason),)
    return True, tags, ()


def _phone(text: str) -> tuple[str | None, list[Problem]]:
    if "*" in text or "×" in text:
        return None, [Problem(f.PHONE, Text("import.reason.phone_masked", {"value": text[:40]}))]
    normalized = normalize_phone(text)
    if normalized is None:  # several numbers in one cell: the first one that is a number
        for part in _PHONE_SPLIT.split(text):
            normalized = normalize_phone(part) if part.strip() else None
            if normalized is not None:
                break
    if normalized is None:
        return None, [Problem(f.PHONE, Text("import.reason.phone", {"value": text[:40]}))]
    return normalized, []


def parse_stage(text: str) -> Stage | None:
    key = clean(text).casefold()
    try:
        return Stage(key)
    except ValueError:
        return _STAGES.get(key)


def parse_grade(text: str) -> Grade | None:
    found = _GRADE.match(clean(text).casefold())
    return Grade(found.group(1).upper()) if found else None


def parse_date(text: str) -> date | None:
    """2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301, or an Excel serial number."""
    text = clean(text).casefold()
    if text.isdigit() and len(text) == 8 and text[:2] in ("19", "20"):
        return _date(int(text[:4]), int(text[4:6]), int(text[6:]))
    try:
        serial = float(text)
    except ValueError:
        serial = None
    if serial is not None:
        if 1 <= serial < 2958466:  # Excel's days since 1899-12-30 (the 1900 date system)
            return _EXCEL_EPOCH + timedelta(days=int(serial))
        return None
    found = _DATE.match(text)
    if found is None:
        return None
    return _date(int(found.group(1)), int(found.group(2)), int(found.group(3)))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
