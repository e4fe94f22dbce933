"""The PDF renderer: Chinese text in the shipped font, embedded (no STSong-Light, no download),
readable back through the font's ToUnicode map. ``pdf_text`` and ``embedded_fonts`` are a small
reader for reportlab's output, shared with the e2e test of /report."""

from __future__ import annotations

import base64
import re
import time
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot import pdf
from bot.i18n import Catalogue
from crm.reports.records import Funnel, Report, Totals
from handlers.reports import report_pdf
from tests.unit.test_reports import member

_OBJECT_START = re.compile(rb"(\d+) 0 obj\s*")
_FONT_RESOURCE = re.compile(rb"/(F\d+(?:\+\d+)?) (\d+) 0 R")
_TEXT_OP = re.compile(rb"/(F\d+(?:\+\d+)?) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream or None). Streams are sliced by their
    /Length, so binary font data is never searched for keywords."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    position = 0
    while (match := _OBJECT_START.search(data, position)) is not None:
        start = match.end()
        end = data.index(b"endobj", start)
        stream_at = data.find(b"stream", start, end)
        if stream_at == -1:
            found[int(match.group(1))] = (data[start:end], None)
            position = end
            continue
        head = data[start:stream_at]
        length = re.search(rb"/Length (\d+)", head)
        assert length is not None
        begin = stream_at + len(b"stream")
        begin += 2 if data[begin : begin + 2] == b"\r\n" else 1
        raw = data[begin : begin + int(length.group(1))]
        if b"ASCII85Decode" in head:
            raw = base64.a85decode(b"".join(raw.split()).removesuffix(b"~>"))
        if b"FlateDecode" in head:
            raw = zlib.decompress(raw)
        found[int(match.group(1))] = (head, raw)
        position = data.index(b"endobj", begin + int(length.group(1)))
    return found


def embedded_fonts(data: bytes) -> list[str]:
    """Names of the fonts whose program is embedded (FontFile2: TrueType)."""
    names = []
    for head, _ in _objects(data).values():
        if b"/FontFile2" in head:
            name = re.search(rb"/FontName /([^\s/]+)", head)
            if name:
                names.append(name.group(1).decode())
    return names


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(data: bytes) -> str:
    """The text drawn on the pages, in order, decoded with each font's ToUnicode map."""
    objects = _objects(data)
    maps: dict[bytes, dict[int, str]] = {}
    for head, _ in objects.values():
        for resource, number in _FONT_RESOURCE.findall(head):
            font_head = objects.get(int(number), (b"", None))[0]
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", font_head)
            if to_unicode is None:
                continue
            cmap = objects[int(to_unicode.group(1))][1] or b""
            maps[resource] = {
                int(code, 16): chr(int(char, 16))
                for code, char in re.findall(rb"<([0-9A-Fa-f]{2})> <([0-9A-Fa-f]{4})>", cmap)
            }
    text: list[str] = []
    for head, stream in objects.values():
        if stream is None or b"/Subtype" in head or b"/Length1" in head or b"begincmap" in stream:
            continue
        font: dict[int, str] = {}
        for match in _TEXT_OP.finditer(stream):
            if match.group(1):
                font = maps.get(match.group(1), {})
            else:
                raw = _unescape(match.group(2))
                text.append("".join(font.get(code, chr(code)) for code in raw))
    return "\n".join(text)


def test_chinese_text_is_drawn_in_the_embedded_shipped_font() -> None:
    data = pdf.build(
        "经营报表 · 2026年11月",
        [
            pdf.Heading("概览"),
            pdf.Text("新增客户 4 位\n成交金额 ¥49,500.50（客户：甲科技）"),
            pdf.Grid(("阶段", "客户数"), (("潜在", "4"), ("意向（intent）", "3")), frozenset({1})),
        ],
    )
    assert data.startswith(b"%PDF")
    assert b"STSong" not in data
    fonts = embedded_fonts(data)
    assert fonts
    assert all("WenQuanYiMicroHei" in name for name in fonts)
    content = pdf_text(data)
    for expected in ("经营报表 · 2026年11月", "概览", "新增客户 4 位", "¥49,500.50", "甲科技"):
        assert expected in content, (expected, content)
    assert content.index("阶段") < content.index("潜在") < content.index("意向（intent）")


def test_many_distinct_characters_and_markup_characters_survive() -> None:
    # more than one 256-glyph subset, and characters platypus would read as markup
    common = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 400))
    data = pdf.build("<报表> & 测试", [pdf.Text(common)])
    content = pdf_text(data).replace("\n", "")
    assert "<报表> & 测试" in content
    assert common in content
    assert len(embedded_fonts(data)) >= 2


def test_a_picture_page_is_built_quickly() -> None:
    from bot import charts

    png = charts.pie("行业", ["制造业", "零售"], [3, 2])
    pdf.build("预热", [pdf.Text("字")])  # the font loads once per process
    started = time.perf_counter()
    data = pdf.build("图表", [pdf.NewPage(), pdf.Picture(png, "客户行业分布")])
    assert time.perf_counter() - started < 1.0
    assert b"/Subtype /Image" in data
    assert "客户行业分布" in pdf_text(data)


def empty_report(kind: str, first: date, last: date) -> Report:
    return Report(
        first_day=first,
        last_day=last,
        kind=kind,
        generated_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        totals=Totals(0, 0, 0, Decimal("0.00"), 0, 0, 0),
        funnel=Funnel(0, 0, 0, 0),
        durations=(),
        segments={"industry": (), "size": (), "source": (), "grade": ()},
        top_amount=(),
        top_repurchase=(),
        reps=(),
    )


def translator(language: str) -> Callable[..., str]:
    catalogue = Catalogue.load()

    def t(key: str, **variables: Any) -> str:
        return catalogue.t(language, key, **variables)

    return t


def test_an_empty_report_still_makes_a_pdf() -> None:
    empty = empty_report("custom", date(2025, 1, 1), date(2025, 1, 31))
    content = pdf_text(report_pdf(empty, member(), translator("en")))
    assert "Report · 2025-01-01 to 2025-01-31" in content
    assert "Lead → deal conversion 0% (0 of 0 new leads won)" in content
    assert "No data yet" in content
    assert "[Charts]" not in content


@pytest.mark.parametrize(
    ("kind", "language", "titled"),
    [
        ("this_month", "zh", "经营报表 · 2026-11-01 至 2026-11-30（本月）"),
        ("this_month", "en", "Report · 2026-11-01 to 2026-11-30 (This month)"),
        ("last_month", "zh", "经营报表 · 2026-11-01 至 2026-11-30（上月）"),
        ("quarter", "en", "Report · 2026-11-01 to 2026-11-30 (This quarter)"),
        ("custom", "zh", "经营报表 · 2026-11-01 至 2026-11-30"),
        ("custom", "en", "Report · 2026-11-01 to 2026-11-30"),
    ],
)
def test_a_presets_pdf_is_titled_with_its_name(kind: str, language: str, titled: str) -> None:
    report = empty_report(kind, date(2026, 11, 1), date(2026, 11, 30))
    heading = pdf_text(report_pdf(report, member(), translator(language))).splitlines()[0]
    assert heading == titled  # no emoji (the font has none); custom: the dates only
