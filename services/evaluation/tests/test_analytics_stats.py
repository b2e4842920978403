"""Statistics against values worked out by hand or by exact enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from services.evaluation.domain import (
    AGREEMENT_5,
    Agreement,
    DyadAchievement,
    Instrument,
    Item,
    ItemType,
    Option,
    Response,
    Role,
    Section,
    Subscale,
    Text,
    Theme,
    ThemeCoding,
    achievement_comparison,
    cohen_kappa,
    exact_signed_rank_p,
    item_distributions,
    normalise_term,
    paired_change,
    rank_biserial,
    rank_biserial_from_counts,
    signed_rank_sums,
    skill_changes,
    stop_words,
    term_frequencies,
    theme_counts,
)
from services.evaluation.domain.instruments import answer_matrix, likert_ids, score_matrix

T = Text


def enumerate_p(ranks: list[float], w_plus: float) -> float:
    """Two-sided exact p: share of the 2^n sign patterns at least as far from
    the centre as the observed W+."""
    total = sum(ranks)
    centre = total / 2
    extreme = 0
    for signs in itertools.product((0, 1), repeat=len(ranks)):
        w = sum(r for r, s in zip(ranks, signs, strict=True) if s)
        extreme += abs(w - centre) >= abs(w_plus - centre) - 1e-9
    return extreme / 2 ** len(ranks)


def test_wilcoxon_without_ties_by_hand() -> None:
    before = np.array([3, 3, 3, 1, 1, 1], dtype=float)
    after = before + np.array([2, -1, 3, 4, 5, 6])
    # |d| ranks: 1 -> 1 (negative), 2 -> 2, 3 -> 3, 4 -> 4, 5 -> 5, 6 -> 6
    # W- = 1, W+ = 20; only {} and {1} have W+ <= 1, so p = 2 * 2 / 64 = 0.0625.
    c = paired_change(before, after)
    assert (c.w_plus, c.w_minus, c.statistic) == (20.0, 1.0, 1.0)
    assert c.p_value == pytest.approx(0.0625)
    assert c.p_value == pytest.approx(enumerate_p([1, 2, 3, 4, 5, 6], 20))
    assert c.p_method == "exact"
    assert c.rank_biserial == pytest.approx((20 - 1) / 21)
    assert c.mean_change == pytest.approx(19 / 6)
    res = sps.wilcoxon(after - before)
    assert (res.statistic, res.pvalue) == (pytest.approx(1.0), pytest.approx(0.0625))


def test_wilcoxon_with_ties_and_zeros_by_enumeration() -> None:
    d = np.array([1, 1, 2, -1, 3, 2, 0, 2], dtype=float)
    before = {f"p{i}": 2.0 for i in range(len(d))}
    after = {f"p{i}": 2.0 + x for i, x in enumerate(d)}
    after["only-post"] = 5.0  # not paired, ignored
    c = paired_change(before, after)
    # zero dropped; |d| = 1,1,2,1,3,2,2 -> 1s take ranks 1-3 (2 each), 2s ranks 4-6 (5 each), 3 rank 7
    ranks = [2, 2, 5, 2, 7, 5, 5]
    assert (c.n_pairs, c.n_zero, c.n_nonzero) == (8, 1, 7)
    assert (c.w_plus, c.w_minus) == (26.0, 2.0)
    assert c.rank_biserial == pytest.approx((26 - 2) / 28)
    # W+ <= 2: {}, and each of the three rank-2 values alone -> 4 patterns; as many at >= 26
    assert c.p_value == pytest.approx(8 / 128)
    assert c.p_value == pytest.approx(enumerate_p(ranks, 26))
    assert c.p_method == "exact_ties"
    perm = sps.wilcoxon(d[d != 0], method=sps.PermutationMethod(n_resamples=np.inf))
    assert c.p_value == pytest.approx(perm.pvalue)


@pytest.mark.parametrize("seed", range(6))
def test_exact_tied_p_matches_scipy_exhaustive_permutation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = rng.integers(-3, 5, size=9).astype(float)
    d[d == 0] = 1
    perm = sps.wilcoxon(d, method=sps.PermutationMethod(n_resamples=np.inf))
    assert exact_signed_rank_p(d) == pytest.approx(perm.pvalue)


def test_large_samples_use_the_normal_approximation() -> None:
    rng = np.random.default_rng(1)
    b = rng.integers(1, 6, 300).astype(float)
    a = np.clip(b + rng.integers(-1, 3, 300), 1, 5)
    c = paired_change(b, a)
    d = a - b
    assert c.p_method == "normal"
    assert c.p_value == pytest.approx(sps.wilcoxon(d[d != 0], method="asymptotic").pvalue)


def test_small_and_degenerate_samples_say_why() -> None:
    empty = paired_change({}, {})
    assert empty.n_pairs == 0 and empty.p_value is None and empty.p_reason == "no_pairs"
    same = paired_change(np.ones(8), np.ones(8))
    assert same.p_value is None and same.p_reason == "no_change" and same.rank_biserial is None
    five = paired_change(np.zeros(7), np.array([1, 2, 3, 4, 5, 0, 0], dtype=float))
    assert five.p_value is None and five.p_reason == "too_few_nonzero"
    assert five.rank_biserial == 1.0 and five.rank_biserial_ci is None and five.ci_reason == "too_few_nonzero"
    assert five.mean_change == pytest.approx(15 / 7)


def test_near_equal_float_differences_stay_tied() -> None:
    before = np.array([3, 4, 7, 3, 4, 7]) / 3
    after = np.array([4, 5, 8, 6, 7, 10]) / 3
    d = after - before
    assert len(set(d[:3])) == 3  # three spellings of 1/3 in floating point
    # rounded: three ties at 1/3 (ranks 1-3 -> 2 each), three at 1 (ranks 4-6 -> 5 each)
    c = paired_change(before, after)
    assert (c.w_plus, c.w_minus) == (21.0, 0.0)
    assert c.p_method == "exact_ties" and c.p_value == pytest.approx(2 / 64)


def test_rank_biserial_by_hand() -> None:
    d = np.array([-2, 1, 3, 0, 4.0])
    # ranks of |d| without the zero: 1 -> 1, 2 -> 2 (negative), 3 -> 3, 4 -> 4
    assert signed_rank_sums(d) == (8.0, 2.0)
    assert rank_biserial(d) == pytest.approx((8 - 2) / 10)
    assert rank_biserial(np.zeros(3)) is None


def test_rank_biserial_from_counts_equals_ranking_the_sample() -> None:
    rng = np.random.default_rng(5)
    values = np.array([-1.0, -1 / 3, 0.0, 1 / 3, 2 / 3, 1.0, 2.0])
    counts = rng.integers(0, 6, size=(200, values.size))
    fast = rank_biserial_from_counts(values, counts)
    for row, r in zip(counts, fast, strict=True):
        sample = np.repeat(values, row)
        expected = rank_biserial(sample)
        assert (np.isnan(r) and expected is None) or r == pytest.approx(expected)


def test_bootstrap_is_seeded_and_covers_the_estimate() -> None:
    rng = np.random.default_rng(3)
    b = rng.integers(1, 6, 60).astype(float)
    a = np.clip(b + rng.integers(-1, 3, 60), 1, 5)
    one = paired_change(b, a, seed=11, label="x")
    two = paired_change(b, a, seed=11, label="x")
    other = paired_change(b, a, seed=12, label="x")
    assert one.rank_biserial_ci == two.rank_biserial_ci and one.mean_change_ci == two.mean_change_ci
    assert one.rank_biserial_ci != other.rank_biserial_ci
    lo, hi = one.rank_biserial_ci
    assert lo < one.rank_biserial < hi and -1 <= lo and hi <= 1
    lo, hi = one.mean_change_ci
    assert lo < one.mean_change < hi
    assert one.n_boot == 2000


def skills_instrument() -> Instrument:
    items = tuple(Item(id=f"q{i}", type=ItemType.LIKERT, text=T(f"q{i}", f"q{i}"), scale=AGREEMENT_5) for i in range(2))
    return Instrument(key="s", version=1, title=T("s", "s"), description=T("s", "s"),
                      sections=(Section(id="s", title=T("s", "s"), items=items),),
                      subscales=(Subscale(id="skill", label=T("Habilidad", "Skill"), items=("q0", "q1")),))


def test_skill_changes_pair_by_respondent_and_split_by_role() -> None:
    ins = skills_instrument()
    pre = [Response(f"p{i}", Role.MENTEE if i < 6 else Role.MENTOR, {"q0": 2, "q1": 2}) for i in range(9)]
    post = [Response(f"p{i}", Role.MENTEE if i < 6 else Role.MENTOR, {"q0": 3 + (i % 2), "q1": 3}) for i in range(8)]
    out = {c.group: c.change for c in skill_changes(ins, pre, post)}
    assert out["mentee"].n_pairs == 6 and out["mentor"].n_pairs == 2 and out["all"].n_pairs == 8
    # mentee changes: 1, 1.5, 1, 1.5, 1, 1.5 -> mean 1.25
    assert out["mentee"].mean_change == pytest.approx(1.25)
    with pytest.raises(ValueError, match="twice"):
        skill_changes(ins, pre + pre[:1], post)


def test_item_distributions_by_role() -> None:
    ins = Instrument(
        key="d", version=1, title=T("d", "d"), description=T("d", "d"),
        sections=(Section(id="s", title=T("s", "s"), items=(
            Item(id="l", type=ItemType.LIKERT, text=T("l", "l"), scale=AGREEMENT_5),
            Item(id="m", type=ItemType.MULTIPLE_CHOICE, text=T("m", "m"),
                 options=(Option("x", T("x", "x")), Option("y", T("y", "y")))),
            Item(id="n", type=ItemType.NUMERIC, text=T("n", "n")),
        )),),
    )
    responses = [
        Response("a", Role.MENTOR, {"l": 5, "m": ("x", "y"), "n": 10}),
        Response("b", Role.MENTEE, {"l": 5, "m": ("y",), "n": 20}),
        Response("c", Role.MENTEE, {"l": 1, "n": 40}),
    ]
    dl, dm, dn = item_distributions(ins, responses)
    assert dl.counts == {"mentor": (0, 0, 0, 0, 1), "mentee": (1, 0, 0, 0, 1), "all": (1, 0, 0, 0, 2)}
    assert dm.counts["all"] == (1, 2) and dm.respondents == {"mentor": 1, "mentee": 1, "all": 2}
    assert dn.numeric["mentee"].mean == 30 and dn.numeric["all"].median == 20


def test_achievement_measured_against_perceived() -> None:
    dyads = [
        DyadAchievement(f"d{i}", m, m + g1, m + g2)
        for i, (m, g1, g2) in enumerate([(50, 20, 5), (60, 10, 0), (40, 25, -5), (70, 5, 10), (30, 30, 5), (80, 10, 5), (20, 15, 0)])
    ]
    comp = achievement_comparison(dyads)
    assert [d.measured for d in comp.dyads] == [20, 30, 40, 50, 60, 70, 80]
    gap = comp.gaps["mentee_vs_measured"]
    assert gap.mean_change == pytest.approx(115 / 7) and gap.w_minus == 0 and gap.rank_biserial == 1.0
    assert comp.gaps["mentee_vs_mentor"].mean_change == pytest.approx((115 - 20) / 7)
    assert comp.summaries["measured"].median == 50
    assert comp.spearman["measured~mentee"] is not None
    with pytest.raises(ValueError):
        achievement_comparison([DyadAchievement("x", 120, None, None)])


def test_term_frequencies_accents_case_and_stop_words() -> None:
    texts = [
        "La investigación y la Confianza",
        "Más confianza para la INVESTIGACION, and the research",
        "Confíanza en mí misma: investigación",
        "The research of the network",
    ]
    terms = {t.key: t for t in term_frequencies(texts)}
    assert terms["investigacion"].count == 3 and terms["investigacion"].term == "investigación"
    assert terms["confianza"].count == 3 and terms["confianza"].documents == 3 and terms["confianza"].term == "confianza"
    assert terms["research"].count == 2
    for stop in ("la", "and", "the", "para", "mas", "misma", "of"):
        assert stop not in terms
    assert "network" in terms
    only_shared = {t.key for t in term_frequencies(texts, min_documents=2)}
    assert only_shared == {"investigacion", "confianza", "research"}
    assert normalise_term("ÁRBOL") == "arbol" and "tambien" in stop_words("es") and "the" in stop_words("en")
    assert [t.key for t in term_frequencies(texts, extra_stop_words=["Investigación"], top=1)] == ["confianza"]


def test_theme_counts_carry_the_themes_coders_agreed_on() -> None:
    themes = [Theme("a", T("A", "A")), Theme("b", T("B", "B"))]
    codings = [
        ThemeCoding("i1", Role.MENTEE, frozenset({"a"}), "e1"),
        ThemeCoding("i1", Role.MENTEE, frozenset({"a", "b"}), "e2"),
        ThemeCoding("i2", Role.MENTOR, frozenset({"b"}), "e1"),
        ThemeCoding("i3", Role.MENTEE, frozenset(), "e1"),
    ]
    s = theme_counts(codings, themes)
    assert s.coded == {"mentor": 1, "mentee": 2, "all": 3}
    a, b = s.counts
    assert a.responses == {"mentor": 0, "mentee": 1, "all": 1}
    # i1: only e2 named b, so i1 does not carry it (no consensus); i2, coded once, carries its coder's b
    assert b.responses == {"mentor": 1, "mentee": 0, "all": 1}
    # one shared unit (i1): both marked a (kappa undefined: a single mark); they split on b: p_o = 0, p_e = 0
    assert s.agreement == {"a": None, "b": 0.0} and s.evaluators == 2
    assert s.agreements["a"] == Agreement(kappa=None, pairs=0, units=1, observed=1.0)
    with pytest.raises(ValueError, match="unknown themes"):
        theme_counts([ThemeCoding("x", Role.MENTOR, frozenset({"zzz"}))], themes)
    with pytest.raises(ValueError, match="unknown themes"):
        theme_counts([ThemeCoding("x", Role.MENTOR, frozenset(), "e1", units=(("q1", frozenset({"zzz"})),))], themes)
    with pytest.raises(ValueError, match="parent must be a theme without parent"):
        theme_counts([], [Theme("a", T("A", "A")), Theme("b", T("B", "B"), parent="a"), Theme("c", T("C", "C"), parent="b")])
    with pytest.raises(ValueError, match="coded twice"):
        theme_counts([ThemeCoding("i1", Role.MENTOR, frozenset(), "e1"), ThemeCoding("i1", Role.MENTOR, frozenset(), "e1")], themes)


def _units(marks: str, code: str = "g") -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((f"q{i + 1}", frozenset({code}) if m == "1" else frozenset()) for i, m in enumerate(marks))


def test_agreement_is_cohens_kappa_over_the_units_both_coded() -> None:
    # Ten answers (two interviews of five). Coder 1: yes on answers 1-5; coder 2: yes on 1-4 and 10.
    # p_o = 8/10; each coder says yes half the time, so p_e = .5 * .5 + .5 * .5 = .5; kappa = (.8 - .5) / (1 - .5) = .6
    themes = [Theme("g", T("Roles de género", "Gendered roles")), Theme("harassment", T("Acoso", "Harassment"), parent="g")]
    c1 = ("11111", "00000")
    c2 = ("11110", "00001")
    codings = []
    for n, (x, y) in enumerate(zip(c1, c2, strict=True)):
        role = Role.MENTOR if n == 0 else Role.MENTEE
        ux, uy = _units(x), _units(y)
        if n == 0:  # coder 1 names the sub-theme on answer 3: its parent counts for her too
            ux = tuple((q, frozenset({"harassment"}) if q == "q3" else codes) for q, codes in ux)
        codings.append(ThemeCoding(f"int{n}", role, frozenset().union(*(c for _, c in ux)), "c1", units=ux))
        codings.append(ThemeCoding(f"int{n}", role, frozenset().union(*(c for _, c in uy)), "c2", units=uy))
    s = theme_counts(codings, themes)
    assert s.agreement["g"] == pytest.approx(0.6)
    assert s.agreements["g"] == Agreement(kappa=pytest.approx(0.6), pairs=1, units=10, observed=0.8)
    # harassment: coder 1 once in ten, coder 2 never: p_o = .9, p_e = .1 * 0 + .9 * 1 = .9, kappa = 0
    assert s.agreement["harassment"] == pytest.approx(0.0)
    # int0: both named g (coder 1 through its sub-theme), only coder 1 the sub-theme; int1: only coder 2 named g
    g, harassment = s.counts
    assert g.responses == {"mentor": 1, "mentee": 0, "all": 1} and harassment.responses["all"] == 0

    # A third coder who agrees with coder 1 everywhere: kappas 0.6 (c1, c2), 1.0 (c1, c3), 0.6 (c2, c3); the mean
    third = [ThemeCoding(c.response_id, c.role, c.themes, "c3", units=c.units) for c in codings if c.evaluator == "c1"]
    s3 = theme_counts([*codings, *third], themes)
    assert s3.agreement["g"] == pytest.approx((0.6 + 1.0 + 0.6) / 3)
    assert s3.agreements["g"].pairs == 3 and s3.agreements["g"].units == 30 and s3.evaluators == 3

    # The lead coder's consensus decides what an interview carries and takes no part in agreement
    consensus = ThemeCoding("int0", Role.MENTOR, frozenset({"harassment"}), "c1", consensus=True)
    s4 = theme_counts([*codings, consensus], themes)
    assert [c.responses["mentor"] for c in s4.counts] == [1, 1]
    assert s4.agreement == s.agreement and s4.evaluators == 2


def test_cohen_kappa_matches_the_formula_and_is_undefined_without_variation() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        a = rng.random(30) < 0.4
        b = np.where(rng.random(30) < 0.8, a, ~a)
        p_o = float(np.mean(a == b))
        p_e = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
        assert cohen_kappa(list(a), list(b)) == pytest.approx((p_o - p_e) / (1 - p_e))
    assert cohen_kappa([True, True], [True, True]) is None and cohen_kappa([], []) is None
    assert cohen_kappa([False, False, False], [False, False, False]) is None
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        cohen_kappa([True], [True, False])


@pytest.mark.parametrize("seed", range(8))
def test_paired_change_from_counts_equals_ranking_the_sample(seed: int) -> None:
    # Differences with zeros, ties, and the same magnitude on both sides (1/3 and -1/3), small and large.
    rng = np.random.default_rng(seed)
    n = int(rng.choice([9, 40, 400]))
    before = rng.integers(3, 13, n) / 3
    after = before + rng.integers(-4, 6, n) / 3
    c = paired_change(before, after, n_boot=200)
    d = np.round(after - before, 9)
    assert (c.w_plus, c.w_minus) == signed_rank_sums(d)
    assert c.n_zero == int((d == 0).sum())
    assert c.rank_biserial == pytest.approx(rank_biserial(d))
    nonzero = d[d != 0]
    if c.p_method == "normal":
        assert c.p_value == pytest.approx(sps.wilcoxon(nonzero, method="asymptotic").pvalue)
    elif c.p_method == "exact_ties":
        assert c.p_value == pytest.approx(exact_signed_rank_p(nonzero))
        assert np.unique(np.abs(nonzero)).size < nonzero.size


def test_item_tables_and_scores_read_one_answer_matrix() -> None:
    ins = skills_instrument()
    responses = [
        Response("a", Role.MENTOR, {"q0": 5, "q1": 4}),
        Response("b", Role.MENTEE, {"q0": 2}),  # q1 unanswered
        Response("c", Role.MENTEE, {"q0": 1, "q1": None}),  # stored as None: unanswered too
        Response("d", Role.MENTEE, {"q0": 3, "q1": 3}),
    ]
    matrix = answer_matrix([r.answers for r in responses], likert_ids(ins))
    assert matrix.item_ids == ("q0", "q1")
    np.testing.assert_array_equal(matrix.values, [[5, 4], [2, np.nan], [1, np.nan], [3, 3]])
    assert item_distributions(ins, responses, answers=matrix) == item_distributions(ins, responses)
    one = score_matrix(ins, [r.answers for r in responses], answers=matrix)
    two = score_matrix(ins, [r.answers for r in responses])
    assert one[0] == two[0] == ("skill",)
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[1][:, 0], [4.5, 2.0, 1.0, 3.0])
    complete = answer_matrix([{"q0": 1, "q1": 2}, {"q0": 3, "q1": 4}], ("q0", "q1"))
    np.testing.assert_array_equal(complete.values, [[1, 2], [3, 4]])
    assert complete.columns(["q1"]).tolist() == [[2], [4]] and complete.columns(["q9"]) is None
    with pytest.raises(ValueError, match="'q0'"):
        item_distributions(ins, [Response("x", Role.MENTOR, {"q0": 7, "q1": 1})])


def test_term_frequencies_count_every_copy_of_a_repeated_answer() -> None:
    texts = ["Más reuniones presenciales."] * 3 + ["Reuniones más cortas", "Reuniones, reuniones y reuniones"]
    terms = {t.key: t for t in term_frequencies(texts)}
    assert (terms["reuniones"].count, terms["reuniones"].documents) == (7, 5)
    assert (terms["presenciales"].count, terms["presenciales"].documents) == (3, 3)
    assert (terms["cortas"].count, terms["cortas"].documents) == (1, 1)
    assert term_frequencies(iter(texts)) == term_frequencies(texts)  # any iterable, read once
