"""Charts as SVG and PNG bytes, drawn with matplotlib on the Agg backend.

pyplot is never imported: every chart is its own :class:`~matplotlib.figure.Figure`
attached to an explicit canvas (:class:`.chart_layout.ChartCanvas`: Agg for PNG,
matplotlib's SVG renderer for SVG), so no global figure state survives a chart.
Style settings are applied with ``rc_context`` under a lock and restored after
each chart. Fonts are matplotlib's bundled DejaVu Sans; SVG text stays text
(``svg.fonttype: none``: searchable, read by screen readers). Output is
deterministic (fixed SVG id salt, no dates in metadata).

Layout (:mod:`.chart_layout`): each chart places its axes itself, in inches from the figure's edges,
from the measured sizes of the texts around them (title, row labels, tick
labels, axis label, legend). No layout engine runs: ``constrained_layout``
measured every text of a chart twice more than drawing it does, and was most
of the time of a report. Row labels of categorical axes are texts beside the
axes rather than ticks, and ticks are one line of marks and a text per label
(:func:`.chart_layout.draw_ticks`): a matplotlib tick is five artists. The bars
of a Likert chart are one collection. Texts are measured as the SVG lays them
out, once per text and font for the process, by the layout and by every chart's
SVG renderer alike (:func:`.chart_layout.text_metrics`).

Colours are colour-blind safe: Okabe-Ito for categories (mentors blue, mentees
orange, measured green) and a purple-orange diverging scheme (ColorBrewer PuOr)
for Likert points, with a grey neutral; suppressed data is grey and hatched.

Each function takes plain numbers and labels (``None`` marks a suppressed
value) and returns a :class:`Chart`. ``lang`` chooses es or en axis text. The
word cloud is in :mod:`.cloud`.
"""

from __future__ import annotations

import gc
import io
import math
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator
from matplotlib.transforms import ScaledTranslation

from . import chart_layout as layout
from .i18n import N_, gettext

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
GROUP_COLOURS = {"mentor": OKABE_ITO["blue"], "mentee": OKABE_ITO["orange"], "all": "#555555"}
DIVERGING = {
    2: ("#e66101", "#5e3c99"),
    3: ("#e66101", "#cfcfcf", "#5e3c99"),
    4: ("#e66101", "#fdb863", "#b2abd2", "#5e3c99"),
    5: ("#e66101", "#fdb863", "#cfcfcf", "#b2abd2", "#5e3c99"),
    7: ("#b35806", "#f1a340", "#fee0b6", "#cfcfcf", "#d8daeb", "#998ec3", "#542788"),
}
SUPPRESSED = "#bdbdbd"
HIDDEN_AT = 112  # x where a Likert bar's hidden answers are drawn, apart from the -100..100 scale
CLOUD_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

_LOCK = threading.Lock()

LABELS: dict[str, str] = {
    "mentor": N_("Mentors"),
    "mentee": N_("Mentees"),
    "all": N_("Everyone"),
    "percent": N_("% of responses"),
    "suppressed": N_("Hidden to protect respondents"),
    "hidden_n": N_("{n} hidden"),
    "suppressed_row": N_("hidden: fewer than {k} responses"),
    "mean_change": N_("Mean change (after − before), 95 % CI"),
    "effect": N_("Effect: rank-biserial correlation, 95 % CI"),
    "measured": N_("Measured (verified milestones)"),
    "self_reported": N_("Self-reported progress"),
    "perceived_mentee": N_("Perceived by the mentee"),
    "perceived_mentor": N_("Perceived by the mentor"),
    "achievement": N_("Achievement of objectives (0–100)"),
    "dyad": N_("Dyads (sorted by measured achievement)"),
    "gap": N_("Gap perceived − measured"),
    "gap_mentee": N_("Mentee"),
    "gap_mentor": N_("Mentor"),
    "perceived": N_("Perceived achievement (0–100)"),
    "people": N_("People"),
    "of_first": N_("{pct} % of the first stage"),
    "forms": N_("Forms"),
    "count": N_("Count"),
    "no_terms": N_("No publishable terms"),
    "n": N_("n"),
    "hidden": N_("hidden"),
}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    alt: str
    svg: bytes
    png: bytes


