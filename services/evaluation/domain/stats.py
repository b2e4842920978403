"""Statistics of an evaluation, with numpy and scipy. Pure functions on plain data.

Item distributions
    :func:`item_distributions` counts the answers of every closed item per
    category for mentors, mentees and everyone (``GROUPS``); numeric items get
    a :class:`Summary` per group.

Pre/post change (:func:`paired_change`, :func:`skill_changes`)
    Pairs are matched by respondent key (a person id or the keyed pseudonym of
    an anonymous administration). ``d = after - before``.

    * Wilcoxon signed-rank test, two-sided, zero differences dropped
      (Wilcoxon's convention; ``n_zero`` says how many). ``W+``/``W-`` are the
      sums of the ranks of ``|d|`` (average ranks for ties) of the positive and
      negative differences; scipy's statistic is ``min(W+, W-)``.
    * p-value from ``scipy.stats.wilcoxon``: its exact null distribution when
      the non-zero ``|d|`` are all distinct and at most 50, its tie-corrected
      normal approximation above 50. With ties and at most 50 non-zero
      differences scipy's exact tables do not apply and its exhaustive
      permutation costs 2^n; there the exact null distribution *conditional on
      the observed ranks* is enumerated by dynamic programming over the doubled
      midranks (O(n^2); the tests check it equals scipy's exhaustive
      permutation). ``p_method`` names which one was used.
    * No p-value (``None`` with ``p_reason``) when there are no pairs, when every
      difference is zero, or when fewer than ``min_nonzero`` (6) differences are
      non-zero: with 5 or fewer, no arrangement can reach two-sided p < 0.05
      (the smallest attainable p is 2 / 2^n >= 0.0625).
    * ``p_method``, ``p_reason`` and ``ci_reason`` are codes (``P_METHODS``,
      ``REASONS``), not sentences: the report words them in its reader's language.
    * Effect size: the matched-pairs rank-biserial correlation
      ``r = (W+ - W-) / (W+ + W-)``, from the ranks of ``|d|`` excluding zeros;
      +1 when every change is an increase, -1 when every change is a decrease.
    * Confidence intervals: seeded percentile bootstrap over pairs (default
      2,000 resamples, 95 %), for ``r`` and for the mean change. Resampling
      ``n`` pairs with replacement is the same as drawing the counts of each
      distinct difference from a multinomial; the ranks of ``|d|`` depend only
      on those counts, so each resample's ``W+`` and ``W-`` come from cumulative
      sums over the distinct values (vectorised, no sorting per resample).
      Resamples in which every difference is zero have no ``r`` and are left out
      of its interval.

Objective achievement (:func:`achievement_comparison`)
    measured (from the sessions service) against mentee- and mentor-perceived
    achievement, 0-100, per dyad and as distributions, with the paired gaps
    (perceived - measured, mentee - mentor) through :func:`paired_change`.

Open answers and interview themes are in :mod:`.terms` and :mod:`.themes`.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from .instruments import (
    Answer,
    AnswerMatrix,
    Instrument,
    ItemType,
    Role,
    Text,
    answer_matrix,
    score_matrix,
)

GROUPS: tuple[str, ...] = ("mentor", "mentee", "all")
"""Respondent groups of every split: mentors, mentees and everyone."""

MIN_NONZERO = 6
EXACT_LIMIT = 50

P_METHODS = ("exact", "exact_ties", "normal")
"""How a p-value was found: scipy's exact distribution (no ties), the exact distribution
conditional on tied ranks, scipy's normal approximation with tie correction (over 50 pairs)."""
REASONS = ("no_pairs", "no_change", "too_few_nonzero")
"""Why a p-value, an effect or an interval is missing: no paired answers; every difference is
zero; fewer than ``MIN_NONZERO`` non-zero differences."""


