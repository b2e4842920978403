"""The exact audit of means published beside protected tables (:func:`audit_figures`).

* A hand-worked table where a mean printed at one decimal pins a hidden cell, and the same mean
  printed without decimals does not; the report's ladder of precisions follows the audit.
* Tables whose own protection is wrong make the audit fail loudly, not publish.
* The Mexico pilot's shape (15 mentors, 13 mentees, k = 5, four scales of three or four statements
  on five points): the tables have hidden cells and come in bands, and still every per-role mean is
  published, rounded, because the audit proves it safe.
* Seeded random cohorts: everything the satisfaction section publishes is written as integer
  constraints by an attacker independent of the audit (per item, role and point), and no hidden
  cell and no count of a point published only inside a band takes a single value.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from services.evaluation.domain import (
    Administration,
    DisclosurePolicy,
    ItemType,
    ProgramInfo,
    ReportInput,
    Response,
    Role,
    closing_assessment,
    protect_table,
)
from services.evaluation.domain.disclosure import (
    CountTable,
    LinearFigure,
    audit_figures,
    mean_figure,
)
from services.evaluation.domain.satisfaction import WithheldBecause, satisfaction_section

INSTRUMENT = closing_assessment()
LIKERT = [i for i in INSTRUMENT.items() if i.type is ItemType.LIKERT]
ROLES = ("mentor", "mentee")
POINTS = (0, 1, 2, 3, 4)


def one_row(counts: list[int], k: int) -> tuple[CountTable, dict[tuple[int, int, int], int]]:
    t = protect_table([counts], policy=DisclosurePolicy(k=k, k_text=10), row_labels=["mentor"],
                      col_labels=[str(p) for p in range(1, 6)])
    return CountTable.of(t, [(p,) for p in POINTS], 5), {(0, 0, p): c for p, c in enumerate(counts)}


def mentor_mean(counts: list[int], decimals: int) -> tuple[LinearFigure, LinearFigure]:
    exact = Fraction(sum((p + 1) * c for p, c in enumerate(counts)), sum(counts))
    shown = Fraction(round(exact * 10**decimals), 10**decimals)
    return mean_figure("mentor", {(0, 0, p): p + 1 for p in POINTS}, {(0, 0, p): 1 for p in POINTS}, 1, shown, decimals)


def test_a_mean_that_would_pin_a_hidden_cell_is_refused_and_a_coarser_one_is_not() -> None:
    # Ten mentors: 1 answered 3, 2 answered 4, 7 answered 5. k = 3 hides the 1 and the 2; the row total (10)
    # leaves their sum (3) and nothing else: (0, 3), (1, 2), (2, 1), (3, 0) are all possible.
    counts = [0, 0, 1, 2, 7]
    table, truth = one_row(counts, k=3)
    assert [v is None for v in table.published[0]] == [False, False, True, True, False, False]
    assert audit_figures([table], [], bound=10, truth=truth).safe
    # The mean is 4.6. Printed "4.6", it puts the sum of points in (45.5, 46.5): 46 = 35 + 3a + 4b with
    # a + b = 3 gives b = 2, a = 1: both hidden cells are known.
    refused = audit_figures([table], list(mentor_mean(counts, 1)), bound=10, truth=truth)
    assert not refused.safe
    assert set(refused.pinned) == {"table 0 cell (0, 2)", "table 0 cell (0, 3)"}
    # Printed "5", the sum lies in (45, 55): 46 or 47, so (1, 2) and (0, 3) remain.
    assert audit_figures([table], list(mentor_mean(counts, 0)), bound=10, truth=truth).safe
    # Without the true counts to start from, the audit finds the same.
    assert not audit_figures([table], list(mentor_mean(counts, 1)), bound=10).safe


def test_a_count_of_one_point_inside_a_published_band_is_protected_too() -> None:
    # Ten mentors all agree (band 4-5 = 10, published whole in bands): 7 answered 4 and 3 answered 5.
    # The bands say nothing of the split; the mean does: printed "4.3", the sum of points is 43,
    # 40 + (answers at 5), so 3 answered 5, a count under k = 5.
    t = protect_table([[0, 0, 10]], policy=DisclosurePolicy(k=5, k_text=10), row_labels=["mentor"],
                      col_labels=["1-2", "3", "4-5"])
    assert not t.any_hidden
    table = CountTable.of(t, [(0, 1), (2,), (3, 4)], 5)
    counts = [0, 0, 0, 7, 3]
    truth = {(0, 0, p): c for p, c in enumerate(counts)}
    audit = audit_figures([table], list(mentor_mean(counts, 1)), bound=10, truth=truth)
    assert set(audit.pinned) == {"table 0 row 0 point 3", "table 0 row 0 point 4"}
    # Printed "4", the sum lies in 36..44: 0 to 4 answered 5.
    assert audit_figures([table], list(mentor_mean(counts, 0)), bound=10, truth=truth).safe
    # In points, every count is published: the mean adds nothing and there is nothing to audit.
    whole, _ = one_row(counts, k=3)
    whole_truth = {(0, 0, p): c for p, c in enumerate(counts)}
    assert audit_figures([whole], list(mentor_mean(counts, 2)), bound=10, truth=whole_truth).safe


def test_tables_whose_protection_is_wrong_stop_the_audit() -> None:
    # One hidden cell alone on its row: the total gives it away before any mean.
    table = CountTable(((0, 0, None, 4, 5, 10),), ((0,), (1,), (2,), (3,), (4,)), 5, False, True)
    truth = {(0, 0, p): c for p, c in enumerate([0, 0, 1, 4, 5])}
    with pytest.raises(AssertionError, match="protection is wrong"):
        audit_figures([table], list(mentor_mean([0, 0, 1, 4, 5], 0)), bound=10, truth=truth)


# ----------------------------------------------------------------------------- through the report


def cohort(seed: int, mentors: int = 15, mentees: int = 13, skip: float = 0.0) -> list[Response]:
    """Answers that cluster around a person's mood, as satisfaction answers do."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(mentors + mentees):
        role = Role.MENTOR if i < mentors else Role.MENTEE
        mood = rng.choice([2, 3, 4, 5], p=[0.05, 0.2, 0.4, 0.35])
        answers: dict[str, object] = {}
        for it in LIKERT:
            if rng.random() >= skip:
                answers[it.id] = int(np.clip(mood + rng.choice([-2, -1, 0, 1], p=[0.05, 0.2, 0.55, 0.2]), 1, 5))
        out.append(Response(f"p{i}", role, answers))
    return out


