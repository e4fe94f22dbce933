"""PDF documents with Chinese text, drawn in the shipped WenQuanYi Micro Hei font (embedded as a
subset: no run-time font download, no reliance on a reader's CJK fonts, unlike STSong-Light).

A document is a list of blocks (headings, paragraphs, tables, PNG images, page breaks) laid out
by reportlab's platypus; texts arrive already translated. Building takes tens of milliseconds:
call ``build`` from ``asyncio.to_thread``, never on the event loop."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bot.charts import FONT_PATH

FONT = "WenQuanYiMicroHei"
MARGIN = 16 * mm
_HEADER_FILL = colors.HexColor("#4e79a7")
_STRIPE_FILL = colors.HexColor("#f2f5f9")


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Grid:
    """A table: a header row, then rows; ``numeric`` columns are right-aligned."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Picture:
    png: bytes
    caption: str | None = None


@dataclass(frozen=True)
class NewPage:
    pass


Block = Heading | Text | Grid | Picture | NewPage


@cache
def register_font() -> str:
    """Register the shipped font with reportlab once (the first face of the .ttc)."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH), subfontIndex=0))
    return FONT


@cache
def _styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=26, spaceAfter=6),
        "h1": ParagraphStyle(
            "h1", parent=base, fontSize=14, leading=19, spaceBefore=10, spaceAfter=5,
            textColor=_HEADER_FILL,
        ),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=6),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12.5),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, textColor=colors.grey),
    }  # fmt: skip


def build(title: str, blocks: Sequence[Block], *, author: str = "Kehu") -> bytes:
    """The PDF: ``title`` on top of the first page, then the blocks in order."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        invariant=True,  # the same report gives the same bytes
    )
    story: list[Flowable] = [Paragraph(escape(title), styles["title"])]
    for block in blocks:
        story.extend(_flowables(block, document.width))
    document.build(story)
    return buffer.getvalue()


def _flowables(block: Block, width: float) -> list[Flowable]:
    styles = _styles()
    if isinstance(block, Heading):
        return [Paragraph(escape(block.text), styles["h1" if block.level <= 1 else "h2"])]
    if isinstance(block, Text):
        return [Paragraph(escape(line), styles["body"]) for line in block.text.splitlines()]
    if isinstance(block, Grid):
        return [_table(block, width), Spacer(1, 4 * mm)]
    if isinstance(block, Picture):
        reader = ImageReader(io.BytesIO(block.png))
        pixels_wide, pixels_high = reader.getSize()
        shown = min(width, 170 * mm)
        parts: list[Flowable] = [
            Image(io.BytesIO(block.png), shown, shown * pixels_high / pixels_wide)
        ]
        if block.caption:
            parts.append(Paragraph(escape(block.caption), styles["caption"]))
        return [KeepTogether(parts), Spacer(1, 4 * mm)]
    return [PageBreak()]


def _table(grid: Grid, width: float) -> Table:
    cell = _styles()["cell"]
    right = ParagraphStyle("right", parent=cell, alignment=2)
    header = ParagraphStyle("head", parent=cell, textColor=colors.white)

    def row(values: Sequence[str], style: ParagraphStyle) -> list[Paragraph]:
        return [
            Paragraph(escape(value), right if i in grid.numeric and style is cell else style)
            for i, value in enumerate(values)
        ]

    data = [row(grid.header, header)] + [row(values, cell) for values in grid.rows]
    table = Table(data, colWidths=[width / len(grid.header)] * len(grid.header), repeatRows=1)
    commands: list[tuple[object, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [
        ("BACKGROUND", (0, index), (-1, index), _STRIPE_FILL) for index in range(2, len(data), 2)
    ]
    table.setStyle(TableStyle(commands))
    return table
