"""How a chart is laid out without a layout engine: the style every chart is drawn in, and its
parts placed in inches from the figure's edges after the measured sizes of their texts (see
:mod:`.charts`). Text sizes are measured once per text, size and weight (:func:`text_extent`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

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


@cache
def measurer() -> tuple[Figure, RendererAgg]:
    fig = Figure(dpi=MEASURE_DPI)
    return fig, FigureCanvasAgg(fig).get_renderer()


@lru_cache(maxsize=8192)
def text_extent(text: str, size: float, weight: str = "normal") -> tuple[float, float]:
    """Width and height in inches of ``text`` (lines split at newlines) in DejaVu Sans at ``size``
    points, as matplotlib lays it out. Cached: a report measures the same labels again and again."""
    fig, renderer = measurer()
    artist = Text(0, 0, text, fontsize=size, fontweight=weight, fontfamily=STYLE["font.family"])
    artist.set_figure(fig)
    box = artist.get_window_extent(renderer)
    return box.width / MEASURE_DPI, box.height / MEASURE_DPI


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
    ax.set_yticks([])
    fig = ax.get_figure(root=True)
    assert fig is not None
    where = ax.get_yaxis_transform() + ScaledTranslation(-pad, 0, fig.dpi_scale_trans)
    for y, label in zip(ys, labels, strict=True):
        ax.text(0, y, label, transform=where, ha="right", va="center", fontsize=FONT_SIZE, color=STYLE["ytick.color"])
    return pad + max((text_extent(label, FONT_SIZE)[0] for label in labels), default=0.0)


def few_ticks(axis: object, bins: int = 5) -> None:
    """At most ``bins`` intervals of round numbers on an automatic axis: every tick is five artists
    (two marks, a grid line, two labels) and the dearest part of a small chart."""
    axis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))  # type: ignore[attr-defined]


def right_margin(width: float, left: float, texts: Sequence[tuple[float, float]] = ()) -> float:
    """The right margin (inches) that keeps texts written inside the axes within the figure: each text
    starts at a fraction of the axes' width and is so many inches wide. Never less than half a tick
    label ("100%"), which an axis ending on a tick centres on its edge."""
    need = [(width - left) - (width - PAD - left - w) / frac for frac, w in texts if frac > 0]
    return max([PAD + text_extent("100%", FONT_SIZE)[0] / 2, *need])


def tick_label_width(ax: Axes, axis: str = "y") -> float:
    """Inches taken by the widest tick label an automatic axis will draw (its locator and formatter
    asked now, without making its ticks)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    ax.autoscale_view()
    locs = [v for v in target.get_majorticklocs() if min(target.get_view_interval()) <= v <= max(target.get_view_interval())]
    labels = target.get_major_formatter().format_ticks(locs)
    return max((text_extent(label, FONT_SIZE)[0] for label in labels), default=0.0)