def satisfaction(responses: list[Response], k: int = 5):  # type: ignore[no-untyped-def]
    inp = ReportInput(program=ProgramInfo(program_id="p", name="p", institution="i"),
                      closing=Administration(INSTRUMENT, "closing", tuple(responses)))
    sat = satisfaction_section(inp, DisclosurePolicy(k=k, k_text=max(10, k)))
    assert sat is not None
    return sat


def true_mean(responses: list[Response], items: tuple[str, ...], group: str) -> float:
    scores = [np.mean([r.answers[i] for i in items]) for r in responses if group in ("all", r.role.value)]
    return float(np.mean(scores))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_mexico_pilot_publishes_per_role_means(seed: int) -> None:
    responses = cohort(seed)
    sat = satisfaction(responses)
    assert sat.respondents.cell("n", "mentor") == 15 and sat.respondents.cell("n", "mentee") == 13
    # The tables have hidden answers (small counts at some points): the items come in bands, with hidden cells.
    assert all(it.collapsed for it in sat.items)
    assert any(any(any(row) for row in it.table.hidden) for it in sat.items)
    assert len(sat.subscales) == 4
    for sub in sat.subscales:
        items = INSTRUMENT.subscale(sub.id).items
        assert sub.withheld == () and dict(sub.withheld_because) == {}
        for g in ("mentor", "mentee", "all"):
            d = sub.decimals[g]
            assert sub.means[g] is not None and d is not None, (sub.id, g)
            assert abs(sub.means[g] - true_mean(responses, items, g)) <= 0.5 * 10**-d + 1e-12
            assert sub.means[g] == round(sub.means[g], d)


