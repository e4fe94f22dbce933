"""The streaming export workbook: read back by openpyxl (and calamine), it has the header, the
frozen first row, the autofilter, real dates in the member's zone, money as numbers, and text
that can never turn into a formula or break the XML."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from bot.i18n import Catalogue
from crm.exports import xlsx
from crm.exports.records import Cursor
from crm.exports.service import Page
from crm.exports.tables import FOLLOW_UP_COLUMNS, Column, Format, Row
from crm.exports.xlsx import ExportWorkbook, write_pages
from crm.texts import Text

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = (
    Column(Text("export.column.code"), 11),
    Column(Text("export.column.customer_name"), 28),
    Column(Text("export.column.created_at"), 17, Format.DATETIME),
    Column(Text("export.column.deal_date"), 12, Format.DATE),
    Column(Text("export.column.amount"), 14, Format.MONEY),
    Column(Text("export.column.stage"), 9),
)


def translate(language: str = "zh") -> xlsx.Translate:
    catalogue = Catalogue.load()
    return lambda text: catalogue.render(language, text)


def build(rows: list[Row], columns: tuple[Column, ...] = COLUMNS, name: str = "客户") -> bytes:
    book = ExportWorkbook(name, columns, translate(), SHANGHAI)
    book.write(rows)
    return book.close()


def sheet_of(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]


def test_header_freeze_filter_widths_and_typed_cells() -> None:
    data = build(
        [
            (
                "CRM0001",
                "华信科技",
                datetime(2026, 11, 24, 16, 30, tzinfo=UTC),
                date(2026, 11, 3),
                Decimal("12345.60"),
                Text("stages.intent"),
            ),
            ("CRM0002", None, None, None, None, ""),
        ]
    )
    sheet = sheet_of(data)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("客户编号", "客户名称", "创建时间", "成交日期", "金额", "合作阶段")
    assert rows[1] == (
        "CRM0001",
        "华信科技",
        datetime(2026, 11, 25, 0, 30),  # Asia/Shanghai: the next day already
        datetime(2026, 11, 3),
        12345.6,
        "意向",
    )
    assert rows[2] == ("CRM0002", None, None, None, None, None)
    assert sheet.title == "客户"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
    assert sheet.column_dimensions["B"].width == 28
    assert sheet["A1"].font.b
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["E2"].number_format == "#,##0.00"
    # calamine (what the importer reads with) agrees.
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert calamine.sheet_names == ["客户"]
    assert calamine.get_sheet_by_index(0).to_python()[1][:2] == ["CRM0001", "华信科技"]


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","点我")',
        "=1+1",
        "+86 139",
        "-2+3",
        "@SUM(A1)",
        "=cmd|' /C calc'!A0",
    ],
)
def test_formula_like_text_stays_text(value: str) -> None:
    sheet = sheet_of(build([("CRM0001", value, None, None, None, None)]))
    cell = sheet["B2"]
    assert cell.value == value
    assert cell.data_type == "s"


def test_awkward_text_survives() -> None:
    long_note = "很长的备注。" * 7_000  # 42,000 characters
    rows: list[Row] = [
        ("CRM0001", long_note, None, None, None, None),
        ("CRM0002", "<b>&amp; \"quoted\" 'x'</b>", None, None, None, None),
        ("CRM0003", "  leading and trailing  ", None, None, None, None),
        ("CRM0004", "bell\x07 and nul\x00 and \ud800 gone", None, None, None, None),
        ("CRM0005", "line one\nline two\ttab", None, None, None, None),
        ("CRM0006", "_x0041_ stays literal", None, None, None, None),
        ("CRM0007", "emoji 😀 and 𠀀", None, None, None, None),
    ]
    data = build(rows)
    values = [row[1] for row in sheet_of(data).iter_rows(min_row=2, values_only=True)]
    assert len(values[0]) == 32_767
    assert long_note.startswith(values[0])
    assert values[1] == "<b>&amp; \"quoted\" 'x'</b>"
    assert values[2] == "  leading and trailing  "
    assert values[3] == "bell and nul and  gone"
    assert values[4] == "line one\nline two\ttab"
    assert values[6] == "emoji 😀 and 𠀀"
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    assert calamine.to_python()[6][1] == "_x0041_ stays literal"


def test_sheet_names_follow_excel_rules() -> None:
    sheet = sheet_of(build([], name="跟进/记录: [2026]*?"))
    assert sheet.title == "跟进_记录_ _2026___"
    assert sheet.auto_filter.ref == "A1:F1"


def test_english_headings_and_many_columns() -> None:
    columns = tuple(Column(Text("export.column.code"), 10) for _ in range(30))
    book = ExportWorkbook("Customers", columns, translate("en"))
    book.write([tuple(f"v{i}" for i in range(30))])
    sheet = sheet_of(book.close())
    assert sheet["AD1"].value == "Customer code"
    assert sheet["AD2"].value == "v29"


def test_rows_past_excels_limit_are_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_DATA_ROWS", 3)
    book = ExportWorkbook("客户", COLUMNS, translate())
    book.write([(f"CRM{n}", None, None, None, None, None) for n in range(2)])
    assert not book.truncated
    book.write([(f"CRM{n}", None, None, None, None, None) for n in range(2, 5)])
    assert book.truncated
    assert book.rows == 3
    rows = list(sheet_of(book.close()).iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == ["CRM0", "CRM1", "CRM2"]


def test_write_pages_reads_page_after_page() -> None:
    pages = {
        None: Page([("CRM1",) + (None,) * 7], 1),
        1: Page([("CRM2",) + (None,) * 7], 2),
        2: Page([("CRM3",) + (None,) * 7], None),
    }
    asked: list[Cursor | None] = []

    async def fetch(after: Cursor | None) -> Page:
        asked.append(after)
        return pages[after]  # type: ignore[index]

    book = ExportWorkbook("跟进记录", FOLLOW_UP_COLUMNS, translate())
    data = asyncio.run(write_pages(book, fetch))
    rows = list(sheet_of(data).iter_rows(values_only=True))
    assert rows[0][:3] == ("跟进日期", "客户编号", "跟进方式")
    assert [row[0] for row in rows[1:]] == ["CRM1", "CRM2", "CRM3"]
    assert asked == [None, 1, 2]
