"""No suppressed figure can be recovered by combining what is published, whatever the answers.

Hypothesis generates closing questionnaires (mentors and mentees, skewed or spread answers, a
multiple-choice item, k of 3 to 6) and this test publishes them exactly as the service does: the
report's satisfaction section (respondents, item tables in points or bands, scale means, shares that
agree, benefits) and ``publish_items`` (what ``/items`` serves). An attacker then writes every published
figure as an integer linear constraint on the true counts (per item, role and point; per option and role;
respondents per role): every published cell of every table, row, column and total sums, band sums, each
published mean times its n, each share times its n. The real answers must satisfy all of that. For every
hidden cell, ``scipy.optimize.milp`` then looks for the smallest and, if that is the true value, the
largest value it can take given all of that; if both are the true value, the cell is recoverable and the
test fails.

Pure analytics (no database): ``/items`` and the report call the same function, which the API tests check.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from services.evaluation.domain import (
    Administration,
    DisclosurePolicy,
    ItemType,
    ProgramInfo,
    ReportInput,
    Response,
    Role,
    build_report,
    closing_assessment,
    publish_items,
)
from services.evaluation.domain.disclosure import ProtectedTable

INSTRUMENT = closing_assessment()
LIKERT = [i for i in INSTRUMENT.items() if i.type is ItemType.LIKERT]
CHOICE = INSTRUMENT.item("benefits.mentor")
ROLES = ("mentor", "mentee")


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[Response], DisclosurePolicy]:
    k = draw(st.integers(3, 6))
    mentors = draw(st.integers(0, 18))
    mentees = draw(st.integers(1, 18))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["agree", "spread", "two_points", "extreme"]))
    probs = {"agree": [0.03, 0.05, 0.12, 0.4, 0.4], "spread": [0.2] * 5, "two_points": [0, 0.5, 0.5, 0, 0],
             "extreme": [0.0, 0.0, 0.0, 0.05, 0.95]}[shape]
    options = [o.value for o in CHOICE.options]
    out = []
    for i in range(mentors + mentees):
        role = Role.MENTOR if i < mentors else Role.MENTEE
        answers: dict[str, object] = {it.id: int(rng.choice(5, p=probs)) + 1 for it in LIKERT}
        if role is Role.MENTOR:
            answers[CHOICE.id] = [o for o in options if rng.random() < 0.5] or [options[0]]
        out.append(Response(f"p{i}", role, answers))
    return out, DisclosurePolicy(k=k, k_text=max(10, k))


class Attack:
    """Integer unknowns: x[item, role, point], y[option, role] (chose), n[role]."""

    def __init__(self, total: int) -> None:
        self.index: dict[tuple, int] = {}
        self.rows: list[dict[int, float]] = []
        self.rhs: list[tuple[float, float]] = []
        self.ub = total
        self._constraints: list[LinearConstraint] | None = None
        for r in ROLES:
            self.var(("n", r))

    def var(self, key: tuple) -> int:
        return self.index.setdefault(key, len(self.index))

    def equal(self, terms: dict[int, float], low: float, high: float | None = None) -> None:
        self.rows.append(terms)
        self.rhs.append((low, low if high is None else high))

    def _solve(self, objective: np.ndarray) -> np.ndarray:
        """An integer solution of every published figure minimising ``objective``."""
        n = len(self.index)
        if self._constraints is None:  # every figure is written before the first solve
            a = np.zeros((len(self.rows), n))
            for i, row in enumerate(self.rows):
                for j, v in row.items():
                    a[i, j] += v
            self._constraints = [LinearConstraint(a, [r[0] for r in self.rhs], [r[1] for r in self.rhs])] if self.rows else []
        found = milp(objective, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.full(n, self.ub)),
                     constraints=self._constraints)
        assert found.status == 0, found.message
        return np.round(found.x)

    def another_value(self, terms: dict[int, float], true: int) -> np.ndarray | None:
        """A solution in which the expression is not ``true`` (the smallest value it can take, else the
        largest), or None when ``true`` is the only value it can take."""
        c = np.zeros(len(self.index))
        for j, v in terms.items():
            c[j] += v
        for sign in (1, -1):
            x = self._solve(sign * c)
            if round(c @ x) != true:
                return x
        return None

    def truth(self, responses: list[Response]) -> np.ndarray:
        """The value of every unknown in the real answers."""
        x = np.zeros(len(self.index))
        for key, j in self.index.items():
            kind, *rest = key
            if kind == "n":
                x[j] = sum(1 for r in responses if r.role.value == rest[0])
            elif kind == "x":
                item, role, point = rest
                x[j] = sum(1 for r in responses if r.role.value == role and r.answers[item] == point)
            else:
                option, role = rest
                x[j] = sum(1 for r in responses if r.role.value == role and option in r.answers[CHOICE.id])
        return x

    def holds(self, x: np.ndarray) -> bool:
        return all(low - 1e-9 <= sum(v * x[j] for j, v in row.items()) <= high + 1e-9
                   for row, (low, high) in zip(self.rows, self.rhs, strict=True))


def value(terms: dict[int, float], x: np.ndarray) -> int:
    return round(sum(v * x[j] for j, v in terms.items()))


def cell_terms(att: Attack, item_id: str, t: ProtectedTable, row: str, col: str, bands: dict[str, tuple[int, ...]]) -> dict[int, float]:
    """The linear expression of one cell of an item table in the unknowns."""
    rows = [r for r in ROLES if r in t.row_labels] if row == "all" else [row]
    terms: dict[int, float] = {}
    for r in rows:
        if col == "all":
            terms[att.var(("n", r))] = terms.get(att.var(("n", r)), 0) + 1
        else:
            for p in bands[col]:
                j = att.var(("x", item_id, r, p))
                terms[j] = terms.get(j, 0) + 1
    return terms


def bands_of(t: ProtectedTable) -> dict[str, tuple[int, ...]]:
    return {c: tuple(int(p) for p in c.split("-")) for c in t.col_labels if c != "all"}


@seed(20261207)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts())
def test_no_hidden_cell_can_be_recovered_from_everything_published(data: tuple[list[Response], DisclosurePolicy]) -> None:
    responses, policy = data
    att = Attack(len(responses))
    hidden: list[tuple[str, dict[int, float], int]] = []
    report = build_report(ReportInput(program=ProgramInfo(program_id="p", name="p", institution="i"),
                                      closing=Administration(INSTRUMENT, "closing", tuple(responses))), policy=policy)
    sat = report.satisfaction
    assert sat is not None
    split, items = publish_items(INSTRUMENT, responses, policy=policy)
    truth = {r: sum(1 for x in responses if x.role.value == r) for r in ROLES}

    # every respondent answers every Likert item (the instrument requires them): the item rows sum to n
    for it in LIKERT:
        for r in ROLES:
            att.equal({**{att.var(("x", it.id, r, p)): 1 for p in range(1, 6)}, att.var(("n", r)): -1}, 0)
    for split_table in (split, sat.respondents):
        for c, g in enumerate(split_table.col_labels):
            terms = {att.var(("n", r)): 1 for r in (ROLES if g == "all" else (g,))}
            if split_table.hidden[0][c]:
                hidden.append((f"respondents/{g}", terms, split_table.values[0][c]))
            else:
                att.equal(terms, split_table.values[0][c])

    tables = [(p.item_id, p.table) for p in items if p.table is not None] + [(i.item_id, i.table) for i in sat.items]
    for item_id, t in tables:
        bands = bands_of(t)
        for ri, row in enumerate(t.row_labels):
            for ci, col in enumerate(t.col_labels):
                terms = cell_terms(att, item_id, t, row, col, bands)
                if t.hidden[ri][ci]:
                    hidden.append((f"{item_id}/{row}/{col}", terms, t.values[ri][ci]))
                else:
                    att.equal(terms, t.values[ri][ci])
    for p in items:
        for o in p.options:
            t = o.table
            for r in ROLES:
                if r in t.row_labels or r not in p.groups:
                    continue
            for ri, row in enumerate(t.row_labels):
                rows = [g for g in p.groups] if row == "all" else [row]
                for ci, col in enumerate(t.col_labels):
                    terms: dict[int, float] = {}
                    for g in rows:
                        y, n = att.var(("y", o.option, g)), att.var(("n", g))
                        if col == "chose":
                            terms[y] = terms.get(y, 0) + 1
                        elif col == "not":
                            terms[n] = terms.get(n, 0) + 1
                            terms[y] = terms.get(y, 0) - 1
                        else:
                            terms[n] = terms.get(n, 0) + 1
                    if t.hidden[ri][ci]:
                        hidden.append((f"{p.item_id}/{o.option}/{row}/{col}", terms, t.values[ri][ci]))
                    else:
                        att.equal(terms, t.values[ri][ci])
    # each published mean times its n (scores are the points: no item of these scales is reversed), and each
    # published share of agreement times its n (rounding to the nearest integer: the counts are integers)
    for sub in sat.subscales:
        for g in (*ROLES, "all"):
            rows = ROLES if g == "all" else (g,)
            n_answers = sum(truth[r] for r in rows) * len(INSTRUMENT.subscale(sub.id).items)
            if sub.means[g] is not None:
                terms = {att.var(("x", i, r, p)): p for i in INSTRUMENT.subscale(sub.id).items for r in rows for p in range(1, 6)}
                d = sub.decimals.get(g)
                if d is None:  # published exactly (every answer behind it is published)
                    att.equal(terms, round(sub.means[g] * n_answers))
                else:  # printed at d decimals: the sum lies within half a unit of the last digit, times its n
                    h = 0.5 * 10**-d
                    att.equal(terms, math.ceil((sub.means[g] - h) * n_answers - 1e-9),
                              math.floor((sub.means[g] + h) * n_answers + 1e-9))
            if sub.agree[g] is not None:
                terms = {att.var(("x", i, r, p)): 1 for i in INSTRUMENT.subscale(sub.id).items for r in rows for p in (4, 5)}
                att.equal(terms, round(sub.agree[g] * n_answers))
    # the attacker's model is true of the real answers: every published figure and every hidden value
    real = att.truth(responses)
    assert att.holds(real)
    for label, terms, true_value in hidden:
        assert value(terms, real) == true_value, label
    # each hidden cell takes another value in some solution; one solution found for a cell usually moves
    # many others as well, so a cell is solved for only while no solution found so far has moved it
    pending = hidden
    while pending:
        label, terms, true_value = pending[0]
        other = att.another_value(terms, true_value)
        assert other is not None, f"{label} is recoverable: it can only be {true_value} (k={policy.k})"
        pending = [h for h in pending if value(h[1], other) == h[2]]
