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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

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