@dataclass(frozen=True)
class Response:
    """One submitted response. ``respondent`` is a person id or, for an
    anonymous administration, the keyed pseudonym that pairs pre and post."""

    respondent: str
    role: Role
    answers: Mapping[str, Answer]


# ----------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    minimum: float | None = None
    maximum: float | None = None


def summarise(values: Iterable[float] | np.ndarray) -> Summary:
    """n, mean, sample sd (``None`` below 2), median, quartiles, range; NaN ignored."""
    a = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return Summary(0)
    q1, med, q3 = np.quantile(a, [0.25, 0.5, 0.75])
    return Summary(
        n=int(a.size),
        mean=float(a.mean()),
        sd=float(a.std(ddof=1)) if a.size > 1 else None,
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        minimum=float(a.min()),
        maximum=float(a.max()),
    )


# ----------------------------------------------------------------------------- item distributions


@dataclass(frozen=True)
class ItemDistribution:
    """Answers to one item. ``counts[group]`` is aligned with ``categories``
    (Likert points or options; for multiple choice, respondents who chose
    each option); ``respondents[group]`` answered the item. Numeric items have
    no categories and a :class:`Summary` per group in ``numeric``."""

    item_id: str
    type: ItemType
    text: Text
    categories: tuple[tuple[str, Text], ...]
    counts: Mapping[str, tuple[int, ...]]
    respondents: Mapping[str, int]
    numeric: Mapping[str, Summary] | None = None


def item_distributions(
    instrument: Instrument, responses: Sequence[Response], item_ids: Sequence[str] | None = None,
    *, answers: AnswerMatrix | None = None,
) -> tuple[ItemDistribution, ...]:
    """Distributions of every closed or numeric item (or of ``item_ids``), split by role; ``answers``,
    when given, is these responses' :func:`~.instruments.answer_matrix` of (at least) the Likert items."""
    chosen = [
        instrument.item(i) for i in item_ids
    ] if item_ids is not None else [i for i in instrument.items() if i.type is not ItemType.OPEN_TEXT]
    mentor = [r.role is Role.MENTOR for r in responses]
    roles = np.array(mentor, dtype=bool)
    likert = [item.id for item in chosen if item.type is ItemType.LIKERT]
    given = answers.columns(likert) if answers is not None else None
    matrix = given if given is not None else answer_matrix([r.answers for r in responses], likert).values
    points = dict(zip(likert, matrix.T, strict=True))  # one read of every Likert answer
    out = []
    for item in chosen:
        if item.type is ItemType.OPEN_TEXT:
            raise ValueError(f"{item.id!r} is open text: use term_frequencies")
        if item.type is ItemType.NUMERIC:
            vals = np.array([_num(r.answers.get(item.id)) for r in responses], dtype=float)
            groups = {"mentor": vals[roles], "mentee": vals[~roles], "all": vals}
            summaries = {g: summarise(v) for g, v in groups.items()}
            out.append(
                ItemDistribution(
                    item.id, item.type, item.text, (), {g: () for g in GROUPS},
                    {g: s.n for g, s in summaries.items()}, summaries,
                )
            )
            continue
        cats = item.categories()
        k = len(cats)
        if item.type is ItemType.LIKERT:
            # Points 1..k, counted per role with one bincount (row 0 mentors, row 1 mentees).
            column = points[item.id]
            given = ~np.isnan(column)
            value = column[given]
            if not np.all((value >= 1) & (value <= k) & (value == np.rint(value))):
                raise ValueError(f"item {item.id!r}: an answer is not a point of its {k}-point scale")
            row = (~roles[given]).astype(np.int64)
            table = np.bincount(row * k + value.astype(np.int64) - 1, minlength=2 * k).reshape(2, k)
            answered = table.sum(axis=1)
        else:
            index = {key: j for j, (key, _) in enumerate(cats)}
            table = np.zeros((2, k), dtype=np.int64)
            answered = np.zeros(2, dtype=np.int64)
            column_ = [r.answers.get(item.id) for r in responses]
            if item.type is ItemType.MULTIPLE_CHOICE:
                chosen_by = [(m, v) for m, v in zip(mentor, column_, strict=True) if v is not None]
                for m, n in Counter(m for m, _ in chosen_by).items():
                    answered[0 if m else 1] += n
                for (m, choice), n in Counter((m, c) for m, v in chosen_by for c in v).items():  # type: ignore[union-attr]
                    table[0 if m else 1, index[choice]] += n
            else:
                for (m, v), n in Counter(zip(mentor, column_, strict=True)).items():
                    if v is not None:
                        answered[0 if m else 1] += n
                        table[0 if m else 1, index[str(v)]] += n
        counts = {
            "mentor": tuple(int(x) for x in table[0]),
            "mentee": tuple(int(x) for x in table[1]),
            "all": tuple(int(x) for x in table.sum(axis=0)),
        }
        respondents = {"mentor": int(answered[0]), "mentee": int(answered[1]), "all": int(answered.sum())}
        out.append(ItemDistribution(item.id, item.type, item.text, cats, counts, respondents))
    return tuple(out)


