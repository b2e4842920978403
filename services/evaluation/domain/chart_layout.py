"""How a chart is laid out without a layout engine: the style every chart is drawn in, and its
parts placed in inches from the figure's edges after the measured sizes of their texts (see
:mod:`.charts`).

Texts are measured as the SVG output lays them out (matplotlib's unhinted outlines, :func:`text_metrics`),
once per text and font for the process: by the layout (:func:`text_extent`) and by the SVG renderer of
every chart alike (:class:`ChartCanvas`). matplotlib measures each text afresh for every file it writes,
and with its text shaping (libraqm) that was most of the time of drawing a text."""

from __future__ import annotations

import codecs
import io
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

import matplotlib
import numpy as np
from matplotlib import cbook
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import TICKDOWN, TICKLEFT, Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator
from matplotlib.transforms import Affine2D, Bbox, ScaledTranslation

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#666666",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "hatch.color": "#7a7a7a",
    "svg.fonttype": "none",
    "svg.hashsalt": "aliada-charts",
    "figure.dpi": 100,
    "figure.facecolor": "white",
}

PT = 1 / 72  # inches in a point
PAD = 0.08  # inches between the figure's edge and the nearest text
TICK_SPACE = 7 * PT  # tick mark (3.5 pt) and the pad to its label (3.5 pt), matplotlib's defaults
LABEL_PAD = 4 * PT  # axes.labelpad
TITLE_PAD = 6 * PT  # axes.titlepad
GAP = 0.1  # inches between stacked parts (title and axes, legend and axis label)
MEASURE_DPI = 100  # STYLE's figure.dpi: sizes measured at it are the figures' own
FONT_SIZE = float(STYLE["font.size"])  # tick labels, axis labels, row labels


_OUTLINES = TextToPath()  # what matplotlib's SVG renderer measures texts with


@lru_cache(maxsize=16384)
def _metrics(text: str, font: FontProperties, ismath: bool | str) -> tuple[float, float, float]:
    return _OUTLINES.get_text_width_height_descent(text, font, ismath)  # type: ignore[no-any-return]


def text_metrics(text: str, font: FontProperties, ismath: bool | str = False) -> tuple[float, float, float]:
    """Width, height and descent in points of one line of ``text`` in ``font``, as the SVG output lays it
    out. Cached for the process (the key is a copy: a FontProperties is mutable)."""
    return _metrics(text, font.copy(), ismath)


class SvgRenderer(RendererSVG):
    """matplotlib's SVG renderer, measuring texts through :func:`text_metrics`."""

    def get_text_width_height_descent(self, s: str, prop: FontProperties, ismath: Any) -> tuple[float, float, float]:
        return text_metrics(s, prop, ismath)


class ChartCanvas(FigureCanvasAgg):
    """A chart's canvas: Agg for PNG; SVG drawn by :class:`SvgRenderer`."""

    def print_svg(self, filename: Any, *, bbox_inches_restore: Any = None, metadata: dict[str, Any] | None = None,
                  **_: Any) -> None:
        # matplotlib's FigureCanvasSVG.print_svg, with the renderer that measures through the shared cache
        # (print_figure passes dpi and colours that the SVG takes from the figure, as matplotlib's does).
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            renderer = MixedModeRenderer(self.figure, width, height, dpi,
                                         SvgRenderer(width * 72, height * 72, fh, image_dpi=dpi, metadata=metadata),
                                         bbox_inches_restore=bbox_inches_restore)
            self.figure.draw(renderer)
            renderer.finalize()


@cache
def measurer() -> tuple[Figure, RendererAgg]:
    """An Agg renderer at the figures' dpi: legends and the word cloud are measured with it."""
    fig = Figure(dpi=MEASURE_DPI)
    return fig, FigureCanvasAgg(fig).get_renderer()


@cache
def _svg_measurer() -> tuple[Figure, SvgRenderer]:
    fig = Figure(dpi=72)  # the SVG's own units: points
    return fig, SvgRenderer(fig.get_figwidth() * 72, fig.get_figheight() * 72, io.StringIO())


@lru_cache(maxsize=8192)
def text_extent(text: str, size: float, weight: str = "normal") -> tuple[float, float]:
    """Width and height in inches of ``text`` (lines split at newlines) in DejaVu Sans at ``size``
    points, as the SVG output lays it out. Cached: a report measures the same labels again and again."""
    fig, renderer = _svg_measurer()
    artist = Text(0, 0, text, fontsize=size, fontweight=weight, fontfamily=STYLE["font.family"])
    artist.set_figure(fig)
    box = artist.get_window_extent(renderer)
    return box.width * PT, box.height * PT