def test_a_group_that_skipped_items_has_its_mean_withheld_and_says_why() -> None:
    responses = cohort(4, skip=0.15)
    sat = satisfaction(responses)
    reasons = {(sub.id, g): why for sub in sat.subscales for g, why in sub.withheld_because.items()}
    assert reasons and set(reasons.values()) == {WithheldBecause.PARTIAL.value}
    for sub in sat.subscales:
        assert set(sub.withheld) == set(sub.withheld_because)
        for g in sub.withheld:
            assert sub.means[g] is None


# ----------------------------------------------------------------------------- an independent attacker


class Attacker:
    """Unknowns x[item, role, point] of one scale's items (every respondent answers every item: rows sum
    to n[role], published). The scales share no item, so nothing published ties one scale's unknowns to
    another's: attacking each scale alone is attacking everything."""

    def __init__(self, n: dict[str, int], items: tuple[str, ...]) -> None:
        self.index: dict[tuple[str, str, int], int] = {}
        for it in items:
            for r in ROLES:
                for p in range(1, 6):
                    self.index[(it, r, p)] = len(self.index)
        self.a: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.ub = sum(n.values())

    def row(self, terms: dict[tuple[str, str, int], float], lo: float, hi: float) -> None:
        v = np.zeros(len(self.index))
        for key, c in terms.items():
            v[self.index[key]] += c
        self.a.append(v)
        self.lo.append(lo)
        self.hi.append(hi)

    def open(self, terms: dict[tuple[str, str, int], float], true: int) -> bool:
        """Whether the expression can take a value other than ``true`` (which must be possible)."""
        c = np.zeros(len(self.index))
        for key, v in terms.items():
            c[self.index[key]] += v
        cons = LinearConstraint(np.array(self.a), np.array(self.lo), np.array(self.hi))
        box = Bounds(np.zeros(len(c)), np.full(len(c), float(self.ub)))
        low = milp(c, integrality=np.ones(len(c)), bounds=box, constraints=cons)
        assert low.status == 0 and round(low.fun) <= true
        if round(low.fun) < true:
            return True
        high = milp(-c, integrality=np.ones(len(c)), bounds=box, constraints=cons)
        assert high.status == 0 and round(-high.fun) >= true
        return round(-high.fun) > true


@pytest.mark.parametrize("case", range(8))
def test_random_cohorts_keep_every_hidden_answer_open(case: int) -> None:
    rng = np.random.default_rng(7000 + case)
    k = int(rng.integers(3, 7))
    largest = 9 if case % 2 else 19  # small groups too: there the coarser rounding is what passes
    mentors, mentees = int(rng.integers(k, largest)), int(rng.integers(k, largest))
    attack(cohort(int(rng.integers(0, 2**31)), mentors, mentees), k)


def test_small_groups_get_their_means_without_decimals_when_one_decimal_would_tell() -> None:
    # Five mentors and five mentees, k = 3: for some scales a mean at one decimal is refused by the audit
    # and the same mean as a whole number passes (the ladder of precisions), which the attacker confirms.
    responses = cohort(48, 5, 5)
    sat = attack(responses, 3)
    coarse = [(sub.id, g) for sub in sat.subscales for g, d in sub.decimals.items() if d == 0]
    assert coarse
    for sub in sat.subscales:
        for g, d in sub.decimals.items():
            if d == 0:
                assert sub.means[g] == round(true_mean(responses, INSTRUMENT.subscale(sub.id).items, g))


