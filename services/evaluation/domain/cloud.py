"""The word cloud of an open question's publishable terms, laid out deterministically."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import Affine2D

from . import chart_layout as layout
from . import charts


def word_cloud_chart(
    name: str,
    title: str,
    terms: Sequence[tuple[str, int]],
    *,
    lang: str = "es",
    size: tuple[float, float] = (8.0, 3.8),
    png: bool = True,
) -> charts.Chart:
    """A term-frequency cloud laid out deterministically: most frequent term in
    the centre, the others along an Archimedean spiral at the first place where
    their box overlaps nothing; size grows with the square root of the count."""
    width_px, height_px = size[0] * 100, (size[1] - 0.45) * 100
    placements = cloud_layout(terms, width_px, height_px)

    def draw(fig: Figure) -> None:
        # No axes (nothing of an axis is drawn): the terms are placed on the figure in the layout's
        # pixels at 100 dpi, from its bottom-left corner, under the title.
        layout.suptitle(fig, title)
        pixels = Affine2D().scale(1 / 100) + fig.dpi_scale_trans
        if not placements:
            fig.text(width_px / 2, height_px / 2, charts.words(lang, "no_terms"), ha="center", va="center", color="#666666",
                     transform=pixels)
        for i, (term, x, y, fontsize) in enumerate(placements):
            fig.text(x, y, term, fontsize=fontsize, ha="center", va="center", color=charts.CLOUD_COLOURS[i % len(charts.CLOUD_COLOURS)],
                     fontweight="bold" if i < 3 else "normal", transform=pixels)

    alt = f"{title}: " + ", ".join(f"{t} ({c})" for t, c in terms[:25])
    return charts.render(name, title, alt, size, draw, png)


_SPIRAL = np.arange(4000) * 0.12  # the spiral's parameter t at each step


def cloud_layout(
    terms: Sequence[tuple[str, int]], width: float, height: float, *, min_size: float = 9, max_size: float = 34
) -> list[tuple[str, float, float, float]]:
    """``(term, x, y, font size in points)`` for each placed term, in pixels at
    100 dpi from the bottom-left corner. Terms that find no room are left out.

    Each term walks an Archimedean spiral from the centre (4,000 steps) and takes the
    first step where its box is inside the area and overlaps no placed box; it gives up
    at the first step outside the area once the spiral is wider than the area. The steps
    are tested with numpy in blocks of 256, in order, so the first fitting step is the same
    as walking them one by one."""
    if not terms:
        return []
    counts = np.array([c for _, c in terms], dtype=float)
    lo, hi = math.sqrt(counts.min()), math.sqrt(counts.max())
    renderer = layout.measurer()[1]  # at 100 dpi
    xs = width / 2 + 3.2 * _SPIRAL * np.cos(_SPIRAL) * 1.6
    ys = height / 2 + 3.2 * _SPIRAL * np.sin(_SPIRAL)
    placed = np.empty((0, 4))
    out = []
    for term, count in terms:
        scale = 1.0 if hi == lo else (math.sqrt(count) - lo) / (hi - lo)
        fontsize = min_size + scale * (max_size - min_size)
        w, h, _ = renderer.get_text_width_height_descent(term, FontProperties(family="DejaVu Sans", size=fontsize,
                                                         weight="bold" if len(out) < 3 else "normal"), ismath=False)
        w, h = w + 6, h + 4
        for start in range(0, _SPIRAL.size, 256):  # most terms find room early on the spiral
            part = slice(start, start + 256)
            x0, y0, x1, y1 = xs[part] - w / 2, ys[part] - h / 2, xs[part] + w / 2, ys[part] + h / 2
            inside = (x0 >= 0) & (y0 >= 0) & (x1 <= width) & (y1 <= height)
            give_up = ~inside & (3.2 * _SPIRAL[part] > width)
            free = np.ones_like(inside)
            if placed.size:
                free = ~np.any((x1[:, None] > placed[:, 0]) & (x0[:, None] < placed[:, 2])
                               & (y1[:, None] > placed[:, 1]) & (y0[:, None] < placed[:, 3]), axis=1)
            stop = np.flatnonzero((inside & free) | give_up)
            if stop.size:
                i = stop[0]
                if inside[i]:
                    placed = np.vstack([placed, (x0[i], y0[i], x1[i], y1[i])])
                    out.append((term, float(xs[part][i]), float(ys[part][i]), fontsize))
                break
    return out
