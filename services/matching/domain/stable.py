"""Stable matching with capacities (hospital-residents), and blocking pairs.

Both sides rank the feasible pairs by pair score; ties go to the smaller id
(see ``candidates.preference_keys``). A pair (mentee, mentor) **blocks** a
matching when it is feasible, not matched together, the mentee prefers the
mentor to her current one (any feasible mentor beats having none), and the
mentor has a free place or prefers the mentee to her least preferred current
mentee. A matching is stable when no pair blocks it.

``deferred_acceptance`` is the mentee-proposing algorithm of Gale and Shapley,
extended to capacities: a free mentee proposes to her next mentor; the mentor
holds her best ``capacity`` proposals and rejects the rest. Each proposal is
handled once with a heap of at most ``capacity`` entries, so the run costs
O(total proposals x log capacity). The outcome is stable and mentee-optimal:
every mentee gets the best mentor she has in any stable matching.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .candidates import Candidates, full_preferences, preference_keys, row_blocks
from .encode import F32, I32, I64, Problem

Extend = Callable[[int], tuple[I32, F32]]


def deferred_acceptance(candidates: Candidates, capacity: I64, extend: Extend) -> tuple[I32, F32]:
    """Mentee-proposing deferred acceptance; returns (mentor per mentee or -1, pair score).

    Mentees propose down their candidate lists; a mentee who runs out of a
    truncated list gets her complete list from ``extend(mentee)`` and goes on.
    """
    n = len(candidates.feasible)
    prefs: list[list[int]] = candidates.mentor.tolist()
    scores: list[list[float]] = candidates.score.tolist()
    keys: list[list[int]] = preference_keys(candidates.score, np.arange(n)[:, None]).tolist()
    complete = candidates.complete.tolist()
    room = capacity.tolist()
    pointer = [0] * n
    held: list[list[tuple[int, int, float]]] = [[] for _ in room]
    free = deque(i for i in range(n) if candidates.feasible[i] > 0)
    while free:
        i = free.popleft()
        while True:
            p = pointer[i]
            if p == len(prefs[i]) or prefs[i][p] < 0:
                if complete[i]:
                    break
                mentors, pair_scores = extend(i)
                prefs[i], scores[i] = mentors.tolist(), pair_scores.tolist()
                keys[i] = preference_keys(pair_scores, i).tolist()
                complete[i] = True
                continue
            j = prefs[i][p]
            pointer[i] = p + 1
            offer = (keys[i][p], i, scores[i][p])
            if len(held[j]) < room[j]:
                heapq.heappush(held[j], offer)
                break
            if offer[0] > held[j][0][0]:
                free.append(heapq.heapreplace(held[j], offer)[1])
                break
    mentor = np.full(n, -1, np.int32)
    score = np.zeros(n, np.float32)
    for j, offers in enumerate(held):
        for _, i, s in offers:
            mentor[i], score[i] = j, s
    return mentor, score


def count_blocking_pairs(scores: ArrayLike, feasible: ArrayLike, assignment: ArrayLike, capacity: ArrayLike) -> int:
    """Blocking pairs of any matching, on dense (mentees x mentors) arrays.

    ``assignment[i]`` is mentee i's mentor or -1; ``capacity[j]`` is mentor j's
    number of places; rows and columns are in id order (ties in score go to the
    smaller index), as ``score_cohort`` returns them.
    """
    scores = np.asarray(scores, np.float32)
    feasible = np.asarray(feasible, bool)
    assignment = np.asarray(assignment, np.int64)
    n, m = scores.shape
    mentee_key = np.where(feasible, preference_keys(scores, np.arange(m)[None, :]), np.uint64(0))
    mentor_key = np.where(feasible, preference_keys(scores, np.arange(n)[:, None]), np.uint64(0))
    rows = np.flatnonzero(assignment >= 0)
    current = np.zeros(n, np.uint64)
    current[rows] = mentee_key[rows, assignment[rows]]
    worst = _worst_held(assignment, mentor_key[rows, assignment[rows]], np.asarray(capacity, np.int64))
    return int(((mentee_key > current[:, None]) & (mentor_key > worst[None, :])).sum())


def blocking_pairs(problem: Problem, candidates: Candidates, mentor: I32, score: F32) -> int:
    """Blocking pairs of a matching of the non-pinned mentees, from the candidate lists.

    A mentee can only block with a mentor she prefers to her current one, and
    every such mentor precedes her current one in her list; only unmatched
    mentees with a truncated list need their complete list (scored again).
    """
    n = len(mentor)
    capacity = problem.residual
    rows = np.flatnonzero(mentor >= 0)
    worst = _worst_held(mentor, preference_keys(score[rows], rows), capacity)
    listed = candidates.mentor == mentor[:, None]
    found = listed.any(axis=1) & (mentor >= 0)
    recheck = ~found & ~candidates.complete
    total = _count_before(candidates.mentor, candidates.score, np.arange(n), found, listed, worst, ~recheck)
    for block in row_blocks(np.flatnonzero(recheck), len(capacity)):
        lists, list_scores = full_preferences(problem, block, capacity)
        hit = lists == mentor[block][:, None]
        total += _count_before(
            lists, list_scores, block, hit.any(axis=1) & (mentor[block] >= 0), hit, worst, np.ones(len(block), bool)
        )
    return total


def _worst_held(assignment: NDArray[np.integer], held_keys: NDArray[np.uint64], capacity: I64) -> NDArray[np.uint64]:
    """Per mentor, the mentor-side key of her least preferred mentee; 0 while she has a free place."""
    matched = assignment[assignment >= 0]
    worst = np.full(len(capacity), np.iinfo(np.uint64).max, np.uint64)
    np.minimum.at(worst, matched, held_keys)
    worst[np.bincount(matched, minlength=len(capacity)) < capacity] = 0
    return worst


def _count_before(
    lists: I32,
    list_scores: F32,
    rows: I64,
    found: NDArray[np.bool_],
    listed: NDArray[np.bool_],
    worst: NDArray[np.uint64],
    use: NDArray[np.bool_],
) -> int:
    """Count the mentors listed before each mentee's current one who would take her."""
    k = lists.shape[1]
    if k == 0:
        return 0
    position = np.where(found, listed.argmax(axis=1), k)
    before = (np.arange(k)[None, :] < position[:, None]) & (lists >= 0) & use[:, None]
    willing = preference_keys(list_scores, rows[:, None]) > worst[np.maximum(lists, 0)]
    return int((before & willing).sum())