def clear_measures() -> None:
    """Forget every measured text (benchmarks measure a first drawing with it)."""
    text_extent.cache_clear()
    _metrics.cache_clear()
    _svg_measurer.cache_clear()  # matplotlib caches the sizes it measures per renderer, too
    measurer.cache_clear()


def legend_height(legend: Legend) -> float:
    """Inches from the figure's bottom edge to the top of a legend anchored there."""
    _, renderer = measurer()
    box = legend.get_window_extent(renderer)
    return box.height / MEASURE_DPI + legend.borderaxespad * legend.prop.get_size_in_points() * PT


def tick_height() -> float:
    return text_extent("0123456789%", FONT_SIZE)[1]


def x_axis_height(xlabel: bool = True) -> float:
    """Inches below an axes taken by its x tick labels and, with ``xlabel``, its label."""
    height = TICK_SPACE + tick_height()
    return height + (LABEL_PAD + text_extent("Ag", float(STYLE["axes.labelsize"]))[1] if xlabel else 0.0)


def suptitle(fig: Figure, title: str) -> float:
    """The chart's title at the top left; returns the inches it takes from the top edge."""
    width, height = fig.get_size_inches()
    fig.suptitle(title, x=PAD / width, y=1 - PAD / height, ha="left", va="top", fontsize=11.5, fontweight="bold")
    return PAD + text_extent(title, 11.5, "bold")[1] + GAP


def axes_title(ax: Axes, title: str) -> float:
    """The axes' own title (left, bold, STYLE); returns the inches it takes above the axes."""
    ax.set_title(title)
    return PAD + text_extent(title, float(STYLE["axes.titlesize"]), str(STYLE["axes.titleweight"]))[1] + TITLE_PAD


def bottom_legend(fig: Figure, **kwargs: object) -> float:
    """A legend centred at the bottom edge; returns the inches it takes from it, with the gap above it."""
    legend = fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.0), **kwargs)  # type: ignore[arg-type]
    return legend_height(legend) + GAP


@lru_cache(maxsize=4096)
def baseline_extent(text: str, size: float) -> tuple[float, float, float]:
    """Width, descent and ascent in points of one line of ``text`` at ``size`` points from its baseline,
    as the SVG output lays it out (the font's ascent and descent at least, as matplotlib's texts have)."""
    fig, renderer = _svg_measurer()
    artist = Text(0, 0, text, fontsize=size, fontfamily=STYLE["font.family"], va="baseline")
    artist.set_figure(fig)
    box = artist.get_window_extent(renderer)
    return box.width, -box.y0, box.y1


class SwatchLegend(Artist):
    """A legend of swatches (the patches of bars and cells: colour, edge, hatch), centred at the
    bottom edge of the figure, where and as matplotlib's :class:`~matplotlib.legend.Legend` puts
    such a legend (its rcParams' font size, pads and spacings; entries down ``ncol`` columns, each
    swatch and its one-line label on one baseline), drawn as its swatches and texts. matplotlib's
    legend lays its boxes out again at every level of their nesting, twice (measured, then drawn),
    and was a fifth of the time of a report's charts. ``height``: the inches it takes from the
    bottom edge."""

    zorder = 5  # a Legend's: over the axes

    def __init__(self, fig: Figure, entries: Sequence[tuple[Artist, str]], ncol: int = 1) -> None:
        super().__init__()
        self.set_figure(fig)
        rc = matplotlib.rcParams
        font = FontProperties(size=rc["legend.fontsize"])
        fs = font.get_size_in_points()
        swatch_w = rc["legend.handlelength"] * fs
        descent = 0.35 * fs * (rc["legend.handleheight"] - 0.7)  # matplotlib's: how far a swatch goes below the baseline
        swatch_h = rc["legend.handleheight"] * fs - descent
        label_x = swatch_w + rc["legend.handletextpad"] * fs
        spacing, gap = rc["legend.labelspacing"] * fs, rc["legend.columnspacing"] * fs
        _, lp_height, lp_descent = text_metrics("lp", font)
        # Each entry's extent from its baseline (points): width, lowest and highest of swatch and label.
        extents = []
        for _, label in entries:
            width, below, above = baseline_extent(label, fs)
            extents.append((label_x + width, min(-descent, -below), max(swatch_h - descent, lp_height - lp_descent, above)))
        # Columns side by side, their first baselines on one line; down a column, each baseline is the
        # previous one's lowest point, the spacing and its own highest point lower.
        columns = [[int(i) for i in c] for c in np.array_split(np.arange(len(entries)), ncol) if len(c)]
        baselines: dict[int, tuple[float, float]] = {}  # entry -> x, y of its baseline from the first baseline's left end
        x = 0.0
        for column in columns:
            y = 0.0
            for n, i in enumerate(column):
                if n:
                    y += extents[column[n - 1]][1] - spacing - extents[i][2]
                baselines[i] = (x, y)
            x += max(extents[i][0] for i in column) + gap
        width = x - gap
        high = max(extents[c[0]][2] for c in columns)
        low = min(baselines[c[-1]][1] + extents[c[-1]][1] for c in columns)
        pad, margin = rc["legend.borderpad"] * fs, rc["legend.borderaxespad"] * fs
        self.height = (margin + 2 * pad + high - low) * PT
        # Points from the figure's bottom centre: the box is centred, ``margin`` above the edge.
        points = Affine2D().scale(PT).translate(fig.get_figwidth() / 2, 0) + fig.dpi_scale_trans
        left, first = -width / 2, margin + pad - low
        self.parts: list[Artist] = []
        for i, (handle, label) in enumerate(entries):
            ex, ey = baselines[i]
            swatch = Rectangle((left + ex, first + ey - descent), swatch_w, swatch_h)
            swatch.update_from(handle)  # colour, edge, hatch, as matplotlib's legend handler copies them
            swatch.set_transform(points)
            swatch.set_clip_path(None)
            swatch.set_clip_box(None)
            text = Text(left + ex + label_x, first + ey, label, fontproperties=font, va="baseline", ha="left",
                        color=rc["text.color"], transform=points)
            for part in (swatch, text):
                part.set_figure(fig)
                self.parts.append(part)
        fig.add_artist(self)

    def draw(self, renderer: Any) -> None:
        if not self.get_visible():
            return
        renderer.open_group("legend", gid=self.get_gid())
        for part in self.parts:
            part.draw(renderer)
        renderer.close_group("legend")
        self.stale = False

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        return Bbox.union([part.get_window_extent(renderer) for part in self.parts])


