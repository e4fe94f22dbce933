"""The export workbooks as a real spreadsheet application reads them: LibreOffice Calc converts
what ``ExportWorkbook`` wrote to CSV, and every cell must come back as written. Text stays text
(quoted: "=SUM(A1)", "0012", "TRUE" never turn into formulas, numbers or booleans), numbers and
dates stay numbers (unquoted) shown in their format, Chinese survives, empty cells stay empty,
long text is cut at Excel's 32,767 characters, and no row is lost.

Skipped when ``soffice`` is not installed (Debian: ``apt-get install libreoffice-calc``)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogue
from crm.customers import Stage
from crm.exports.records import CustomerRecord, FollowUpRecord
from crm.exports.tables import (
    CUSTOMER_COLUMNS,
    FOLLOW_UP_COLUMNS,
    Cell,
    Column,
    Format,
    Row,
    customer_row,
    follow_up_row,
)
from crm.exports.xlsx import ExportWorkbook, Translate
from crm.followups import ContactMethod
from crm.text import mask_phone
from crm.texts import Text

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) is not on PATH: apt-get install libreoffice-calc"
)

# Tab-separated, '"'-quoted, UTF-8 (76), from line 1; token 7: quote every text cell, token 9:
# cells as shown (dates and money in their number format), token 10: formulas as formulas (a
# cell that had turned into one would come out unquoted as "=...").
CSV_FILTER = "csv:Text - txt - csv (StarCalc):9,34,76,1,,0,true,true,true,true"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 1, 0, 0, 123456, tzinfo=UTC)
MAX_CELL_TEXT = 32_767

COLUMNS = (
    Column(Text("export.column.code"), 11),
    Column(Text("export.column.customer_name"), 28),
    Column(Text("export.column.phone"), 15),
    Column(Text("export.column.notes"), 40),
    Column(Text("export.column.created_at"), 17, Format.DATETIME),
    Column(Text("export.column.deal_date"), 12, Format.DATE),
    Column(Text("export.column.amount"), 14, Format.MONEY),
    Column(Text("export.column.stage"), 9),
    Column(Text("export.column.grade"), 7),
)
AWKWARD = (
    "=SUM(A1)",
    '=HYPERLINK("http://evil.example","点我")',
    "+86 139 1234 5678",
    "-2+3",
    "@SUM(A1)",
    "'quoted",
    "0012",
    "1e5",
    "TRUE",
    "2026-11-25",
    "50%",
    "12,345",
    "  leading and trailing  ",
    "第一行\n第二行",
    "tab\there",
    "_x0041_ stays literal",
    '<b>&amp; "quoted"</b>',
    "emoji 😀 and 𠀀",
    "很长的备注。" * 7_000,  # 42,000 characters: cut at 32,767
)


@dataclass(frozen=True)
class Shown:
    """A cell LibreOffice wrote unquoted: a number or date, as its format shows it."""

    text: str


CsvCell = str | Shown | None  # str: a text cell (quoted); None: empty


def translate() -> Translate:
    catalogue = Catalogue.load()
    return lambda text: catalogue.render("zh", text)


def mixed_rows() -> list[Row]:
    rows: list[Row] = []
    for n in range(300):
        rows.append(
            (
                f"CRM{n:04d}",
                f"华信科技{n}有限公司",
                mask_phone("13912345678") if n % 2 else "13912345678",
                AWKWARD[n % len(AWKWARD)] if n % 3 == 0 else None,
                NOW + timedelta(hours=n, seconds=n % 60) if n % 4 else None,
                date(2026, 1, 1) + timedelta(days=n) if n % 5 else None,
                Decimal(f"{n * 1000}.{n % 100:02d}") if n % 6 else (n if n % 12 else 0.5),
                Text("stages.intent") if n % 7 else "",
                n % 10 if n % 2 else 1.5,
            )
        )
    # 23:59:59.6 in Shanghai is still that day under "yyyy-mm-dd hh:mm".
    rows.append(("CRM9998", "午夜", None, None, datetime(2026, 11, 24, 15, 59, 59, 600000, UTC)))
    # No number at all: text, not a broken <v>nan</v> (which LibreOffice shows as 0.00).
    rows.append(
        ("CRM9999", "NaN", None, None, None, None, float("nan"), None, Decimal("-Infinity"))
    )
    return rows


def customer_rows() -> list[Row]:
    stages = list(Stage)
    records = [
        CustomerRecord(
            id=n,
            code=f"CRM{n:04d}",
            name=f"客户{n}",
            industry="制造业",
            size=None,
            source="展会",
            demand_type=None,
            stage=stages[n % len(stages)],
            grade="A",
            region="上海",
            owner_name="李娜",
            notes="=1+1" if n % 10 == 0 else None,
            created_at=NOW - timedelta(days=n),
            last_followup_at=NOW if n % 2 else None,
            contact_name="张经理",
            contact_title=None,
            phone=f"139{n:08d}",
            email="li@example.cn",
            tags=("重点客户", "价格敏感型") if n % 3 else (),
        )
        for n in range(1, 101)
    ]
    return [customer_row(record, mask_phone) for record in records]


def follow_up_rows() -> list[Row]:
    methods = list(ContactMethod)
    records = [
        FollowUpRecord(
            id=n,
            happened_at=NOW - timedelta(hours=n, microseconds=n),
            customer_code=f"CRM{n:04d}",
            customer_name=f"客户{n}",
            method=methods[n % len(methods)],
            summary="演示产品，" * (n % 5 + 1),
            feedback=None if n % 2 else "满意",
            demand_change="+20台",
            next_step="=报价",
            author_name="李娜",
        )
        for n in range(1, 101)
    ]
    return [follow_up_row(record) for record in records]


def expected(value: Cell, column: Column, render: Translate) -> CsvCell:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value[:MAX_CELL_TEXT]
    if isinstance(value, Text):
        return render(value)
    if isinstance(value, datetime):
        return Shown(value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, date):
        return Shown(value.isoformat())
    if not math.isfinite(value):
        return str(value)
    if column.format is Format.MONEY:
        return Shown(f"{float(value):,.2f}")
    return Shown(f"{value:g}")


def parse_csv(text: str) -> list[list[CsvCell]]:
    """LibreOffice's CSV, telling quoted (text) cells from unquoted ones."""
    rows: list[list[CsvCell]] = []
    row: list[CsvCell] = []
    at, end = 0, len(text)
    while at < end:
        if text[at] == '"':
            pieces, at = [], at + 1
            while True:
                close = text.index('"', at)
                pieces.append(text[at:close])
                if text.startswith('""', close):
                    pieces.append('"')
                    at = close + 2
                else:
                    at = close + 1
                    break
            row.append("".join(pieces))
        else:
            stop = min(
                (i for i in (text.find("\t", at), text.find("\n", at)) if i != -1), default=end
            )
            row.append(Shown(text[at:stop]) if stop > at else None)
            at = stop
        if at < end and text[at] == "\t":
            at += 1
            if at == end:
                row.append(None)
        elif at < end and text[at] == "\n":
            rows.append(row)
            row = []
            at += 1
    if row:
        rows.append(row)
    return rows


