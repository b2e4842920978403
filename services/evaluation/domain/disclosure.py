"""Protecting respondents: small-cell suppression that cannot be undone by subtraction.

Rules (:class:`DisclosurePolicy`):

* **Primary suppression.** Any count of 1 to ``k - 1`` respondents (``k``:
  default 5, set per program, never below 3) is hidden. A cell of 0 holds
  nobody and is published: hiding zeros (``suppress_zeros``, off by default)
  makes every line that holds one recoverable by its total, so protecting it
  hides the whole line, and a group of 16 answering only "agree" and "neutral"
  would lose its whole distribution. Groups of at least ``k`` respondents are
  published. Open text needs ``k_text`` responses of a role (default 10)
  before any of that role's text (terms, quotes) is shown, and a term must come
  from at least ``min_term_documents`` different responses.
* **Secondary suppression.** A table is published with its row and column
  totals. A hidden cell must not be recoverable from what is published: not by
  one equation ("the row total minus the other cells", the case of a line with
  exactly one hidden cell), and not by combining equations. :func:`protect_table`
  keeps hiding the smallest published cell on a line of a recoverable cell
  (interior cells before totals, non-zero before zero) until no hidden cell is
  recoverable. A single split (mentors, mentees, everyone) is a one-row table:
  hiding one group hides the total "everyone" with it, so that every other
  group of at least ``k`` stays published (:func:`protect_split`). A row hidden
  whole because its group is hidden elsewhere (``hide_rows``) hides the total
  row ("everyone") with it, for the same reason.

Why the check is exact. Write the published table with its totals as a grid
where every line sums to zero (totals enter with a minus sign). Another table
with the same published cells differs from the true one by a *circulation* on
the hidden cells: a cycle that alternates between a row and a column and adds
+1 and -1 in turn. Counts are non-negative integers and the constraint matrix
of a two-way table is totally unimodular, so a hidden cell can take another
value if and only if some such cycle through it can be applied by one unit
without making any count negative. :func:`recoverable_cells` searches for that
cycle (a path in a directed graph whose edges say which cells may go up and
which may go down); a hidden cell without one is recoverable. The tests check
this against a linear program and against the single-equation rule.

Figures beside the tables (:func:`audit_figures`). A mean or a share is one
more linear equation on the counts behind the tables, and it breaks the
circulation argument: a mean printed as 4.6 beside a row whose hidden cells
hold 3 answers at points 3 and 4 says how many are at 4. So such figures are
audited exactly, not by a rule of thumb. The unknowns are the counts per item,
group and point (non-negative integers); every published cell and total, the
rows that count the same respondents (the items of one scale), the shares and
every figure already accepted are constraints, and a mean printed at ``d``
decimals constrains its sum of points to the open interval ``(m - h, m + h)``
times ``items x n`` (``h = 10**-d / 2``: what a reader knows whatever the rule
of rounding). For every hidden cell, and every count of one point published
only inside a band (a band of 4-5 holds the answers at 4 and at 5, each an
answer), an integer program (HiGHS through ``scipy.optimize.milp``) looks for
two feasible tables that differ on it; the figures may be published only if
every such target keeps at least two values. The search starts from the true
counts, the tables found by the audits before it (the same tables with one
figure fewer), and one or two small moves of the true counts (each feasible
table is a witness for every target at once), so most targets need no program. A hidden cell that the
tables alone already fix means their protection is wrong: the audit raises.
What the audit does not model: that a cell is hidden says it may be small
(the check above does not model it either), and figures of other sections.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

MIN_K = 3
TOTAL = "all"


@dataclass(frozen=True)
class DisclosurePolicy:
    k: int = 5
    k_text: int = 10
    min_term_documents: int = 2
    suppress_zeros: bool = False

    def __post_init__(self) -> None:
        if self.k < MIN_K:
            raise ValueError(f"k is at least {MIN_K}")
        if self.k_text < self.k:
            raise ValueError("k_text is at least k")
        if self.min_term_documents < 1:
            raise ValueError("min_term_documents is at least 1")

    def small(self, count: int) -> bool:
        """True when ``count`` respondents is too few to publish."""
        return count < self.k and (count > 0 or self.suppress_zeros)

    def text_publishable(self, responses: int) -> bool:
        return responses >= self.k_text


@dataclass(frozen=True)
class ProtectedTable:
    """A count table with its totals and what of it may be published.

    ``values`` and ``hidden`` cover the full grid: the interior rows and
    columns, then a total column when there are 2+ columns and a total row when
    there are 2+ rows (labelled ``"all"``). ``values`` holds the true counts and
    must never leave the service; publish :meth:`published`."""

    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    values: tuple[tuple[int, ...], ...]
    hidden: tuple[tuple[bool, ...], ...]
    primary: tuple[tuple[bool, ...], ...]
    has_total_row: bool
    has_total_col: bool

    def published(self) -> tuple[tuple[int | None, ...], ...]:
        return tuple(
            tuple(None if h else v for v, h in zip(vr, hr, strict=True))
            for vr, hr in zip(self.values, self.hidden, strict=True)
        )

    def cell(self, row: str, col: str) -> int | None:
        """The published value of ``(row, col)`` (``"all"`` for totals), ``None`` if hidden."""
        r, c = self.row_labels.index(row), self.col_labels.index(col)
        return None if self.hidden[r][c] else self.values[r][c]

    def row(self, row: str) -> tuple[int | None, ...]:
        return self.published()[self.row_labels.index(row)]

    @property
    def any_hidden(self) -> bool:
        return any(any(r) for r in self.hidden)

    def to_dict(self) -> dict[str, object]:
        return {"rows": list(self.row_labels), "columns": list(self.col_labels), "cells": [list(r) for r in self.published()]}


def _grid(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """The full grid with totals, and the sign of each cell in the zero-sum form."""
    r, c = counts.shape
    total_col, total_row = c > 1, r > 1
    grid = np.zeros((r + total_row, c + total_col), dtype=np.int64)
    grid[:r, :c] = counts
    if total_col:
        grid[:r, c] = counts.sum(axis=1)
    if total_row:
        grid[r, :c] = counts.sum(axis=0)
    if total_col and total_row:
        grid[r, c] = counts.sum()
    sign = np.ones_like(grid)
    if total_col:
        sign[:r, c] = -1
    if total_row:
        sign[r, :c] = -1
    return grid, sign, total_row, total_col


def recoverable_cells(
    values: Sequence[Sequence[int]] | np.ndarray,
    hidden: Sequence[Sequence[bool]] | np.ndarray,
    *,
    has_total_row: bool,
    has_total_col: bool,
) -> list[tuple[int, int]]:
    """Hidden cells of a full grid (interior plus totals) whose value follows
    from the published cells, the line equations and non-negativity."""
    grid = np.asarray(values, dtype=np.int64)
    hid = np.asarray(hidden, dtype=bool)
    rows, cols = grid.shape
    if not (has_total_row or has_total_col):
        return []  # a single cell and no equation: nothing follows
    r_in = rows - has_total_row
    c_in = cols - has_total_col
    sign = np.ones_like(grid)
    if has_total_col:
        sign[:r_in, c_in] = -1
    if has_total_row:
        sign[r_in, :c_in] = -1
    # Nodes: one per row and per column; a direction without equations merges into one node.
    row_node = [0 if not has_total_col else i for i in range(rows)]
    n_row_nodes = rows if has_total_col else 1
    col_node = [n_row_nodes + (0 if not has_total_row else j) for j in range(cols)]
    cells = [(i, j) for i in range(rows) for j in range(cols) if hid[i, j]]
    # Directed edges: row->col raises the zero-sum value y (x moves by sign),
    # col->row lowers it (x moves by -sign). A count may not go below 0.
    edges: list[tuple[int, int, int]] = []  # (from, to, cell index)
    for e, (i, j) in enumerate(cells):
        x, s = grid[i, j], sign[i, j]
        if s == 1 or x >= 1:
            edges.append((row_node[i], col_node[j], e))
        if s == -1 or x >= 1:
            edges.append((col_node[j], row_node[i], e))
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for a, b, e in edges:
        adjacency.setdefault(a, []).append((b, e))

    def reachable(start: int, goal: int, banned: int) -> bool:
        seen = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                return True
            for nxt, e in adjacency.get(node, ()):
                if e != banned and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return False

    out = []
    for e, (i, j) in enumerate(cells):
        x, s = grid[i, j], sign[i, j]
        a, b = row_node[i], col_node[j]
        up = (s == 1 or x >= 1) and reachable(b, a, e)
        down = (s == -1 or x >= 1) and reachable(a, b, e)
        if not (up or down):
            out.append((i, j))
    return out


def protect_table(
    counts: Sequence[Sequence[int]] | np.ndarray,
    *,
    policy: DisclosurePolicy = DisclosurePolicy(),
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    hide_rows: Iterable[int] = (),
    groups_first: bool = False,
) -> ProtectedTable:
    """Primary and secondary suppression of a table of respondent counts.

    ``counts`` is the interior (rows x columns, non-negative integers); the
    totals are added. ``hide_rows`` forces whole interior rows hidden (a group
    already suppressed elsewhere in the report stays hidden here) and, with
    them, the total row. ``groups_first`` (one-row splits): when a group is
    hidden, its total goes before any other group."""
    a = np.asarray(counts, dtype=np.int64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError("counts is a non-empty 2-D table")
    if (a < 0).any():
        raise ValueError("counts are non-negative")
    grid, _sign, total_row, total_col = _grid(a)
    r, c = a.shape
    rl = tuple(row_labels) if row_labels is not None else tuple(str(i) for i in range(r))
    cl = tuple(col_labels) if col_labels is not None else tuple(str(j) for j in range(c))
    if len(rl) != r or len(cl) != c:
        raise ValueError("one label per row and per column")
    rl += (TOTAL,) if total_row else ()
    cl += (TOTAL,) if total_col else ()
    small = np.vectorize(policy.small, otypes=[bool])(grid)
    hidden = small.copy()
    forced = list(hide_rows)
    for i in forced:
        hidden[i, :] = True
    if forced and total_row:
        hidden[r, :] = True
    primary = hidden.copy()
    if groups_first and total_col and hidden[:r, :c].any() and not hidden[:r, :c].all():
        hidden[:, c] = True
    while True:
        bad = recoverable_cells(grid, hidden, has_total_row=total_row, has_total_col=total_col)
        if not bad:
            break
        hidden[_next_to_hide(grid, hidden, bad, r, c)] = True
    return ProtectedTable(
        rl,
        cl,
        tuple(tuple(int(x) for x in row) for row in grid),
        tuple(tuple(bool(x) for x in row) for row in hidden),
        tuple(tuple(bool(x) for x in row) for row in primary),
        total_row,
        total_col,
    )


def _next_to_hide(grid: np.ndarray, hidden: np.ndarray, bad: list[tuple[int, int]], r: int, c: int) -> tuple[int, int]:
    """The published cell to hide next: on a line of a recoverable cell,
    preferring interior cells to totals, then the cell that closes the most
    lines holding a single hidden cell, then the smallest (a published zero
    first: hiding it tells the least), then position. Anywhere if those lines
    are fully hidden."""
    rows_single = hidden.sum(axis=1) == 1
    cols_single = hidden.sum(axis=0) == 1
    hits: dict[tuple[int, int], int] = {}
    for i, j in bad:
        for p, single in (
            *(((i, y), rows_single[i]) for y in range(grid.shape[1])),
            *(((x, j), cols_single[j]) for x in range(grid.shape[0])),
        ):
            if not hidden[p]:
                hits[p] = hits.get(p, 0) + int(single)
    if not hits:
        hits = {(int(x), int(y)): 0 for x, y in np.argwhere(~hidden)}

    def key(p: tuple[int, int]) -> tuple[bool, int, int, int, int]:
        x, y = p
        return (x >= r or y >= c, -hits[p], int(grid[p]), x, y)

    return min(hits, key=key)


def protect_split(
    counts: Mapping[str, int], *, policy: DisclosurePolicy = DisclosurePolicy()
) -> ProtectedTable:
    """One split of respondents (e.g. mentors, mentees) with its total ``"all"``:
    a group under k is hidden, and so is the total; the other groups stay. When
    every group is hidden, a total of at least k stays."""
    labels = tuple(counts)
    return protect_table([[counts[g] for g in labels]], policy=policy, row_labels=("n",), col_labels=labels,
                         groups_first=True)


def hidden_groups(split: ProtectedTable) -> frozenset[str]:
    """The groups of a :func:`protect_split` table whose figures must be withheld."""
    return frozenset(g for g, h in zip(split.col_labels, split.hidden[0], strict=True) if h)


# ============================================================================= auditing figures beside the tables

Key = tuple[int, int, int]  # (table, interior row, point): one unknown count


@dataclass(frozen=True)
class CountTable:
    """One published table of counts, written for :func:`audit_figures` in
    terms of the unknown counts behind it: ``points`` counts per interior row
    (the answers at each point of a scale), of which interior column ``j``
    publishes the sum over ``bands[j]`` (one point each when the table is in
    points, several when it is in bands). ``published`` is the full grid
    (interior, then the total column and row as in :class:`ProtectedTable`),
    ``None`` where hidden."""

    published: tuple[tuple[int | None, ...], ...]
    bands: tuple[tuple[int, ...], ...]
    points: int
    has_total_row: bool
    has_total_col: bool

    @classmethod
    def of(cls, table: ProtectedTable, bands: Sequence[Sequence[int]], points: int) -> CountTable:
        return cls(table.published(), tuple(tuple(b) for b in bands), points, table.has_total_row, table.has_total_col)

    @property
    def rows(self) -> int:
        return len(self.published) - self.has_total_row

    def cell_terms(self, t: int, i: int, j: int) -> dict[Key, int]:
        """The cell ``(i, j)`` of the full grid as a sum of unknowns of table ``t``."""
        rows = range(self.rows) if i >= self.rows else (i,)
        cols = len(self.bands)
        pts: Iterable[int] = range(self.points) if j >= cols else self.bands[j]
        return {(t, r, p): 1 for r in rows for p in pts}


@dataclass(frozen=True)
class LinearFigure:
    """A published figure as the integer constraint ``low <= sum(c * x) <= high``
    on the unknown counts (``None``: unbounded on that side). ``name`` says
    which figure it is."""

    name: str
    terms: Mapping[Key, int]
    low: int | None
    high: int | None


def mean_figure(name: str, values: Mapping[Key, int], respondents: Mapping[Key, int], items: int,
                shown: Fraction, decimals: int) -> tuple[LinearFigure, LinearFigure]:
    """A mean published rounded to ``decimals``: ``shown`` is the printed value,
    so the true mean ``S / (items * n)`` lies in ``(shown - h, shown + h)``,
    ``h = 10**-decimals / 2`` (the open interval: whatever the rounding rule, a
    reader knows at least this). ``values``: ``S`` as coefficients (the score of
    each point of each item, summed over the group's rows); ``respondents``:
    ``n`` as coefficients (one item's row counts). Both bounds are strict, hence
    the ``1`` on integer multiples of the common denominator."""
    h = Fraction(1, 2 * 10**decimals)
    lo, hi = (shown - h) * items, (shown + h) * items
    scale = math.lcm(lo.denominator, hi.denominator)
    # S - lo * n > 0  and  hi * n - S > 0, times `scale`
    keys = set(values) | set(respondents)
    below = {k: scale * values.get(k, 0) - int(lo * scale) * respondents.get(k, 0) for k in keys}
    above = {k: int(hi * scale) * respondents.get(k, 0) - scale * values.get(k, 0) for k in keys}
    return (LinearFigure(name, {k: v for k, v in below.items() if v}, 1, None),
            LinearFigure(name, {k: v for k, v in above.items() if v}, 1, None))


@dataclass(frozen=True)
class Audit:
    """What :func:`audit_figures` found: ``pinned`` names the hidden cells and
    unpublished counts that the figures leave with a single possible value
    (empty: the figures may be published); ``witnesses``, the tables it found
    that give everything published (unknowns x tables), which a later audit of
    the same tables can start from (``known``)."""

    pinned: tuple[str, ...]
    witnesses: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64), compare=False, repr=False)

    @property
    def safe(self) -> bool:
        return not self.pinned


class _Program:
    """The integer program of a set of tables and figures, solved with HiGHS."""

    def __init__(self, tables: Sequence[CountTable], figures: Sequence[LinearFigure], bound: int,
                 equal_totals: Sequence[Sequence[tuple[int, int]]]) -> None:
        self.index: dict[Key, int] = {}
        for t, tab in enumerate(tables):
            for r in range(tab.rows):
                for p in range(tab.points):
                    self.index[(t, r, p)] = len(self.index)
        rows: list[tuple[Mapping[Key, int], float, float]] = []
        for t, tab in enumerate(tables):
            for i, line in enumerate(tab.published):
                for j, v in enumerate(line):
                    if v is not None:
                        rows.append((tab.cell_terms(t, i, j), v, v))
        for same in equal_totals:  # these (table, row)s count the same respondents
            for (t0, r0), (t1, r1) in pairwise(same):
                terms: dict[Key, int] = {(t0, r0, p): 1 for p in range(tables[t0].points)}
                for p in range(tables[t1].points):
                    terms[(t1, r1, p)] = terms.get((t1, r1, p), 0) - 1
                rows.append((terms, 0, 0))
        for f in figures:
            rows.append((f.terms, -np.inf if f.low is None else f.low, np.inf if f.high is None else f.high))
        n = len(self.index)
        self.a = np.zeros((len(rows), n))
        for e, (terms, _, _) in enumerate(rows):
            for key, c in terms.items():
                self.a[e, self.index[key]] += c
        self.lo = np.array([r[1] for r in rows], dtype=float)
        self.hi = np.array([r[2] for r in rows], dtype=float)
        self.bound = bound
        self.n_figures = len(figures)  # the last rows

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """Which columns of ``x`` (unknowns x solutions) satisfy every constraint and the box."""
        ax = self.a @ x
        ok = np.all(ax >= self.lo[:, None] - 1e-9, axis=0) & np.all(ax <= self.hi[:, None] + 1e-9, axis=0)
        return ok & np.all(x >= 0, axis=0) & np.all(x <= self.bound, axis=0)

    def moves(self, tables: Sequence[CountTable]) -> np.ndarray:
        """Small changes that keep a table's lines: one answer moved from a point to another in a row,
        and two rows trading answers between two points (unknowns x moves)."""
        out = []
        n = len(self.index)
        for t, tab in enumerate(tables):
            for r in range(tab.rows):
                for p in range(tab.points):
                    for q in range(tab.points):
                        if p != q:
                            m = np.zeros(n, dtype=np.int64)
                            m[self.index[(t, r, p)]], m[self.index[(t, r, q)]] = 1, -1
                            out.append(m)
            for r1 in range(tab.rows):
                for r2 in range(r1 + 1, tab.rows):
                    for p in range(tab.points):
                        for q in range(tab.points):
                            if p != q:
                                m = np.zeros(n, dtype=np.int64)
                                m[self.index[(t, r1, p)]] = m[self.index[(t, r2, q)]] = 1
                                m[self.index[(t, r1, q)]] = m[self.index[(t, r2, p)]] = -1
                                out.append(m)
        return np.array(out, dtype=np.int64).T if out else np.zeros((n, 0), dtype=np.int64)

    def solve(self, objective: Mapping[Key, int]) -> np.ndarray | None:
        """An optimal (minimal) integer solution, or None when nothing is feasible."""
        n = len(self.index)
        c = np.zeros(n)
        for key, v in objective.items():
            c[self.index[key]] += v
        cons = [LinearConstraint(self.a, self.lo, self.hi)] if len(self.lo) else []
        res = milp(c, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.full(n, float(self.bound))),
                   constraints=cons)
        if res.status == 2:  # infeasible
            return None
        if res.status != 0 or res.x is None:
            raise RuntimeError(f"integer program not solved: {res.message}")
        x = np.round(res.x).astype(np.int64)
        if not self.feasible(x[:, None])[0]:  # a witness must be a true table, not one within tolerance
            raise RuntimeError("integer program: the rounded solution breaks a constraint")
        return x

    def value(self, x: np.ndarray, terms: Mapping[Key, int]) -> int:
        return int(sum(c * x[self.index[k]] for k, c in terms.items()))


def _targets(tables: Sequence[CountTable]) -> list[tuple[str, dict[Key, int], bool]]:
    """What must keep two possible values: (name, terms, is a hidden cell).
    Hidden cells of the tables, and each count of a point that is published
    only inside a band (a count of one point is an answer too)."""
    out: list[tuple[str, dict[Key, int], bool]] = []
    for t, tab in enumerate(tables):
        for i, line in enumerate(tab.published):
            for j, v in enumerate(line):
                if v is None:
                    out.append((f"table {t} cell ({i}, {j})", tab.cell_terms(t, i, j), True))
        for j, band in enumerate(tab.bands):
            if len(band) > 1:
                for r in range(tab.rows):
                    if tab.published[r][j] == 0:
                        continue  # a band of nobody: its points are 0, published
                    for p in band:
                        out.append((f"table {t} row {r} point {p}", {(t, r, p): 1}, False))
    return out


def audit_figures(
    tables: Sequence[CountTable],
    figures: Sequence[LinearFigure],
    *,
    bound: int,
    equal_totals: Sequence[Sequence[tuple[int, int]]] = (),
    truth: Mapping[Key, int] | None = None,
    known: np.ndarray | None = None,
) -> Audit:
    """Exact audit of figures published beside protected tables.

    The unknowns are the counts behind ``tables`` (non-negative integers, at
    most ``bound``); everything published constrains them: every published
    cell and total, ``equal_totals`` (groups of ``(table, row)`` known to count
    the same respondents: the rows of the items of one scale), and ``figures``
    (means, shares, each a linear constraint). For every hidden cell, and every
    count of a point published only inside a band, the audit decides with an
    integer program (HiGHS, through ``scipy.optimize.milp``) whether it can
    take at least two values. A hidden cell that has one value without the
    figures means the tables' protection is wrong: ``AssertionError``. A count
    that the tables already fix (a band of 0) is no concern of the figures.

    Every table found that gives everything published is a witness for every
    target at once, so most targets need no program of their own. The search
    starts from ``truth`` (the true counts), when given, and from ``known``
    (unknowns x tables: the :attr:`Audit.witnesses` of an earlier audit of the
    same tables, e.g. before one more figure was added; each is checked against
    every constraint before it counts), then tries small moves of the true
    counts and of every table an integer program finds."""
    with_figures = _Program(tables, figures, bound, equal_totals)
    targets = _targets(tables)
    weights = np.zeros((len(targets), len(with_figures.index)), dtype=np.int64)
    for e, (_, terms, _) in enumerate(targets):
        for key, c in terms.items():
            weights[e, with_figures.index[key]] += c
    low = np.full(len(targets), np.iinfo(np.int64).max)
    high = np.full(len(targets), np.iinfo(np.int64).min)
    # For each target, a feasible table where it is lowest and one where it is highest so far.
    lowest = np.zeros((len(with_figures.index), len(targets)), dtype=np.int64)
    highest = lowest.copy()

    def witness(x: np.ndarray | None) -> None:
        """Record the value of every target in the feasible table(s) ``x`` (unknowns, or unknowns x tables)."""
        if x is None:
            return
        x = x if x.ndim == 2 else x[:, None]
        if len(targets) and x.shape[1]:
            v = weights @ x
            each = np.arange(len(targets))
            at = v.argmin(axis=1)
            lower = v[each, at] < low
            low[lower] = v[each, at][lower]
            lowest[:, lower] = x[:, at[lower]]
            at = v.argmax(axis=1)
            higher = v[each, at] > high
            high[higher] = v[each, at][higher]
            highest[:, higher] = x[:, at[higher]]

    def open_targets() -> np.ndarray:
        return np.flatnonzero(low >= high)

    moves: np.ndarray | None = None

    def neighbours(x: np.ndarray) -> np.ndarray:
        """The feasible tables one small move (:meth:`_Program.moves`) away from the table ``x``."""
        nonlocal moves
        if moves is None:
            moves = with_figures.moves(tables)
        tries = x[:, None] + moves
        return tries[:, with_figures.feasible(tries)]

    if truth is not None:
        x0 = np.zeros(len(with_figures.index), dtype=np.int64)
        for key, v in truth.items():
            x0[with_figures.index[key]] = v
        if not with_figures.feasible(x0[:, None])[0]:
            raise ValueError("the true counts do not give the figures")
    else:
        first = with_figures.solve({})
        if first is None:
            raise ValueError("the figures contradict the tables")
        x0 = first
    witness(x0)
    if known is not None and known.size:
        witness(known[:, with_figures.feasible(known)])
    # Cheap witnesses first: the true counts changed by one small move, or by two that keep every published
    # cell (one may break a figure and the other mend it).
    if len(open_targets()):
        witness(neighbours(x0))
        assert moves is not None
        if len(open_targets()) and moves.shape[1]:
            base = x0[:, None]
            tables_only = with_figures.a[: len(with_figures.lo) - with_figures.n_figures]
            keeps = np.all(tables_only @ moves == 0, axis=0)
            pool = moves[:, keeps]
            for i in range(pool.shape[1]):
                pairs = base + pool[:, i : i + 1] + pool[:, i + 1 :]
                witness(pairs[:, with_figures.feasible(pairs)])
                if not len(open_targets()):
                    break
    for e in open_targets():
        _, terms, _ = targets[e]
        for sign in (-1, 1):
            if low[e] < high[e]:
                break
            x = with_figures.solve({k: sign * v for k, v in terms.items()})
            if x is not None:
                witness(x)
                witness(neighbours(x))  # an extreme table: its neighbours often settle other targets
    witnesses = np.hstack([lowest, highest])
    pinned = list(open_targets())
    if not pinned:
        return Audit((), witnesses)
    # Was it fixed before the figures? Then the figures are not to blame (or the tables are wrong).
    without = _Program(tables, (), bound, equal_totals)
    blamed = []
    for e in pinned:
        name, terms, is_cell = targets[e]
        before: set[int] = {int(low[e])}
        for sign in (-1, 1):
            x = without.solve({k: sign * v for k, v in terms.items()})
            if x is not None:
                before.add(without.value(x, terms))
        if len(before) < 2:
            assert not is_cell, f"{name} is recoverable from the tables alone: their protection is wrong"
            continue
        blamed.append(name)
    return Audit(tuple(blamed), witnesses)
