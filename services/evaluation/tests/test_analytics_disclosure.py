"""Suppression cannot be undone: no hidden cell follows from what is published.

Two independent checkers attack every protected table:

* ``single_equation_attack``: every line of the table (each row with its
  total, each column with its total) is one equation; a line with exactly one
  hidden cell gives it away by subtraction, and a line whose hidden cells must
  sum to 0 gives them all away (counts are non-negative).
* ``lp_attack``: for each hidden cell, the smallest and largest value it can
  take given every published cell, every line equation and non-negativity
  (scipy linprog). Two-way tables with totals have totally unimodular
  constraints, so these bounds are attained by integer tables: a cell is
  recoverable exactly when its minimum equals its maximum.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from services.evaluation.domain import (
    DisclosurePolicy,
    ProtectedTable,
    hidden_groups,
    protect_split,
    protect_table,
    recoverable_cells,
)


def lines(t: ProtectedTable) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """(parts, whole) for every equation of the grid."""
    rows, cols = len(t.row_labels), len(t.col_labels)
    r_in, c_in = rows - t.has_total_row, cols - t.has_total_col
    out = []
    if t.has_total_col:
        out += [([(i, j) for j in range(c_in)], (i, c_in)) for i in range(rows)]
    if t.has_total_row:
        out += [([(i, j) for i in range(r_in)], (r_in, j)) for j in range(cols)]
    return out


def single_equation_attack(t: ProtectedTable) -> set[tuple[int, int]]:
    found = set()
    for parts, whole in lines(t):
        cells = [*parts, whole]
        hidden = [p for p in cells if t.hidden[p[0]][p[1]]]
        if len(hidden) == 1:
            found.add(hidden[0])
        elif hidden and whole not in hidden:
            rest = t.values[whole[0]][whole[1]] - sum(t.values[i][j] for i, j in parts if not t.hidden[i][j])
            if rest == 0:
                found.update(hidden)
    return found


def lp_attack(t: ProtectedTable) -> set[tuple[int, int]]:
    cells = [(i, j) for i in range(len(t.row_labels)) for j in range(len(t.col_labels)) if t.hidden[i][j]]
    if not cells:
        return set()
    index = {c: n for n, c in enumerate(cells)}
    a_eq, b_eq = [], []
    for parts, whole in lines(t):
        row = np.zeros(len(cells))
        rhs = 0.0
        for p, sign in [*((p, 1.0) for p in parts), (whole, -1.0)]:
            if p in index:
                row[index[p]] += sign
            else:
                rhs -= sign * t.values[p[0]][p[1]]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    found = set()
    for c, n in index.items():
        objective = np.zeros(len(cells))
        objective[n] = 1.0
        kwargs = {"A_eq": np.array(a_eq), "b_eq": np.array(b_eq)} if a_eq else {}
        low = linprog(objective, bounds=(0, None), method="highs", **kwargs)
        high = linprog(-objective, bounds=(0, None), method="highs", **kwargs)
        assert low.status == 0 and high.status in (0, 3)  # 3: unbounded above
        if high.status == 0 and abs(low.fun + high.fun) < 1e-7:
            found.add(c)
    return found


def assert_protected(t: ProtectedTable, policy: DisclosurePolicy) -> None:
    for r, row in enumerate(t.values):
        for c, v in enumerate(row):
            if policy.small(v):
                assert t.hidden[r][c], f"small cell {t.row_labels[r]}/{t.col_labels[c]} = {v} is published"
    assert single_equation_attack(t) == set()
    assert lp_attack(t) == set()
    published = t.published()
    for r, row in enumerate(published):
        for c, v in enumerate(row):
            assert (v is None) == t.hidden[r][c]


def test_policy_bounds() -> None:
    assert DisclosurePolicy().k == 5 and DisclosurePolicy().k_text == 10
    DisclosurePolicy(k=3, k_text=3)
    with pytest.raises(ValueError):
        DisclosurePolicy(k=2)
    with pytest.raises(ValueError):
        DisclosurePolicy(k=5, k_text=4)


def test_split_hides_the_complement() -> None:
    t = protect_split({"mentor": 3, "mentee": 14})
    assert t.published() == ((None, 14, None),)  # a group of at least k is published; the total goes instead
    assert hidden_groups(t) == {"mentor", "all"}
    assert_protected(t, DisclosurePolicy())
    t = protect_split({"mentor": 16, "mentee": 14})
    assert t.published() == ((16, 14, 30),) and hidden_groups(t) == frozenset()
    # three groups: one small, the total goes with it, the others stay
    t = protect_split({"a": 2, "b": 9, "c": 30})
    assert t.published() == ((None, 9, 30, None),)
    t = protect_split({"mentor": 0, "mentee": 14})
    assert t.published() == ((0, 14, 14),)  # nobody is nobody to protect
    assert_protected(t, DisclosurePolicy())


def test_hand_worked_table() -> None:
    # 2 x 3 with totals; (0, 0) = 2 is small, and row 0 (total 17) and column 0
    # (total 9) would each give it away. The smallest other cell on those lines,
    # (0, 1) = 6, goes; now column 1 and row 0... row 0 holds two hidden cells but
    # column 0 and column 1 hold one each: (1, 0) = 7 and then (1, 1) = 8 close
    # them, leaving the 2 x 2 block whose cells can all move by +1/-1 together.
    t = protect_table([[2, 6, 9], [7, 8, 10]], row_labels=["mentor", "mentee"], col_labels=["a", "b", "c"])
    assert t.published() == (
        (None, None, 9, 17),
        (None, None, 10, 25),
        (9, 14, 19, 42),
    )
    assert_protected(t, DisclosurePolicy())


def test_zero_cells_are_published_unless_asked_and_sums_of_zero_never_give_them_away() -> None:
    strict = DisclosurePolicy(suppress_zeros=True)
    t = protect_table([[0, 0, 14], [0, 6, 9]], policy=strict)
    assert_protected(t, strict)
    t = protect_table([[0, 1, 14], [0, 6, 9]])
    assert t.published()[0][0] == 0 or t.hidden[0][0]
    assert_protected(t, DisclosurePolicy())
    # the demo's closing questionnaire: 16 mentors and 14 mentees answered "2" or "3", nobody else
    t = protect_table([[8, 8, 0], [7, 7, 0]], row_labels=["mentor", "mentee"], col_labels=["1-2", "3", "4-5"])
    assert not t.any_hidden


def test_forced_rows_stay_hidden() -> None:
    t = protect_table([[8, 9, 7], [10, 12, 11]], hide_rows=[0])
    assert all(t.hidden[0]) and all(t.hidden[2]) and not any(t.hidden[1])  # the other group stays, "everyone" goes
    assert_protected(t, DisclosurePolicy())


@pytest.mark.parametrize("k", [3, 5, 10])
def test_random_tables_cannot_be_undone(k: int) -> None:
    rng = np.random.default_rng(k)
    policy = DisclosurePolicy(k=k, k_text=max(k, 10))
    for _ in range(70):
        rows, cols = rng.integers(1, 5), rng.integers(1, 7)
        counts = rng.poisson(rng.uniform(1, 12), size=(rows, cols))
        t = protect_table(counts, policy=policy)
        assert_protected(t, policy)


def test_the_exact_check_agrees_with_linear_programming_on_arbitrary_masks() -> None:
    rng = np.random.default_rng(99)
    for _ in range(150):
        rows, cols = rng.integers(1, 5), rng.integers(1, 6)
        counts = rng.poisson(3, size=(rows, cols))
        base = protect_table(counts, policy=DisclosurePolicy(k=3, suppress_zeros=False))
        mask = rng.random((len(base.row_labels), len(base.col_labels))) < rng.uniform(0.1, 0.7)
        t = ProtectedTable(base.row_labels, base.col_labels, base.values,
                           tuple(tuple(bool(x) for x in r) for r in mask), base.primary,
                           base.has_total_row, base.has_total_col)
        ours = set(recoverable_cells(t.values, t.hidden, has_total_row=t.has_total_row, has_total_col=t.has_total_col))
        assert ours == lp_attack(t)
        assert single_equation_attack(t) <= ours
