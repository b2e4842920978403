"""Whole-cohort matching: ``match(cohort, settings)``.

Pinned pairs are placed first and never move; the rest of the cohort is solved
at once, with each mentor's capacity net of her pinned mentees (objectives,
stability and blocking pairs all concern the non-pinned mentees).

**optimal** (objective ``max_matched_then_score``): each mentor is expanded into
as many slots as her free capacity, and the assignment maximises the number of
matched mentees first, then the total pair score (lexicographically: a feasible
pair costs ``-(BIG + score)`` with ``BIG`` larger than any possible total score,
so one more matched mentee always outweighs any score gain).

- Small and medium cohorts (mentees x slots <= ``dense_limit``): every feasible
  pair is kept, and ``scipy.optimize.linear_sum_assignment`` solves the dense
  matrix exactly.
- Large cohorts: each mentee keeps her ``candidates_per_mentee`` best feasible
  mentors, and ``scipy.sparse.csgraph.min_weight_full_bipartite_matching``
  solves the sparse graph, with one "unmatched" column per mentee so that a
  full matching always exists (pair cost ``2 - score``, unmatched cost
  ``2 x mentees + 1``). Then an unmatched mentee who still has a feasible mentor
  with a free place beyond her list gets the best such mentor (this only adds
  pairs, and one more matched mentee comes first under both objectives). The
  result reports a bound it can still prove (``model.Bound``).

**maximin**: the largest threshold ``t`` such that the pairs scoring at least
``t`` still match as many mentees as all pairs do is found by binary search over
the pair scores (maximum cardinality by Hopcroft-Karp,
``scipy.sparse.csgraph.maximum_bipartite_matching``); then the optimal solver
runs on the pairs scoring at least ``t``.

**stable**: mentee-proposing deferred acceptance (``stable.py``); the objective
does not apply.

People are sorted by id before anything else, so the same cohort in any order
gives the same result; no step is random.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching

from services.matching.enums import Algorithm, Objective

from .candidates import Candidates, build_candidates, full_preferences, row_blocks
from .encode import F32, I32, I64, Problem, build_problem
from .model import Cohort, MatchResult, Settings
from .report import build_result
from .stable import blocking_pairs, deferred_acceptance
from .threads import single_threaded_blas
from .timing import Timer


@single_threaded_blas
def match(cohort: Cohort, settings: Settings | None = None) -> MatchResult:
    """Match the whole cohort under ``settings`` (see the module docstring)."""
    start = perf_counter()
    settings = settings or Settings()
    timer = Timer()
    with timer.section("encode"):
        problem = build_problem(cohort, settings)
    free_mentees = int((problem.pinned < 0).sum())
    dense = free_mentees * int(problem.residual.sum()) <= settings.dense_limit
    mentors = len(problem.mentors.ids)
    k = mentors if dense else settings.candidates_per_mentee
    candidates = build_candidates(problem, k, timer)
    parameters: dict[str, object] = {
        "algorithm": str(settings.algorithm),
        "objective": str(settings.objective),
        "mode": str(settings.mode),
        "max_capacity": settings.max_capacity,
        "availability_target_minutes": settings.availability_target_minutes,
        "weights": asdict(settings.weights),
        "rules": list(candidates.rules),
        "candidates_per_mentee": min(k, mentors),
        "pruned": not bool(candidates.complete.all()),
    }
    with timer.section("solve"):
        if settings.algorithm == Algorithm.stable:
            solver = "deferred acceptance (mentee-proposing, capacities)"
            mentor, score = deferred_acceptance(candidates, problem.residual, lambda i: _full_list(problem, i))
        else:
            mentor, score, solver = _optimal(problem, candidates, dense, parameters)
    exact = settings.algorithm == Algorithm.optimal and not parameters["pruned"]
    with timer.section("blocking_pairs"):
        blocking = blocking_pairs(problem, candidates, mentor, score)
    result = build_result(problem, candidates, mentor, score, blocking, solver, parameters, timer.seconds, exact)
    return replace(result, timings={**timer.seconds, "total": perf_counter() - start})


def _full_list(problem: Problem, mentee: int) -> tuple[I32, F32]:
    mentors, scores = full_preferences(problem, np.array([mentee]), problem.residual)
    return mentors[0][mentors[0] >= 0], scores[0][mentors[0] >= 0]


def _optimal(problem: Problem, candidates: Candidates, dense: bool, parameters: dict[str, object]) -> tuple[I32, F32, str]:
    n = len(candidates.feasible)
    r, c = np.nonzero(candidates.mentor >= 0)
    j, s = candidates.mentor[r, c].astype(np.int64), candidates.score[r, c]
    if problem.settings.objective == Objective.maximin:
        threshold = _maximin_threshold(r, j, s, problem.residual)
        keep = s >= threshold
        r, j, s = r[keep], j[keep], s[keep]
        parameters["maximin_threshold"] = float(threshold)
    mentor, score = _lexicographic(n, r, j, s, problem.residual, dense)
    if dense:
        return mentor, score, "scipy.optimize.linear_sum_assignment (dense, mentors expanded by capacity)"
    parameters["added_beyond_candidates"] = _fill_free_places(problem, candidates, mentor, score)
    return (
        mentor,
        score,
        "scipy.sparse.csgraph.min_weight_full_bipartite_matching (top-k candidates, mentors expanded by capacity)",
    )


def _expand(r: I64, j: I64, s: F32, capacity: I64) -> tuple[I64, I64, F32]:
    """One edge per (mentee, slot): mentor ``j`` owns slots ``first[j] .. first[j] + capacity[j] - 1``."""
    first = np.cumsum(capacity) - capacity
    copies = capacity[j]
    edge = np.repeat(np.arange(len(j)), copies)
    offset = np.arange(len(edge)) - np.repeat(np.cumsum(copies) - copies, copies)
    return r[edge], first[j[edge]] + offset, s[edge]


def _lexicographic(n: int, r: I64, j: I64, s: F32, capacity: I64, dense: bool) -> tuple[I32, F32]:
    """Most matched mentees first, then the largest total score, over the given edges."""
    mentor = np.full(n, -1, np.int32)
    score = np.zeros(n, np.float32)
    if len(r) == 0:
        return mentor, score
    rows, local = np.unique(r, return_inverse=True)
    slots = int(capacity.sum())
    owner = np.repeat(np.arange(len(capacity)), capacity)
    er, ec, es = _expand(local, j, s, capacity)
    if dense:
        big = len(rows) + 1.0
        cost = np.zeros((len(rows), slots))
        cost[er, ec] = -(big + es.astype(np.float64))
        ri, ci = linear_sum_assignment(cost)
        keep = cost[ri, ci] < 0
    else:
        big = 2.0 * len(rows) + 1.0
        dummy = np.arange(len(rows))
        graph = sp.csr_array(
            (
                np.concatenate([2.0 - es.astype(np.float64), np.full(len(rows), big)]),
                (np.concatenate([er, dummy]), np.concatenate([ec, slots + dummy])),
            ),
            shape=(len(rows), slots + len(rows)),
        )
        ri, ci = min_weight_full_bipartite_matching(graph)
        keep = ci < slots
    ri, ci = ri[keep], ci[keep]
    mentor[rows[ri]] = owner[ci]
    edge_keys = local * len(capacity) + j
    order = np.argsort(edge_keys)
    chosen = np.searchsorted(edge_keys[order], ri * len(capacity) + owner[ci])
    score[rows[ri]] = s[order[chosen]]
    return mentor, score


def _max_cardinality(r: I64, ec: I64, rows: int, slots: int) -> int:
    graph = sp.csr_array((np.ones(len(r), np.int8), (r, ec)), shape=(rows, slots))
    return int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())


def _maximin_threshold(r: I64, j: I64, s: F32, capacity: I64) -> float:
    """The largest pair-score threshold that keeps the maximum number of matched mentees."""
    if len(r) == 0:
        return 0.0
    rows, local = np.unique(r, return_inverse=True)
    er, ec, es = _expand(local, j, s, capacity)
    slots = int(capacity.sum())
    target = _max_cardinality(er, ec, len(rows), slots)
    thresholds = np.unique(s)
    low, high = 0, len(thresholds) - 1
    while low < high:
        mid = (low + high + 1) // 2
        keep = es >= thresholds[mid]
        if _max_cardinality(er[keep], ec[keep], len(rows), slots) == target:
            low = mid
        else:
            high = mid - 1
    return float(thresholds[low])


def _fill_free_places(problem: Problem, candidates: Candidates, mentor: I32, score: F32) -> int:
    """Give an unmatched mentee whose list was truncated the best feasible mentor with a free place.

    Existing pairs never change. Returns how many pairs were added.
    """
    waiting = np.flatnonzero((mentor < 0) & (candidates.feasible > 0) & ~candidates.complete)
    free = problem.residual - np.bincount(mentor[mentor >= 0], minlength=len(problem.residual))
    added = 0
    for block in row_blocks(waiting, len(free)):
        lists, list_scores = full_preferences(problem, block, free.copy())
        for row, i in enumerate(block):
            open_ = np.flatnonzero((lists[row] >= 0) & (free[np.maximum(lists[row], 0)] > 0))
            if len(open_):
                j = lists[row, open_[0]]
                mentor[i], score[i] = j, list_scores[row, open_[0]]
                free[j] -= 1
                added += 1
    return added