def _num(v: object) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- paired change


@dataclass(frozen=True)
class PairedChange:
    """Change from ``before`` to ``after`` for paired respondents (``d = after - before``)."""

    n_pairs: int
    n_zero: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    median_change: float | None
    w_plus: float | None
    w_minus: float | None
    statistic: float | None
    p_value: float | None
    p_method: str | None
    p_reason: str | None
    rank_biserial: float | None
    rank_biserial_ci: tuple[float, float] | None
    mean_change_ci: tuple[float, float] | None
    ci_reason: str | None
    n_boot: int
    confidence: float

    @property
    def n_nonzero(self) -> int:
        return self.n_pairs - self.n_zero


def signed_rank_sums(d: np.ndarray) -> tuple[float, float]:
    """``(W+, W-)``: sums of the average ranks of ``|d|`` over positive and
    negative differences, zeros excluded from the ranking."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 0.0, 0.0
    ranks = sps.rankdata(np.abs(d))
    return float(ranks[d > 0].sum()), float(ranks[d < 0].sum())


def rank_biserial(d: np.ndarray) -> float | None:
    """Matched-pairs rank-biserial correlation ``(W+ - W-) / (W+ + W-)``; ``None`` if every d is 0."""
    wp, wm = signed_rank_sums(d)
    return None if wp + wm == 0 else (wp - wm) / (wp + wm)


def exact_signed_rank_p(d: np.ndarray) -> float:
    """Two-sided p of the signed-rank test from the exact null distribution of
    ``W+`` given the observed (mid)ranks: each sign is + or - with probability
    1/2. Dynamic programming over doubled ranks (integers)."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    ranks2 = np.rint(2 * sps.rankdata(np.abs(d))).astype(np.int64)
    total = int(ranks2.sum())
    dist = np.zeros(total + 1)
    dist[0] = 1.0
    for r in ranks2:
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[: total + 1 - r]
        dist = 0.5 * (dist + shifted)
    observed = int(ranks2[d > 0].sum())
    low = min(observed, total - observed)
    return float(min(1.0, 2.0 * dist[: low + 1].sum()))


def _wilcoxon_p(nonzero: np.ndarray, tied: bool) -> tuple[float, str]:
    n = nonzero.size
    if n > EXACT_LIMIT:
        res = sps.wilcoxon(nonzero, method="asymptotic")
        return float(res.pvalue), "normal"
    if not tied:
        res = sps.wilcoxon(nonzero, method="exact")
        return float(res.pvalue), "exact"
    return exact_signed_rank_p(nonzero), "exact_ties"


