"""Charts as PNG bytes, with Chinese drawn in the shipped WenQuanYi Micro Hei font (matplotlib's
default font has no CJK glyphs and draws boxes; wordcloud's does so silently).

Built on ``matplotlib.figure.Figure`` (Agg) without pyplot, so no global figure state; the font
is registered once, by path, at import. Rendering takes tens of milliseconds: call these from
``asyncio.to_thread``, never on the event loop. Titles and labels arrive already translated."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
from matplotlib import font_manager, rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
FONT_NAME = "WenQuanYi Micro Hei"
WIDTH, HEIGHT, DPI = 8.0, 5.0, 110
CLOUD_SIZE = (900, 560)
CLOUD_SEED = 7
COLOURS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip


def _register_font() -> None:
    matplotlib.use("Agg")  # in case anything else touches pyplot; Figure here needs no backend
    font_manager.fontManager.addfont(str(FONT_PATH))
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [FONT_NAME, "DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False  # the font has no U+2212 minus sign


_register_font()


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=14)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def pie(title: str, labels: Sequence[str], values: Sequence[float]) -> bytes:
    """Shares of a whole; empty slices are left out, percentages on the slices."""
    figure, axes = _figure(title)
    kept = [(label, value) for label, value in zip(labels, values, strict=True) if value > 0]
    if kept:
        names, sizes = zip(*kept, strict=True)
        axes.pie(
            sizes,
            labels=names,
            autopct="%1.0f%%",
            startangle=90,
            counterclock=False,
            colors=COLOURS[: len(sizes)] if len(sizes) <= len(COLOURS) else None,
            wedgeprops={"linewidth": 1, "edgecolor": "white"},
        )
    axes.axis("equal")
    return _png(figure)


def bar(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    horizontal: bool = False,
    value_format: str = "{:g}",
) -> bytes:
    """One bar per label, each with its value written at the end."""
    figure, axes = _figure(title)
    if horizontal:
        bars = axes.barh(list(labels), list(values), color=COLOURS[0])
        axes.invert_yaxis()  # first label on top
    else:
        bars = axes.bar(list(labels), list(values), color=COLOURS[0])
        _tilt_long_labels(axes, labels)
    axes.bar_label(bars, labels=[value_format.format(value) for value in values], padding=3)
    _plain_frame(axes)
    return _png(figure)


def grouped_bar(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    value_format: str = "{:g}",
) -> bytes:
    """Bars side by side per label, one colour per series (e.g. shares per industry)."""
    figure, axes = _figure(title)
    count = max(len(series), 1)
    width = 0.8 / count
    for index, (name, values) in enumerate(series.items()):
        offsets = [position + (index - (count - 1) / 2) * width for position in range(len(labels))]
        bars = axes.bar(
            offsets, list(values), width, label=name, color=COLOURS[index % len(COLOURS)]
        )
        axes.bar_label(bars, labels=[value_format.format(v) for v in values], fontsize=8)
    axes.set_xticks(range(len(labels)), list(labels))
    _tilt_long_labels(axes, labels)
    if series:
        axes.legend()
    _plain_frame(axes)
    return _png(figure)


def line(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> bytes:
    """One line per series over ``x_labels`` (months, versions); a point per value."""
    figure, axes = _figure(title)
    for index, (name, values) in enumerate(series.items()):
        axes.plot(
            list(x_labels),
            list(values),
            marker="o",
            label=name,
            color=COLOURS[index % len(COLOURS)],
        )
    if len(series) > 1:
        axes.legend()
    axes.grid(axis="y", alpha=0.3)
    _plain_frame(axes)
    return _png(figure)


def funnel(title: str, labels: Sequence[str], values: Sequence[float]) -> bytes:
    """Stages as centred horizontal bars, each with its count and share of the first stage."""
    figure, axes = _figure(title)
    widest = max(values, default=0) or 1
    first = values[0] if values else 0
    positions = range(len(values))
    lefts = [(widest - value) / 2 for value in values]
    axes.barh(list(positions), list(values), left=lefts, color=COLOURS[0], height=0.7)
    for position, value in zip(positions, values, strict=True):
        share = f" ({value / first:.0%})" if first else ""
        axes.text(widest / 2, position, f"{value:g}{share}", ha="center", va="center")
    axes.set_yticks(list(positions), list(labels))
    axes.invert_yaxis()
    axes.set_xticks([])
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def word_cloud(frequencies: Mapping[str, float]) -> bytes:
    """A word cloud in the shipped font (always passed: wordcloud's own font has no CJK and
    fails silently). The same frequencies give the same picture. No words: a blank image."""
    from wordcloud import WordCloud

    width, height = CLOUD_SIZE
    positive = {word: weight for word, weight in frequencies.items() if weight > 0}
    cloud = WordCloud(
        font_path=str(FONT_PATH),
        width=width,
        height=height,
        background_color="white",
        random_state=CLOUD_SEED,
        prefer_horizontal=0.9,
        max_words=150,
        max_font_size=140,
    )
    if not positive:
        from PIL import Image

        image = Image.new("RGB", CLOUD_SIZE, "white")
    else:
        image = cloud.generate_from_frequencies(positive).to_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _tilt_long_labels(axes: Axes, labels: Sequence[str]) -> None:
    if sum(len(label) for label in labels) > 40:
        for tick in axes.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")


def _plain_frame(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
