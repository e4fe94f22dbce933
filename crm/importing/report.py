"""The rows left out of an import, as an .xlsx to fix and send again: the original columns,
then the row number, the field and the reason."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import xlsxwriter

from crm.importing.plan import RejectedRow
from crm.texts import Text


def rejected_workbook(
    headers: Sequence[str],
    rejected: Sequence[RejectedRow],
    render: Callable[[Text], str],
    field_label: Callable[[str], str],
    titles: tuple[str, str, str],
) -> bytes:
    """``titles``: the headers of the row, field and reason columns, in the reader's language.
    Cells are written as text (a cell that starts with "=" stays text, never a formula)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = book.add_worksheet("errors")
    bold = book.add_format({"bold": True})
    red = book.add_format({"font_color": "#C00000"})
    width = len(headers)
    for column, text in enumerate([*headers, *titles]):
        sheet.write_string(0, column, text, bold)
    for line, row in enumerate(rejected, start=1):
        for column in range(width):
            text = row.cells[column] if column < len(row.cells) else ""
            if text:
                sheet.write_string(line, column, text[:32_000])
        fields = ", ".join(dict.fromkeys(field_label(p.field) for p in row.problems if p.field))
        reasons = "; ".join(render(problem.text) for problem in row.problems)
        sheet.write_number(line, width, row.number)
        sheet.write_string(line, width + 1, fields)
        sheet.write_string(line, width + 2, reasons, red)
    sheet.set_column(width + 2, width + 2, 60)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