def test_libreoffice_reads_every_cell_as_written(tmp_path: Path) -> None:
    render = translate()
    books = {
        "mixed": (COLUMNS, mixed_rows()),
        "customers": (CUSTOMER_COLUMNS, customer_rows()),
        "followups": (FOLLOW_UP_COLUMNS, follow_up_rows()),
    }
    for name, (columns, rows) in books.items():
        book = ExportWorkbook(name, columns, render, SHANGHAI)
        book.write(rows[:120])  # page after page, as the bot writes them
        book.write(rows[120:])
        (tmp_path / f"{name}.xlsx").write_bytes(book.close())

    assert SOFFICE is not None
    out = tmp_path / "csv"
    command = [SOFFICE, "--headless", "--norestore", "--convert-to", CSV_FILTER]
    command += ["--outdir", str(out), *(str(tmp_path / f"{name}.xlsx") for name in books)]
    done = subprocess.run(
        command,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    for name, (columns, rows) in books.items():
        csv = out / f"{name}.csv"
        assert csv.exists(), f"LibreOffice did not convert {name}.xlsx: {done.stdout}{done.stderr}"
        got = parse_csv(csv.read_text(encoding="utf-8"))
        assert got[0] == [render(column.heading) for column in columns]
        assert len(got) == len(rows) + 1, name
        for number, (cells, line) in enumerate(zip(rows, got[1:], strict=True), start=2):
            padded = (*cells, *(None,) * (len(columns) - len(cells)))
            want = [
                expected(value, column, render)
                for value, column in zip(padded, columns, strict=True)
            ]
            assert line == want, f"{name} row {number}"