def swatch_legend(fig: Figure, entries: Sequence[tuple[Artist, str]], ncol: int = 1) -> float:
    """A :class:`SwatchLegend` at the bottom edge; returns the inches it takes from it, with the gap above it."""
    return SwatchLegend(fig, entries, ncol).height + GAP


def place(fig: Figure, axes: Sequence[Axes], *, left: float, right: float, top: float, bottom: float,
           gaps: Sequence[float] = (), ratios: Sequence[float] | None = None) -> None:
    """Set the axes side by side, ``left``, ``right``, ``top`` and ``bottom`` inches from the figure's
    edges, ``gaps`` inches apart, their widths in ``ratios``."""
    width, height = fig.get_size_inches()
    ratios = ratios or [1.0] * len(axes)
    free = width - left - right - sum(gaps)
    x = left
    for i, (ax, ratio) in enumerate(zip(axes, ratios, strict=True)):
        w = free * ratio / sum(ratios)
        ax.set_position((x / width, bottom / height, w / width, (height - top - bottom) / height))
        x += w + (gaps[i] if i < len(gaps) else 0.0)


def row_labels(ax: Axes, ys: Sequence[float], labels: Sequence[str], *, pad: float = 3.5 * PT) -> float:
    """Labels of a categorical y axis, right-aligned ``pad`` inches left of the axes (texts, not ticks);
    returns the inches they take beside it."""
    ax.yaxis.set_major_locator(NullLocator())
    fig = ax.get_figure(root=True)
    assert fig is not None
    where = ax.get_yaxis_transform() + ScaledTranslation(-pad, 0, fig.dpi_scale_trans)
    for y, label in zip(ys, labels, strict=True):
        ax.text(0, y, label, transform=where, ha="right", va="center", fontsize=FONT_SIZE, color=STYLE["ytick.color"])
    return pad + max((text_extent(label, FONT_SIZE)[0] for label in labels), default=0.0)


def few_ticks(axis: Axis, bins: int = 5) -> None:
    """At most ``bins`` intervals of round numbers on an automatic axis: every tick is a mark and a
    label, the dearest part of a small chart."""
    axis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))


def fixed_ticks(axis: Axis, values: Sequence[float], labels: Sequence[str] | None = None) -> None:
    """Ticks at ``values``, labelled ``labels`` (by default the axis' formatter): ``set_ticks`` without
    making matplotlib's tick artists, which :func:`draw_ticks` replaces."""
    axis.set_major_locator(FixedLocator(values))
    if labels is not None:
        axis.set_major_formatter(FixedFormatter(labels))


def tick_labels(axis: Axis) -> list[tuple[float, str]]:
    """The ticks ``axis`` draws in its view as it is now, as matplotlib's Axis finds them: its locator's
    locations, all labelled at once by its formatter (a formatter chooses its decimals from them all),
    those inside the view kept."""
    axis.axes.autoscale_view()
    locs = axis.get_majorticklocs()
    labels = axis.get_major_formatter().format_ticks(locs)
    lo, hi = sorted(axis.get_view_interval())
    close = (hi - lo) * 1e-10
    return [(float(v), label) for v, label in zip(locs, labels, strict=True) if lo - close <= v <= hi + close]


