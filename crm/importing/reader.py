"""File bytes → a table of text cells: .xlsx (python-calamine, after the safety checks) or .csv
(UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030). The header row is found among the first rows
(a title row above it, merged over several columns, is skipped); blank rows are dropped. Every
refusal names what works instead."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from crm.errors import InvalidInput
from crm.importing.fields import score

MAX_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram
MAX_UNPACKED_BYTES = 300 * 1024 * 1024  # 100,000 rows × 10 columns unpack to about 60 MB
MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL = 2_000
MAX_HEADER = 64
HEADER_SEARCH_ROWS = 20
MIN_HEADER_SCORE = 2
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")


class ImportFileInvalid(InvalidInput):
    """The file cannot be read as a customer table (wrong type, encrypted, no header, ...)."""


class RawRow(NamedTuple):  # a tuple: 100,000 of them cross from the reader process
    number: int  # as the spreadsheet shows it (1-based, header included)
    cells: tuple[str, ...]  # trimmed text; a cell longer than MAX_CELL is cut to MAX_CELL + 1


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    header_row: int
    source: Callable[[], Iterator[RawRow]] = field(repr=False)

    def rows(self) -> Iterator[RawRow]:
        """The rows under the header, read lazily; may be called again (no second parse)."""
        return (row for row in self.source() if row.number > self.header_row)


def read_table(data: bytes, file_name: str) -> Table:
    """The table in the file; raises ``ImportFileInvalid`` saying what works instead."""
    if len(data) > MAX_BYTES:
        raise ImportFileInvalid("import.error_too_big", limit_mb=MAX_BYTES // (1024 * 1024))
    if not data.strip():
        raise ImportFileInvalid("import.error_empty")
    if data.startswith(_OLE_SIGNATURE):
        if _ENCRYPTION_STREAM in data:
            raise ImportFileInvalid("import.error_encrypted")
        raise ImportFileInvalid("import.error_legacy_xls")
    if data.startswith(b"PK"):
        return _find_header(_xlsx_rows(data))
    if not file_name.lower().endswith(_TABLE_SUFFIXES):
        raise ImportFileInvalid("import.error_file_type", name=file_name[-60:])
    return _find_header(_csv_rows(data))


# --- .xlsx ------------------------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> Callable[[], Iterator[RawRow]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileInvalid("import.error_file_type", name="zip") from None
    if "xl/workbook.xml" not in names:
        raise ImportFileInvalid("import.error_file_type", name="zip")
    if unpacked > MAX_UNPACKED_BYTES:  # a zip bomb dressed as a workbook
        limit = MAX_UNPACKED_BYTES // (1024 * 1024)
        raise ImportFileInvalid("import.error_unpacked", limit_mb=limit)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = None
        for index, meta in enumerate(book.sheets_metadata):
            if "WorkSheet" in str(meta.typ) and "Visible" in str(meta.visible):
                candidate = book.get_sheet_by_index(index)
                if candidate.height > 0:
                    sheet = candidate
                    break
    except (CalamineError, ValueError, OSError, TypeError, IndexError):
        raise ImportFileInvalid("import.error_file_type", name="xlsx") from None
    if sheet is None:
        raise ImportFileInvalid("import.error_no_header")
    merged = _merged_top_left(sheet.merged_cell_ranges or [])
    first_row = sheet.start[0] if sheet.start else 0
    first_column = sheet.start[1] if sheet.start else 0
    return lambda: _calamine_rows(sheet.iter_rows(), first_row, first_column, merged)


def _merged_top_left(ranges: Sequence[Any]) -> dict[tuple[int, int], tuple[int, int]]:
    """Cells of merged ranges in the first rows → the range's top-left cell (which holds the
    value); only what header detection looks at, so that a huge merge costs nothing."""
    cells: dict[tuple[int, int], tuple[int, int]] = {}
    for (top, left), (bottom, right) in ranges:
        if top >= HEADER_SEARCH_ROWS:
            continue
        for row in range(top, min(bottom, HEADER_SEARCH_ROWS) + 1):
            for column in range(left, min(right, MAX_COLUMNS) + 1):
                if (row, column) != (top, left):
                    cells[(row, column)] = (top, left)
    return cells


def _calamine_rows(
    rows: Iterator[list[Any]],
    first_row: int,
    first_column: int,
    merged: dict[tuple[int, int], tuple[int, int]],
) -> Iterator[RawRow]:
    seen: dict[tuple[int, int], str] = {}
    for index, values in enumerate(rows):
        row = first_row + index
        cells = [
            value.strip()[:_KEPT] if value.__class__ is str else cell_text(value)
            for value in values[: MAX_COLUMNS - first_column]
        ]  # text cells (most) without the call
        if first_column:
            cells = [""] * first_column + cells
        if row < HEADER_SEARCH_ROWS and merged:
            for column, text in enumerate(cells):
                seen[(row, column)] = text
            for (merged_row, column), origin in merged.items():
                if merged_row == row and column < len(cells) and not cells[column]:
                    cells[column] = seen.get(origin, "")
        yield RawRow(row + 1, tuple(cells))


def cell_text(value: object) -> str:
    """A cell as text: whole numbers without ".0" (phones typed as numbers), dates ISO."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, timedelta):
        text = str(value)
    else:
        text = str(value).strip()
    return text[:_KEPT]


_KEPT = MAX_CELL + 1  # characters kept of a cell: enough to tell that it is too long


# --- .csv -------------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ImportFileInvalid("import.error_encoding")


def _csv_rows(data: bytes) -> Callable[[], Iterator[RawRow]]:
    text = decode_text(data)
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return lambda: _csv_iter(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _csv_iter(reader: Iterator[list[str]]) -> Iterator[RawRow]:
    try:
        for values in reader:
            number = getattr(reader, "line_num", 0)
            yield RawRow(number, tuple(cell_text(value) for value in values[:MAX_COLUMNS]))
    except csv.Error:
        raise ImportFileInvalid("import.error_cell_huge", limit=MAX_CELL) from None


# --- the header row ---------------------------------------------------------------------------


def _find_header(source: Callable[[], Iterator[RawRow]]) -> Table:
    """The header is the row among the first non-blank ones naming the most fields; a cell
    left empty under a merged group label takes the label of the row above."""
    looked: list[RawRow] = []
    for row in source():
        if any(row.cells):
            looked.append(row)
        if len(looked) == HEADER_SEARCH_ROWS:
            break
    if not looked:
        raise ImportFileInvalid("import.error_empty")
    best = max(range(len(looked)), key=lambda index: (score(looked[index].cells), -index))
    if score(looked[best].cells) < MIN_HEADER_SCORE:
        raise ImportFileInvalid("import.error_no_header")
    header = looked[best]
    above = looked[best - 1].cells if best > 0 else ()
    headers = tuple(
        (text or (above[column] if column < len(above) else ""))[:MAX_HEADER]
        for column, text in enumerate(header.cells)
    )
    while headers and not headers[-1]:
        headers = headers[:-1]
    return Table(headers, header.number, source)


def sheet_names(data: bytes) -> tuple[str, ...]:
    """The sheet names of an .xlsx (lower-cased), () when it is not one or cannot be read."""
    if not data.startswith(b"PK") or len(data) > MAX_BYTES:
        return ()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(entry.file_size for entry in archive.infolist()) > MAX_UNPACKED_BYTES:
                return ()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ()
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return tuple(name.strip().lower() for name in book.sheet_names)
    except (CalamineError, ValueError, OSError, TypeError):
        return ()
