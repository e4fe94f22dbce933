"""Charts come out as PNG bytes with real Chinese glyphs (no tofu boxes)."""

from __future__ import annotations

import io
import logging
import time
import warnings
from collections.abc import Callable, Iterator

import pytest
from fontTools.ttLib import TTCollection
from matplotlib import rc_context
from PIL import Image

from bot import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHINESE = "客户行业分布满意度趋势转化漏斗制造业零售金融其他线索意向成交价格高售后服务企业微信喆堃珺"


@pytest.fixture
def no_tofu(caplog: pytest.LogCaptureFixture) -> Iterator[list[warnings.WarningMessage]]:
    """Fails the test if matplotlib reports a glyph missing from the font (as a warning or in
    its log)."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        yield caught
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    missing += [r.getMessage() for r in caplog.records if "missing from font" in r.getMessage()]
    assert missing == []


def _image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


RENDERERS: dict[str, Callable[[], bytes]] = {
    "pie": lambda: charts.pie("客户行业分布", ["制造业", "零售", "金融", "其他"], [5, 3, 2, 0]),
    "bar": lambda: charts.bar("满意度评分", ["非常满意", "满意", "一般", "不满意"], [12, 8, 3, 1]),
    "bar_horizontal": lambda: charts.bar(
        "核心需求占比",
        ["功能A", "价格", "售后服务"],
        [0.65, 0.2, 0.15],
        horizontal=True,
        value_format="{:.0%}",
    ),
    "grouped_bar": lambda: charts.grouped_bar(
        "各行业关注点", ["功能A", "价格"], {"制造业": [0.5, 0.3], "零售": [0.2, 0.6]}
    ),
    "line": lambda: charts.line(
        "满意度趋势（负值）",
        ["2026-01", "2026-02", "2026-03"],
        {"平均分": [3.2, 3.8, 4.1], "NPS": [-10, 5, 20]},
    ),
    "funnel": lambda: charts.funnel("转化漏斗", ["线索", "意向", "成交"], [100, 40, 10]),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_chart_is_a_png_without_missing_glyphs(
    name: str, no_tofu: list[warnings.WarningMessage]
) -> None:
    image = _image(RENDERERS[name]())
    assert image.width > 400
    assert image.height > 300


def test_the_tofu_check_does_catch_missing_glyphs() -> None:
    """The same check fails with matplotlib's default font: it really detects tofu."""
    with (
        rc_context({"font.sans-serif": ["DejaVu Sans"]}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        charts.pie("客户行业分布", ["制造业"], [1])
    assert any("missing from font" in str(w.message) for w in caught)


def test_empty_inputs_still_render(no_tofu: list[warnings.WarningMessage]) -> None:
    _image(charts.pie("无数据", ["甲", "乙"], [0, 0]))
    _image(charts.funnel("漏斗", [], []))
    _image(charts.line("趋势", [], {}))
    _image(charts.word_cloud({}))


def test_the_shipped_font_covers_the_chinese_we_draw() -> None:
    assert charts.FONT_PATH.is_file()
    collection = TTCollection(str(charts.FONT_PATH))
    cmap = collection.fonts[0].getBestCmap()
    assert [char for char in CHINESE if ord(char) not in cmap] == []


def test_word_cloud_is_drawn_in_the_shipped_font_and_reproducible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import wordcloud

    seen: list[object] = []
    original = wordcloud.WordCloud.__init__

    def spy(self: wordcloud.WordCloud, *args: object, **kwargs: object) -> None:
        seen.append(kwargs.get("font_path"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(wordcloud.WordCloud, "__init__", spy)
    frequencies = {"价格高": 5.0, "售后服务": 3.0, "企业微信": 2.0, "API": 1.0}
    first = charts.word_cloud(frequencies)
    assert seen == [str(charts.FONT_PATH)]
    image = _image(first)
    assert image.convert("L").getextrema()[0] < 200  # something dark was drawn
    assert charts.word_cloud(frequencies) == first


def test_render_time_is_reported() -> None:
    charts.pie("预热", ["甲"], [1])
    started = time.perf_counter()
    charts.pie("客户行业分布", ["制造业", "零售", "金融", "其他"], [5, 3, 2, 1])
    elapsed = (time.perf_counter() - started) * 1000
    print(f"pie chart rendered in {elapsed:.0f} ms")  # loose: no assertion on time