def attack(responses: list[Response], k: int):  # type: ignore[no-untyped-def]
    """Publish the section, then try to solve for every hidden cell and every point count inside a band."""
    sat = satisfaction(responses, k=k)
    mentors = sum(r.role is Role.MENTOR for r in responses)
    mentees = len(responses) - mentors
    n = {"mentor": mentors, "mentee": mentees}
    attackers = {sub.id: Attacker(n, sub.items) for sub in INSTRUMENT.subscales}
    scale_of = {i: sub.id for sub in INSTRUMENT.subscales for i in sub.items}
    for sub in INSTRUMENT.subscales:
        for it in sub.items:
            for r in ROLES:
                attackers[sub.id].row({(it, r, p): 1 for p in range(1, 6)}, n[r], n[r])
    targets: list[tuple[str, str, dict[tuple[str, str, int], float], int]] = []
    for table in sat.items:
        t = table.table
        att = attackers[scale_of[table.item_id]]
        bands = {c: tuple(int(p) for p in c.split("-")) for c in t.col_labels if c != "all"}
        for ri, row in enumerate(t.row_labels):
            rows = ROLES if row == "all" else (row,)
            for ci, col in enumerate(t.col_labels):
                pts = range(1, 6) if col == "all" else bands[col]
                terms = {(table.item_id, r, p): 1.0 for r in rows for p in pts}
                if t.hidden[ri][ci]:
                    targets.append((scale_of[table.item_id], f"{table.item_id}/{row}/{col}", terms, t.values[ri][ci]))
                else:
                    att.row(terms, t.values[ri][ci], t.values[ri][ci])
                if col != "all" and len(pts) > 1 and row != "all" and (t.hidden[ri][ci] or t.values[ri][ci]):
                    for p in pts:  # a count of one point inside a band
                        true = sum(1 for x in responses if x.role.value == row and x.answers[table.item_id] == p)
                        targets.append((scale_of[table.item_id], f"{table.item_id}/{row}/point {p}",
                                        {(table.item_id, row, p): 1.0}, true))
    published_means = 0
    for sub in sat.subscales:
        items = INSTRUMENT.subscale(sub.id).items
        att = attackers[sub.id]
        for g in (*ROLES, "all"):
            rows = ROLES if g == "all" else (g,)
            n_answers = sum(n[r] for r in rows) * len(items)
            if sub.means[g] is not None:
                published_means += 1
                terms = {(i, r, p): float(p) for i in items for r in rows for p in range(1, 6)}
                d = sub.decimals[g]
                h = 0.0 if d is None else 0.5 * 10**-d
                att.row(terms, math.ceil((sub.means[g] - h) * n_answers - 1e-9),
                        math.floor((sub.means[g] + h) * n_answers + 1e-9))
            if sub.agree[g] is not None:
                terms = {(i, r, p): 1.0 for i in items for r in rows for p in (4, 5)}
                att.row(terms, round(sub.agree[g] * n_answers), round(sub.agree[g] * n_answers))
    assert published_means, "nothing published: the case proves nothing"
    for scale, label, terms, true in targets:
        assert attackers[scale].open(terms, true), f"{label} is recoverable: it can only be {true} (k={k})"
    return sat


def test_the_page_prints_each_mean_at_the_decimals_it_was_published_at() -> None:
    """A mean proven safe at one decimal reads "4.1" on the page, never "4.10"
    (which would claim a precision the audit did not allow), and the note says
    how means are published."""
    import re

    from services.evaluation.domain.page import page_context
    from services.evaluation.domain.report import build_report

    responses = cohort(1)
    inp = ReportInput(program=ProgramInfo(program_id="p", name="p", institution="i"),
                      closing=Administration(INSTRUMENT, "closing", tuple(responses)))
    report = build_report(inp, policy=DisclosurePolicy(k=5, k_text=10), n_boot=50)
    assert report.satisfaction is not None
    published = {sub.id: sub for sub in report.satisfaction.subscales}
    context = page_context(report, {}, "en")
    rows = context["satisfaction"]["subscales"]
    assert context["satisfaction"]["rounded"]
    for row, sub in zip(rows, published.values(), strict=True):
        for cell, g in zip(row[1:4], ("mentor", "mentee", "all"), strict=True):
            d = sub.decimals[g]
            assert re.fullmatch(rf"\d+\.\d{{{d}}}" if d else r"\d+", str(cell.text)), (cell.text, d)
