"""Reading customer tables: .xlsx with a merged title row and blank rows, numbers stored as
numbers or text, dates; .csv in UTF-8 with BOM, GBK and UTF-16; and the refusals."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
import xlsxwriter

from crm.importing.reader import (
    MAX_CELL,
    ImportFileInvalid,
    cell_text,
    read_table,
    sheet_names,
)

HEADERS = ["客户编号", "客户名称", "联系人", "联系方式", "建档日期"]


def xlsx(write: object) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    write(book)  # type: ignore[operator]
    book.close()
    return buffer.getvalue()


def test_a_title_row_merged_over_the_columns_and_blank_rows_are_skipped() -> None:
    def write(book: xlsxwriter.Workbook) -> None:
        sheet = book.add_worksheet("客户")
        sheet.merge_range(0, 0, 0, 4, "客户信息基础表")
        sheet.write_row(2, 0, HEADERS)
        sheet.write_row(3, 0, ["CRM001", "华信", "张伟"])
        sheet.write_number(3, 3, 13912345678)
        sheet.write_datetime(
            3, 4, datetime(2024, 3, 1), book.add_format({"num_format": "yyyy-mm-dd"})
        )
        sheet.write_row(6, 0, ["", "YY集团", "李娜", "13700009012", "45352"])

    table = read_table(xlsx(write), "a.xlsx")
    assert table.headers == tuple(HEADERS)
    assert table.header_row == 3
    rows = [row for row in table.rows() if any(row.cells)]
    assert [row.number for row in rows] == [4, 7]
    assert rows[0].cells == ("CRM001", "华信", "张伟", "13912345678", "2024-03-01")
    assert rows[1].cells[4] == "45352"


def test_a_group_label_merged_above_fills_an_empty_header() -> None:
    def write(book: xlsxwriter.Workbook) -> None:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["客户名称", "联系人", "电话"])
        sheet.merge_range(1, 0, 1, 1, "客户名称")  # a sub-header row merged under the label
        sheet.write_row(2, 0, ["华信", "张伟", "139"])

    table = read_table(xlsx(write), "b.xlsx")
    assert table.headers[:3] == ("客户名称", "联系人", "电话")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030", "utf-16"])
def test_csv_encodings(encoding: str) -> None:
    text = (
        "客户名称,联系人,联系方式\n华信科技,张伟,139 1234 5678\n\n,,\nＹＹ集团,李娜,13700009012\n"
    )
    table = read_table(text.encode(encoding), "a.csv")
    assert table.headers == ("客户名称", "联系人", "联系方式")
    rows = [row for row in table.rows() if any(row.cells)]
    assert [row.cells[0] for row in rows] == ["华信科技", "ＹＹ集团"]


def test_csv_with_semicolons_and_a_long_cell() -> None:
    text = "Customer name;Contact;Phone\nAcme;Ann;" + "9" * (MAX_CELL + 50) + "\n"
    table = read_table(text.encode(), "a.csv")
    (row,) = list(table.rows())
    assert row.cells[0] == "Acme"
    assert len(row.cells[2]) == MAX_CELL + 1  # cut, and flagged later as too long


@pytest.mark.parametrize(
    ("data", "name", "key"),
    [
        (b"", "a.csv", "import.error_empty"),
        (
            b"\xd0\xcf\x11\xe0" + b"\0" * 100 + "EncryptionInfo".encode("utf-16-le"),
            "a.xlsx",
            "import.error_encrypted",
        ),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "a.xls", "import.error_legacy_xls"),
        (b"%PDF-1.7", "a.pdf", "import.error_file_type"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "import.error_file_type"),
        ("随便\n写点\n".encode(), "a.csv", "import.error_no_header"),
        (b"\xff\xfe\x00\xd8\x00\xd8", "a.csv", "import.error_encoding"),
        (b'name,contact\n"' + b"x" * 200_000 + b'"\n', "a.csv", "import.error_cell_huge"),
    ],
)
def test_refusals_name_what_works(data: bytes, name: str, key: str) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        list(read_table(data, name).rows())
    assert refused.value.text.key == key


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (310 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    with pytest.raises(ImportFileInvalid) as refused:
        read_table(buffer.getvalue(), "bomb.xlsx")
    assert refused.value.text.key == "import.error_unpacked"


def test_a_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        read_table(b"a" * (20 * 1024 * 1024 + 1), "big.csv")
    assert refused.value.text.key == "import.error_too_big"


def test_cell_text_and_sheet_names() -> None:
    assert cell_text(13912345678.0) == "13912345678"
    assert cell_text(3.5) == "3.5"
    assert cell_text(datetime(2024, 3, 1, 0, 0)) == "2024-03-01"
    assert cell_text(date(2024, 3, 1)) == "2024-03-01"
    assert cell_text(True) == "TRUE"
    assert cell_text("  x ") == "x"

    def write(book: xlsxwriter.Workbook) -> None:
        book.add_worksheet("survey")
        book.add_worksheet("choices")

    assert sheet_names(xlsx(write)) == ("survey", "choices")
    assert sheet_names(b"name,phone\n") == ()