def _bootstrap(
    values: np.ndarray, inverse: np.ndarray, counts: np.ndarray, rng: np.random.Generator, n_boot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of (rank-biserial r, mean change) of the sample ``values[inverse]`` (the
    distinct values, where each element is among them, and their counts: ``np.unique``); r is NaN when
    a resample has only zero differences."""
    n = inverse.size
    k = values.size
    if k <= 1000:
        resampled = rng.multinomial(n, counts / n, size=n_boot)
    else:
        resampled = np.empty((n_boot, k), dtype=np.int64)
        chunk = max(1, 2_000_000 // n)
        for start in range(0, n_boot, chunk):
            m = min(chunk, n_boot - start)
            codes = inverse[rng.integers(0, n, size=(m, n))] + (np.arange(m) * k)[:, None]
            resampled[start : start + m] = np.bincount(codes.ravel(), minlength=m * k).reshape(m, k)
    mean = (resampled * values).sum(axis=1) / n  # not a BLAS product: see rank_biserial_from_counts
    return rank_biserial_from_counts(values, resampled), mean


def rank_biserial_from_counts(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rank-biserial r of many samples given as counts of each distinct value.

    ``values`` (K,) are the distinct differences; ``counts`` (B, K) says how
    many times each appears in each sample. Ranks of ``|d|`` (zeros excluded,
    ties averaged) depend only on these counts: a tie group of ``c`` values
    after ``b`` smaller non-zero ones has midrank ``b + (c + 1) / 2``. NaN for
    a sample without non-zero differences."""
    w_plus, w_minus = _rank_sums_from_counts(values, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w_plus - w_minus) / (w_plus + w_minus)


def _rank_sums_from_counts(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(W+, W-)`` of many samples given as counts (B, K) of the distinct values (K,)
    (:func:`rank_biserial_from_counts`). Midranks are halves of integers: the sums are exact, the
    same as ranking each sample."""
    values = np.asarray(values, dtype=float)
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    groups, group_of = np.unique(np.abs(values), return_inverse=True)
    if np.unique(values).size != values.size:
        raise ValueError("values must be distinct")
    # Each tie group of |d| holds at most one positive and one negative value: place their counts
    # in (B, G) arrays by column (no matrix product: a threaded BLAS call is slow on a busy machine).
    up, down = values > 0, values < 0
    pos = np.zeros((counts.shape[0], groups.size))
    neg = np.zeros_like(pos)
    pos[:, group_of[up]] = counts[:, up]
    neg[:, group_of[down]] = counts[:, down]
    per_group = pos + neg  # zeros are not ranked
    midrank = np.cumsum(per_group, axis=1) - per_group + (per_group + 1) / 2
    return (pos * midrank).sum(axis=1), (neg * midrank).sum(axis=1)


def _seed_sequence(seed: int | Sequence[int], label: str) -> np.random.Generator:
    base = [seed] if isinstance(seed, int) else list(seed)
    return np.random.default_rng([*base, zlib.crc32(label.encode())])


def paired_change(
    before: Mapping[str, float] | np.ndarray,
    after: Mapping[str, float] | np.ndarray,
    *,
    seed: int | Sequence[int] = 0,
    label: str = "",
    n_boot: int = 2000,
    confidence: float = 0.95,
    min_nonzero: int = MIN_NONZERO,
) -> PairedChange:
    """Wilcoxon signed-rank test, rank-biserial r and bootstrap CIs for paired scores.

    ``before``/``after`` are mappings from respondent key to score (pairs are
    the keys present, and not NaN, in both) or two aligned arrays. The
    bootstrap generator is seeded with ``(seed, crc32(label))``, so the same
    inputs always give the same intervals."""
    if isinstance(before, Mapping):
        assert isinstance(after, Mapping)
        keys = sorted(k for k in before.keys() & after.keys())
        b = np.array([before[k] for k in keys], dtype=float)
        a = np.array([after[k] for k in keys], dtype=float)
    else:
        b = np.asarray(before, dtype=float)
        a = np.asarray(after, dtype=float)
        if b.shape != a.shape:
            raise ValueError("before and after must be aligned")
    keep = ~(np.isnan(b) | np.isnan(a))
    b, a = b[keep], a[keep]
    # Scores are means of Likert points: 11/3 - 10/3 and 13/3 - 12/3 differ in the
    # last bit. Rounding keeps equal differences tied (and true zeros zero).
    d = np.round(a - b, 9)
    n = int(d.size)
    if n == 0:
        return PairedChange(0, 0, None, None, None, None, None, None, None, None, None,
                            "no_pairs", None, None, None, "no_pairs", n_boot, confidence)
    # Everything rank-based comes from the distinct differences and their counts (one sort).
    values, inverse, counts = np.unique(d, return_inverse=True, return_counts=True)
    n_zero = int(counts[values == 0].sum())
    n_nonzero = n - n_zero
    sums = _rank_sums_from_counts(values, counts)
    w_plus, w_minus = float(sums[0][0]), float(sums[1][0])
    r = None if n_nonzero == 0 else (w_plus - w_minus) / (w_plus + w_minus)
    p = method = p_reason = None
    if n_nonzero == 0:
        p_reason = "no_change"
    elif n_nonzero < min_nonzero:
        p_reason = "too_few_nonzero"
    else:
        moved = values != 0
        magnitudes = np.abs(values[moved])
        tied = bool((counts[moved] > 1).any()) or np.unique(magnitudes).size < magnitudes.size
        p, method = _wilcoxon_p(d[d != 0], tied)
    r_ci = m_ci = ci_reason = None
    if n_nonzero < min_nonzero:
        ci_reason = "no_change" if n_nonzero == 0 else "too_few_nonzero"
    else:
        r_boot, mean_boot = _bootstrap(values, inverse, counts, _seed_sequence(seed, label), n_boot)
        alpha = (1 - confidence) / 2
        valid = r_boot[~np.isnan(r_boot)]
        lo, hi = np.quantile(valid, [alpha, 1 - alpha])
        r_ci = (float(lo), float(hi))
        lo, hi = np.quantile(mean_boot, [alpha, 1 - alpha])
        m_ci = (float(lo), float(hi))
    return PairedChange(
        n_pairs=n,
        n_zero=n_zero,
        mean_before=float(b.mean()),
        mean_after=float(a.mean()),
        mean_change=float(d.mean()),
        median_change=float(np.median(d)),
        w_plus=w_plus,
        w_minus=w_minus,
        statistic=min(w_plus, w_minus),
        p_value=p,
        p_method=method,
        p_reason=p_reason,
        rank_biserial=r,
        rank_biserial_ci=r_ci,
        mean_change_ci=m_ci,
        ci_reason=ci_reason,
        n_boot=n_boot,
        confidence=confidence,
    )


@dataclass(frozen=True)
class SkillChange:
    skill: str
    label: Text
    group: str
    change: PairedChange


def skill_changes(
    instrument: Instrument,
    pre: Sequence[Response],
    post: Sequence[Response],
    *,
    groups: Sequence[str] = GROUPS,
    seed: int = 0,
    n_boot: int = 2000,
    confidence: float = 0.95,
    answers: tuple[AnswerMatrix, AnswerMatrix] | None = None,
) -> tuple[SkillChange, ...]:
    """Pre/post change of every subscale, for each group (mentors, mentees, everyone).

    A respondent is paired by ``respondent`` key; her role is taken from the
    post response (the pre one if absent). Duplicated keys within one
    administration raise ``ValueError``. ``answers``: the pre and post
    :func:`~.instruments.answer_matrix`, when the caller has read them already."""
    ids, pre_scores = score_matrix(instrument, [r.answers for r in pre], answers=answers[0] if answers else None)
    _, post_scores = score_matrix(instrument, [r.answers for r in post], answers=answers[1] if answers else None)
    pre_index = _unique_index(pre, "pre")
    post_index = _unique_index(post, "post")
    keys = sorted(pre_index.keys() & post_index.keys())
    pi = np.array([pre_index[k] for k in keys], dtype=np.int64)
    qi = np.array([post_index[k] for k in keys], dtype=np.int64)
    is_mentor = np.array([post[j].role is Role.MENTOR for j in qi], dtype=bool)
    masks = {"mentor": is_mentor, "mentee": ~is_mentor, "all": np.ones(len(keys), dtype=bool)}
    out = []
    for s, sid in enumerate(ids):
        before = pre_scores[pi, s] if keys else np.zeros(0)
        after = post_scores[qi, s] if keys else np.zeros(0)
        for g in groups:
            m = masks[g]
            change = paired_change(
                before[m], after[m], seed=seed, label=f"{sid}/{g}", n_boot=n_boot, confidence=confidence
            )
            out.append(SkillChange(sid, instrument.subscale(sid).label, g, change))
    return tuple(out)


def _unique_index(responses: Sequence[Response], name: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, r in enumerate(responses):
        if r.respondent in index:
            raise ValueError(f"respondent {r.respondent!r} answered the {name} administration twice")
        index[r.respondent] = i
    return index


# ----------------------------------------------------------------------------- objective achievement


@dataclass(frozen=True)
class DyadAchievement:
    """Achievement of one dyad's objectives, 0-100. ``measured`` is the verified
    measure (confirmed milestones over milestones, sessions service);
    ``self_reported`` the mentee's own progress toward her targets, kept apart;
    the perceived values are each member's own assessment (sessions, or the
    perceived-achievement questionnaires)."""

    dyad_id: str
    measured: float | None
    mentee_perceived: float | None
    mentor_perceived: float | None
    self_reported: float | None = None


@dataclass(frozen=True)
class AchievementComparison:
    dyads: tuple[DyadAchievement, ...]  # sorted by measured (missing last), then id
    summaries: Mapping[str, Summary]  # measured, mentee, mentor, self_reported
    gaps: Mapping[str, PairedChange]  # mentee_vs_measured, mentor_vs_measured, mentee_vs_mentor
    spearman: Mapping[str, float | None]  # measured~mentee, measured~mentor


def achievement_comparison(
    dyads: Sequence[DyadAchievement], *, seed: int = 0, n_boot: int = 2000
) -> AchievementComparison:
    for d in dyads:
        for v in (d.measured, d.mentee_perceived, d.mentor_perceived, d.self_reported):
            if v is not None and not 0 <= v <= 100:
                raise ValueError(f"dyad {d.dyad_id!r}: achievement must be within 0-100")
    ordered = tuple(sorted(dyads, key=lambda d: (d.measured is None, d.measured or 0.0, d.dyad_id)))
    col = {  # None reads as NaN
        "measured": np.array([d.measured for d in ordered], dtype=float),
        "mentee": np.array([d.mentee_perceived for d in ordered], dtype=float),
        "mentor": np.array([d.mentor_perceived for d in ordered], dtype=float),
        "self_reported": np.array([d.self_reported for d in ordered], dtype=float),
    }
    gaps = {
        "mentee_vs_measured": paired_change(col["measured"], col["mentee"], seed=seed, label="mentee-measured", n_boot=n_boot),
        "mentor_vs_measured": paired_change(col["measured"], col["mentor"], seed=seed, label="mentor-measured", n_boot=n_boot),
        "mentee_vs_mentor": paired_change(col["mentor"], col["mentee"], seed=seed, label="mentee-mentor", n_boot=n_boot),
    }
    spearman: dict[str, float | None] = {}
    for who in ("mentee", "mentor"):
        x, y = col["measured"], col[who]
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
            spearman[f"measured~{who}"] = float(sps.spearmanr(x[ok], y[ok]).statistic)
        else:
            spearman[f"measured~{who}"] = None
    return AchievementComparison(ordered, {k: summarise(v) for k, v in col.items()}, gaps, spearman)