def draw_ticks(ax: Axes, which: str = "x", *, grid: dict[str, Any] | None = None) -> None:
    """The ticks of ``ax``'s bottom (``"x"``) or left (``"y"``) axis drawn where and as matplotlib
    draws them (its marks, their size, width and colour, its label transform, the axis label beyond
    the widest or tallest label), and with ``grid`` (line properties) grid lines across the axes at
    them, but as one line of tick marks, one line of grid lines and a text per label: a matplotlib
    tick is five artists and was the dearest part of a small chart. The view must be final: it is
    fixed here, and the axis draws no ticks of its own. An axis whose labels need an offset or a power
    of ten (values of a million, or 1000.1 to 1000.5) keeps matplotlib's ticks, which write it."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    ticks = tick_labels(axis)
    if axis.get_major_formatter().get_offset():
        return
    fig = ax.get_figure(root=True)
    assert fig is not None
    rc = matplotlib.rcParams
    size, width, pad = rc[f"{which}tick.major.size"], rc[f"{which}tick.major.width"], rc[f"{which}tick.major.pad"]
    colour = rc[f"{which}tick.color"]
    label_colour = colour if rc[f"{which}tick.labelcolor"] == "inherit" else rc[f"{which}tick.labelcolor"]
    zorder = axis.get_zorder()  # as the axis draws them: under the axes' contents when they are below (set_axisbelow)
    if which == "x":
        ax.set_xlim(ax.get_xlim())
    else:
        ax.set_ylim(ax.get_ylim())
    axis.set_major_locator(NullLocator())
    at = [v for v, _ in ticks]
    if not at:
        return
    edge = [0.0] * len(at)
    xy = (at, edge) if which == "x" else (edge, at)
    ax.add_artist(Line2D(*xy, linestyle="none", marker=TICKDOWN if which == "x" else TICKLEFT, markersize=size,
                         markeredgewidth=width, color=colour, markeredgecolor=colour, zorder=zorder, clip_on=False,
                         transform=ax.get_xaxis_transform("tick1") if which == "x" else ax.get_yaxis_transform("tick1")))
    if grid is not None:
        across = [c for v in at for c in (v, v, np.nan)]
        span = [c for _ in at for c in (0.0, 1.0, np.nan)]
        style = {"color": rc["grid.color"], "linestyle": rc["grid.linestyle"], "linewidth": rc["grid.linewidth"],
                 "alpha": rc["grid.alpha"], **grid}
        lines = Line2D(*((across, span) if which == "x" else (span, across)), zorder=zorder, **style,
                       transform=ax.get_xaxis_transform("grid") if which == "x" else ax.get_yaxis_transform("grid"))
        ax.add_artist(lines)
        lines.set_clip_path(ax.patch)
    if which == "x":
        where, va, ha = ax.get_xaxis_text1_transform(size + pad)
    else:
        where, va, ha = ax.get_yaxis_text1_transform(size + pad)
    for v, label in ticks:
        ax.text(*((v, 0) if which == "x" else (0, v)), label, transform=where, va=va, ha=ha,
                fontsize=rc[f"{which}tick.labelsize"], color=label_colour, zorder=zorder)
    beyond = (size + pad + axis.labelpad) * PT  # past the marks and labels, the axis label
    if which == "x":
        tallest = max(text_extent(label, FONT_SIZE)[1] for _, label in ticks)
        axis.set_label_coords(0.5, 0, transform=ax.transAxes + ScaledTranslation(0, -(beyond + tallest), fig.dpi_scale_trans))
    else:
        widest = max(text_extent(label, FONT_SIZE)[0] for _, label in ticks)
        axis.set_label_coords(0, 0.5, transform=ax.transAxes + ScaledTranslation(-(beyond + widest), 0, fig.dpi_scale_trans))


def right_margin(width: float, left: float, texts: Sequence[tuple[float, float]] = ()) -> float:
    """The right margin (inches) that keeps texts written inside the axes within the figure: each text
    starts at a fraction of the axes' width and is so many inches wide. Never less than half a tick
    label ("100%"), which an axis ending on a tick centres on its edge."""
    need = [(width - left) - (width - PAD - left - w) / frac for frac, w in texts if frac > 0]
    return max([PAD + text_extent("100%", FONT_SIZE)[0] / 2, *need])


def tick_label_width(ax: Axes, axis: str = "y") -> float:
    """Inches taken by the widest tick label an automatic axis will draw (its locator and formatter
    asked now, without making its ticks)."""
    labels = [label for _, label in tick_labels(ax.yaxis if axis == "y" else ax.xaxis)]
    return max((text_extent(label, FONT_SIZE)[0] for label in labels), default=0.0)