@contextmanager
def _collector_held_off() -> Iterator[None]:
    """The cyclic GC held off while a chart is drawn. A chart makes thousands of objects in reference
    cycles that live a few milliseconds: collected in the middle of a drawing, the live ones moved on to
    the older generations, died there, and only full passes over everything the process holds freed them
    (one every few charts, up to a tenth of a second each). Held off, they die young: the first collection
    after the drawing, of the youngest generation, frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render(
    name: str, title: str, alt: str, size: tuple[float, float], draw: Callable[[Figure], None], png: bool = True
) -> Chart:
    """One chart: ``draw`` fills a fresh figure of ``size`` inches, saved as SVG (and PNG with ``png``)."""
    with _LOCK, _collector_held_off(), matplotlib.rc_context(layout.STYLE):
        fig = Figure(figsize=size)  # no layout engine: ``draw`` places its axes (see the module docstring)
        layout.ChartCanvas(fig)
        draw(fig)
        svg_buf = io.BytesIO()
        fig.savefig(svg_buf, format="svg", metadata={"Date": None, "Creator": None})
        png_bytes = b""
        if png:
            png_buf = io.BytesIO()
            fig.savefig(png_buf, format="png", dpi=144, metadata={"Software": None})
            png_bytes = png_buf.getvalue()
        del fig  # garbage before the collector is back, not a survivor of its first pass
    return Chart(name, title, alt, svg_buf.getvalue(), png_bytes)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def words(lang: str, key: str, **fields: object) -> str:
    """The chart text ``key`` of :data:`LABELS` in ``lang``."""
    return gettext(lang, LABELS[key], **fields)


# ----------------------------------------------------------------------------- Likert


@dataclass(frozen=True)
class LikertRow:
    """One bar: ``counts`` per scale point (``None`` hidden), ``n`` respondents
    (``None`` when the whole row is hidden)."""

    group: str
    counts: Sequence[int | None]
    n: int | None


@dataclass(frozen=True)
class LikertItem:
    text: str
    rows: Sequence[LikertRow]


def likert_chart(
    name: str,
    title: str,
    items: Sequence[LikertItem],
    scale: Sequence[str],
    *,
    lang: str = "es",
    k: int = 5,
    png: bool = True,
) -> Chart:
    """Diverging stacked bars, one panel per item and one bar per group,
    centred on the neutral point (between the two middle points of an even
    scale), in % of the group's respondents. Hidden cells are neither agreement
    nor disagreement: they are drawn apart, in a narrow grey hatched column to
    the right of the scale, with how many answers they hold (the row's total
    minus its published cells, which anyone can work out)."""
    points = len(scale)
    colours = DIVERGING[points]
    width = 8.0

    def group_name(row: LikertRow) -> str:
        return words(lang, row.group) if row.group in LABELS else row.group

    labels = [group_name(r) if not r.n else f"{group_name(r)}  ({words(lang, 'n')}={r.n})" for i in items for r in i.rows]
    left_margin = layout.PAD + 3.5 * layout.PT + max((layout.text_extent(label, layout.FONT_SIZE)[0] for label in labels), default=0.0)
    any_hidden = any(r.n and any(c is None for c in r.counts) for i in items for r in i.rows)
    span = (HIDDEN_AT + 48 if any_hidden else 100) + 100  # data units across the axes
    # Room on the right for the hidden counts written past the scale's end.
    widest_hidden = max((layout.text_extent(words(lang, "hidden_n", n=r.n), 7.5)[0] for i in items for r in i.rows
                         if r.n and any(c is None for c in r.counts)), default=0.0)
    right_margin = layout.right_margin(width, left_margin, [((HIDDEN_AT + 31 + 100) / span, widest_hidden)] if any_hidden else [])
    # A statement starts at the scale's left end (-100) and must end inside the figure: wrap it to fit.
    room = width - left_margin - right_margin
    wrap_at = 100
    while wrap_at > 30 and any(layout.text_extent(_wrap(i.text, wrap_at), 8.5)[0] > room for i in items):
        wrap_at -= 5
    statements = [_wrap(i.text, wrap_at) for i in items]

    def draw(fig: Figure) -> None:
        # One axes for every item (subplots per item cost most of the report's rendering time):
        # each item is a block of bars under its wrapped statement; hidden answers sit right of the scale.
        ax = fig.add_subplot()
        top = layout.suptitle(fig, title)
        ticks: list[float] = []
        bars: list[list[tuple[float, float]]] = []  # one collection for every bar: far fewer artists to draw
        bar_colours: list[str] = []
        hidden_bars: list[list[tuple[float, float]]] = []
        y = 0.0

        def bar(where: list[list[tuple[float, float]]], y: float, left: float, width: float) -> None:
            where.append([(left, y - 0.3), (left + width, y - 0.3), (left + width, y + 0.3), (left, y + 0.3)])

        for item, text in zip(items, statements, strict=True):
            ax.text(-100, y - 0.05, text, ha="left", va="bottom", fontsize=8.5, color="#222222")
            y += 0.05 + 0.32 * text.count("\n")
            for row in item.rows:
                y += 0.72
                ticks.append(y)
                if not row.n:
                    ax.text(0, y, words(lang, "suppressed_row", k=k), ha="center", va="center",
                            fontsize=8, color="#555555", style="italic")
                    continue
                pct = [None if c is None else 100.0 * c / row.n for c in row.counts]
                shown = [p or 0.0 for p in pct]
                neg = sum(shown[: points // 2]) + (shown[points // 2] / 2 if points % 2 else 0.0)
                left = -neg
                for i, p in enumerate(pct):
                    if p:
                        bar(bars, y, left, p)
                        bar_colours.append(colours[i])
                        if p >= 7:
                            dark = i in (0, points - 1)
                            ax.text(left + p / 2, y, f"{p:.0f}", ha="center", va="center", fontsize=7.5,
                                    color="white" if dark else "#222222")
                    if p is not None:
                        left += p
                hidden_n = row.n - sum(c for c in row.counts if c is not None)
                if any(c is None for c in row.counts) and hidden_n >= 0:
                    bar(hidden_bars, y, HIDDEN_AT, 30.0 * hidden_n / row.n)
                    ax.text(HIDDEN_AT + 31, y, words(lang, "hidden_n", n=hidden_n), va="center", ha="left",
                            fontsize=7.5, color="#333333")
            y += 0.85
        if bars:
            ax.add_collection(PolyCollection(bars, facecolors=bar_colours, edgecolors="white", linewidths=0.6),
                              autolim=False)
        if hidden_bars:
            ax.add_collection(PolyCollection(hidden_bars, facecolors=SUPPRESSED, edgecolors="white", linewidths=0.6,
                                             hatch="////"), autolim=False)
        layout.row_labels(ax, ticks, labels)
        ax.set_ylim(y - 0.5, -0.2)
        ax.axvline(0, color="#444444", linewidth=0.8)
        if any_hidden:
            ax.axvline(HIDDEN_AT - 4, color="#bbbbbb", linewidth=0.6, linestyle=":")
        ax.set_xlim(-100, HIDDEN_AT + 48 if any_hidden else 100)
        layout.fixed_ticks(ax.xaxis, range(-100, 101, 50), [f"{abs(v)}%" for v in range(-100, 101, 50)])
        layout.draw_ticks(ax)
        ax.set_xlabel(words(lang, "percent"))
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_bounds(-100, 100)
        entries = [(Patch(color=colours[i]), scale[i]) for i in range(points)]
        if any_hidden:
            entries.append((Patch(facecolor=SUPPRESSED, hatch="////", edgecolor="white"), words(lang, "suppressed")))
        bottom = layout.swatch_legend(fig, entries, ncol=min(len(entries), 3)) + layout.x_axis_height()
        layout.place(fig, [ax], left=left_margin, right=right_margin, top=top, bottom=bottom)

    lines = sum(s.count("\n") + 1 for s in statements)
    height = 1.1 + 0.12 * lines + sum(0.2 + 0.22 * len(i.rows) for i in items) + 0.22 * math.ceil((points + 1) / 3)
    alt = f"{title}: " + "; ".join(
        f"{i.text} — " + ", ".join(
            f"{group_name(r)} {words(lang, 'n')}={r.n if r.n else words(lang, 'hidden')}"
            for r in i.rows)
        for i in items
    )
    return render(name, title, alt, (width, height), draw, png)


# ----------------------------------------------------------------------------- skill change


@dataclass(frozen=True)
class ChangeRow:
    skill: str
    group: str
    n: int
    mean_change: float | None
    mean_ci: tuple[float, float] | None
    effect: float | None
    effect_ci: tuple[float, float] | None


def skill_change_chart(
    name: str, title: str, skills: Sequence[str], rows: Sequence[ChangeRow], *, lang: str = "es", png: bool = True
) -> Chart:
    """Mean change and rank-biserial effect per skill, with 95 % bootstrap CIs,
    one marker per group (offset vertically). Hidden groups are not drawn."""
    groups = [g for g in ("mentee", "mentor", "all") if any(r.group == g for r in rows)]
    offsets = {g: (i - (len(groups) - 1) / 2) * 0.22 for i, g in enumerate(groups)}
    marker = {"mentee": "o", "mentor": "s", "all": "D"}

    with_means = any(r.mean_change is not None for r in rows)

    def draw(fig: Figure) -> None:
        top = layout.suptitle(fig, title)
        if with_means:
            left = fig.add_subplot()
            right = fig.add_axes((0.5, 0.1, 0.4, 0.8), sharey=left)  # placed below
            panels = ((left, "mean_change", "mean_ci", "mean_change"), (right, "effect", "effect_ci", "effect"))
        else:
            right = fig.add_subplot()
            left = right
            panels = ((right, "effect", "effect_ci", "effect"),)
        ypos = {s: i for i, s in enumerate(skills)}
        for ax, value, ci, label in panels:
            for i in range(0, len(skills), 2):
                ax.axhspan(i - 0.5, i + 0.5, color="#f2f2f2", zorder=0)
            ax.axvline(0, color="#444444", linewidth=0.8)
            for g in groups:
                mine = [r for r in rows if r.group == g and getattr(r, value) is not None]
                if not mine:
                    continue
                y = np.array([ypos[r.skill] + offsets[g] for r in mine])
                x = np.array([getattr(r, value) for r in mine], dtype=float)
                lo = np.array([(getattr(r, ci) or (getattr(r, value),) * 2)[0] for r in mine], dtype=float)
                hi = np.array([(getattr(r, ci) or (getattr(r, value),) * 2)[1] for r in mine], dtype=float)
                # A percentile bootstrap interval need not contain the estimate (a skewed
                # resampling distribution): draw the interval as it is, not as +/- errors.
                ax.hlines(y, lo, hi, color=GROUP_COLOURS[g], linewidth=1.4, zorder=2)
                ax.plot(x, y, marker[g], color=GROUP_COLOURS[g], markersize=5.5, label=words(lang, g), zorder=3)
            ax.set_xlabel(words(lang, label))
            ax.set_axisbelow(True)
        right.set_xlim(-1.12, 1.12)
        layout.fixed_ticks(right.xaxis, [-1, -0.5, 0, 0.5, 1])
        if with_means:
            layout.few_ticks(left.xaxis)
        left_margin = layout.PAD + layout.row_labels(left, range(len(skills)), [_wrap(s, 24) for s in skills])
        left.set_ylim(len(skills) - 0.5, -0.5)
        for ax, *_ in panels:
            layout.draw_ticks(ax, grid={"color": "#dddddd", "linewidth": 0.6})
        handles, labels = left.get_legend_handles_labels()
        bottom = layout.PAD
        if handles:
            bottom = layout.bottom_legend(fig, handles=handles, labels=labels, ncol=len(handles))
        axes = [left, right] if with_means else [right]
        layout.place(fig, axes, left=left_margin, right=layout.PAD + 0.1, top=top, bottom=bottom + layout.x_axis_height(),
               gaps=[0.25], ratios=[1.15, 1.0] if with_means else None)

    alt = f"{title}: " + "; ".join(
        f"{r.skill} ({words(lang, r.group)}, {words(lang, 'n')}={r.n}): "
        + (f"{r.mean_change:+.2f}" if r.mean_change is not None else "–")
        + (f", r={r.effect:+.2f}" if r.effect is not None else "")
        for r in rows
    )
    return render(name, title, alt, (8.0, 1.4 + 0.48 * len(skills)), draw, png)


# ----------------------------------------------------------------------------- achievement


def achievement_chart(
    name: str,
    title: str,
    measured: Sequence[float | None],
    mentee: Sequence[float | None],
    mentor: Sequence[float | None],
    *,
    self_reported: Sequence[float | None] | None = None,
    lang: str = "es",
    dumbbell_limit: int = 40,
    png: bool = True,
) -> Chart:
    """Measured (verified milestones) against perceived achievement. Up to
    ``dumbbell_limit`` dyads: one line per dyad (numbered, never named), sorted
    by measured achievement, with the self-reported progress as a hollow mark;
    more: a scatter of perceived against measured with the line of agreement.
    Beside it, the gaps (perceived - measured) of mentees and mentors as box
    plots."""
    m = np.array([np.nan if v is None else v for v in measured], dtype=float)
    e = np.array([np.nan if v is None else v for v in mentee], dtype=float)
    r = np.array([np.nan if v is None else v for v in mentor], dtype=float)
    sr = np.array([np.nan if v is None else v for v in (self_reported or [None] * m.size)], dtype=float)
    order = np.argsort(np.where(np.isnan(m), np.inf, m), kind="stable")
    m, e, r, sr = m[order], e[order], r[order], sr[order]
    n = m.size
    small = n <= dumbbell_limit
    data = [x[~np.isnan(x)] for x in (e - m, r - m)]
    with_gaps = [d for d in data if d.size]

    def draw(fig: Figure) -> None:
        main = fig.add_subplot()
        gaps = fig.add_axes((0.7, 0.1, 0.25, 0.8)) if with_gaps else None  # placed below
        top = layout.suptitle(fig, title)
        label_height = layout.text_extent("Ag", float(layout.STYLE["axes.labelsize"]))[1]
        if small:
            y = np.arange(n)
            stack = np.vstack([m, e, r, sr])
            ok = ~np.all(np.isnan(stack), axis=0)
            lo = np.full(n, np.nan)
            hi = np.full(n, np.nan)
            lo[ok] = np.nanmin(stack[:, ok], axis=0)
            hi[ok] = np.nanmax(stack[:, ok], axis=0)
            main.hlines(y[ok], lo[ok], hi[ok], color="#bbbbbb", linewidth=2, zorder=1)
            main.scatter(m, y, marker="s", s=34, color=OKABE_ITO["green"], label=words(lang, "measured"), zorder=3)
            if (~np.isnan(sr)).any():
                main.scatter(sr, y, marker="D", s=30, facecolors="white", edgecolors=OKABE_ITO["green"], linewidths=1.2,
                             label=words(lang, "self_reported"), zorder=3)
            if (~np.isnan(e)).any():
                main.scatter(e, y, marker="o", s=34, color=OKABE_ITO["orange"], label=words(lang, "perceived_mentee"), zorder=3)
            if (~np.isnan(r)).any():
                main.scatter(r, y, marker="^", s=38, color=OKABE_ITO["blue"], label=words(lang, "perceived_mentor"), zorder=3)
            beside = layout.row_labels(main, list(y), [str(i + 1) for i in y])
            main.set_ylim(n - 0.5, -0.5)
            main.set_ylabel(words(lang, "dyad"))
            # The dyads' numbers are texts, not ticks: the axis label goes left of them.
            main.yaxis.set_label_coords(0, 0.5, transform=main.transAxes + ScaledTranslation(
                -(beside + layout.LABEL_PAD), 0, fig.dpi_scale_trans))
            main.set_xlabel(words(lang, "achievement"))
            main.set_xlim(-2, 102)
            layout.fixed_ticks(main.xaxis, range(0, 101, 25))
            layout.draw_ticks(main, grid={"color": "#e3e3e3", "linewidth": 0.6})
        else:
            main.plot([0, 100], [0, 100], color="#666666", linewidth=0.8, linestyle="--", zorder=1)
            # thousands of points: raster them inside the SVG (still self-contained, much smaller)
            main.scatter(m, e, s=6, alpha=0.35, color=OKABE_ITO["orange"], label=words(lang, "perceived_mentee"),
                         linewidths=0, rasterized=True)
            main.scatter(m, r, s=6, alpha=0.35, color=OKABE_ITO["blue"], label=words(lang, "perceived_mentor"),
                         linewidths=0, marker="^", rasterized=True)
            main.set_xlim(0, 100)
            main.set_ylim(0, 100)
            layout.fixed_ticks(main.xaxis, range(0, 101, 25))
            layout.fixed_ticks(main.yaxis, range(0, 101, 25))
            main.set_xlabel(words(lang, "measured") + " (0–100)")
            main.set_ylabel(words(lang, "perceived"))
            beside = layout.TICK_SPACE + layout.tick_label_width(main)
            layout.draw_ticks(main)
            layout.draw_ticks(main, "y")
        handles, labels = main.get_legend_handles_labels()
        bottom = layout.bottom_legend(fig, handles=handles, labels=labels, ncol=2, markerscale=1.2 if small else 3.5)
        gap_width = 0.0
        if gaps is not None:
            names = [words(lang, key) for key, d in zip(("gap_mentee", "gap_mentor"), data, strict=True) if d.size]
            colours = [c for c, d in zip((OKABE_ITO["orange"], OKABE_ITO["blue"]), data, strict=True) if d.size]
            box = gaps.boxplot(with_gaps, tick_labels=names, widths=0.55, patch_artist=True,
                               medianprops={"color": "black"}, flierprops={"markersize": 3})
            for patch, colour in zip(box["boxes"], colours, strict=True):
                patch.set_facecolor(colour)
                patch.set_alpha(0.75)
            gaps.axhline(0, color="#444444", linewidth=0.8)
            gaps.set_ylabel(words(lang, "gap"))
            layout.few_ticks(gaps.yaxis)
            gap_width = 0.2 + label_height + layout.LABEL_PAD + layout.TICK_SPACE + layout.tick_label_width(gaps)
            layout.draw_ticks(gaps)
            layout.draw_ticks(gaps, "y")
        axes = [main, gaps] if gaps is not None else [main]
        layout.place(fig, axes, left=layout.PAD + label_height + layout.LABEL_PAD + beside, right=layout.PAD, top=top,
               bottom=bottom + layout.x_axis_height(), gaps=[gap_width], ratios=[2.3, 1.0] if gaps is not None else None)

    means = [f"{words(lang, key)} {np.nanmean(x):.0f}" for key, x in
             (("measured", m), ("self_reported", sr), ("perceived_mentee", e), ("perceived_mentor", r)) if (~np.isnan(x)).any()]
    alt = f"{title}: {n}; " + ", ".join(means) if means else title
    height = 2.1 + 0.2 * n if small else 4.6
    return render(name, title, alt, (8.0, max(3.4, height)), draw, png)


# ----------------------------------------------------------------------------- funnel and bars


@dataclass(frozen=True)
class FunnelBar:
    label: str
    mentors: int
    mentees: int


def funnel_chart(name: str, title: str, stages: Sequence[FunnelBar], *, lang: str = "es", png: bool = True) -> Chart:
    """Stacked horizontal bars (mentees, mentors) per stage, with the total and
    its share of the first stage."""
    width = 8.0
    totals = np.array([s.mentees + s.mentors for s in stages])
    top_count = max(int(totals.max()), 1) if len(stages) else 1
    first = totals[0] if len(stages) and totals[0] else None
    notes = [f"{t:,}" + (f"  ·  {words(lang, 'of_first', pct=f'{100 * t / first:.0f}')}" if first and i else "")
             for i, t in enumerate(totals)]
    left = layout.PAD + 3.5 * layout.PT + max((layout.text_extent(s.label, layout.FONT_SIZE)[0] for s in stages), default=0.0)
    right = layout.right_margin(width, left, [((t + top_count * 0.01) / (top_count * 1.42), layout.text_extent(note, 8)[0])
                                        for t, note in zip(totals, notes, strict=True)])

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        top = layout.axes_title(ax, title)
        y = np.arange(len(stages))
        mentees = np.array([s.mentees for s in stages])
        mentors = np.array([s.mentors for s in stages])
        bars = (ax.barh(y, mentees, color=OKABE_ITO["orange"], height=0.62),
                ax.barh(y, mentors, left=mentees, color=OKABE_ITO["blue"], height=0.62))
        for yi, t, note in zip(y, totals, notes, strict=True):
            ax.text(t + top_count * 0.01, yi, note, va="center", fontsize=8)
        layout.row_labels(ax, list(y), [s.label for s in stages])
        ax.set_ylim(len(stages) - 0.5, -0.6)
        ax.set_xlim(0, top_count * 1.42)
        layout.few_ticks(ax.xaxis)
        layout.draw_ticks(ax)
        ax.set_xlabel(words(lang, "people"))
        # Below the axes, as the other charts do: inside, it covers the last stage's label.
        entries = [(group[0], words(lang, key)) for group, key in zip(bars, ("mentee", "mentor"), strict=True) if len(group)]
        bottom = layout.swatch_legend(fig, entries, ncol=2) + layout.x_axis_height()
        layout.place(fig, [ax], left=left, right=right, top=top, bottom=bottom)

    alt = f"{title}: " + "; ".join(f"{s.label} {s.mentors + s.mentees}" for s in stages)
    return render(name, title, alt, (width, 1.2 + 0.42 * len(stages)), draw, png)


def stacked_share_chart(
    name: str, title: str, parts: Sequence[tuple[str, int]], colours: Sequence[str], *, lang: str = "es",
    unit: str = "forms", png: bool = True,
) -> Chart:
    """One horizontal bar split into parts (e.g. feedback on time, 1-3 days
    late, ...), labelled with counts and shares."""
    total = sum(c for _, c in parts)

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        top = layout.axes_title(ax, title)
        shares = [100.0 * count / total if total else 0.0 for _, count in parts]
        starts = np.cumsum([0.0, *shares[:-1]])
        bars = ax.barh([0] * len(parts), shares, left=starts, color=colours, edgecolor="white", height=0.5)
        for left, share, colour in zip(starts, shares, colours, strict=True):
            if share >= 6:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if colour in (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], "#555555") else "#111111")
        entries = [(bar, f"{label} ({count:,})") for bar, (label, count) in zip(bars, parts, strict=True)]
        ax.set_xlim(0, 100)
        layout.fixed_ticks(ax.xaxis, range(0, 101, 25))
        layout.draw_ticks(ax)
        ax.yaxis.set_major_locator(NullLocator())
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(f"% · {words(lang, unit)} = {total:,}")
        bottom = layout.swatch_legend(fig, entries, ncol=min(len(parts), 3)) + layout.x_axis_height()
        layout.place(fig, [ax], left=layout.PAD + 0.1, right=layout.right_margin(8.0, layout.PAD + 0.1), top=top, bottom=bottom)

    alt = f"{title}: " + ", ".join(f"{label} {c}" for label, c in parts)
    return render(name, title, alt, (8.0, 2.2), draw, png)


def bar_chart(
    name: str, title: str, bars: Sequence[tuple[str, int | None]], *, lang: str = "es", k: int = 5,
    colour: str = OKABE_ITO["blue"], png: bool = True,
) -> Chart:
    """Horizontal count bars; a hidden count is a hatched grey stub marked '< k'."""
    width = 8.0
    known = [c for _, c in bars if c is not None]
    top_count = max(known) if known else k
    labels = [_wrap(label, 34) for label, _ in bars]
    left = layout.PAD + 3.5 * layout.PT + max((layout.text_extent(label, layout.FONT_SIZE)[0] for label in labels), default=0.0)
    right = layout.right_margin(width, left, [((c + top_count * 0.01) / (top_count * 1.15 if top_count else 1), layout.text_extent(f"{c:,}", 8)[0])
                                        for c in known])

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        top = layout.axes_title(ax, title)
        for y, (_, count) in enumerate(bars):
            if count is None:
                ax.text(0, y, " " + words(lang, "suppressed"), va="center", fontsize=8, color="#555555", style="italic")
            else:
                ax.text(count + top_count * 0.01, y, f"{count:,}", va="center", fontsize=8)
        shown = [(y, c) for y, (_, c) in enumerate(bars) if c is not None]
        if shown:  # one call: one container of bars
            ax.barh([y for y, _ in shown], [c for _, c in shown], color=colour, height=0.6)
        layout.row_labels(ax, range(len(bars)), labels)
        ax.set_ylim(len(bars) - 0.5, -0.5)
        ax.set_xlim(0, top_count * 1.15 if top_count else 1)
        layout.few_ticks(ax.xaxis)
        layout.draw_ticks(ax)
        ax.set_xlabel(words(lang, "count"))
        layout.place(fig, [ax], left=left, right=right, top=top, bottom=layout.PAD + layout.x_axis_height())

    alt = f"{title}: " + ", ".join(f"{label} {words(lang, 'hidden') if c is None else c}" for label, c in bars)
    return render(name, title, alt, (width, 1.1 + 0.36 * len(bars)), draw, png)
