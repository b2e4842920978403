"""Brute force, written independently of the engine, to check it on tiny cohorts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from services.matching.domain import CohortScores

Assignment = tuple[int, ...]  # mentor index per mentee, -1 when unmatched


def matchings(cs: CohortScores) -> Iterator[Assignment]:
    """Every matching that respects feasibility and each mentor's capacity."""
    n, m = cs.scores.shape
    options = [[-1] + [j for j in range(m) if cs.feasible[i, j]] for i in range(n)]
    for choice in itertools.product(*options):
        load = [0] * m
        for j in choice:
            if j >= 0:
                load[j] += 1
        if all(load[j] <= cs.capacity[j] for j in range(m)):
            yield choice


def total(cs: CohortScores, a: Assignment) -> float:
    return float(sum(float(cs.scores[i, j]) for i, j in enumerate(a) if j >= 0))


def matched(a: Assignment) -> int:
    return sum(j >= 0 for j in a)


def blocking_pairs(cs: CohortScores, a: Assignment) -> int:
    """Pairs where both would rather be together; preferences by score, ties to the smaller index."""
    n, m = cs.scores.shape

    def mentee_rank(i: int, j: int) -> tuple[float, int]:
        return (float(cs.scores[i, j]), -j)

    def mentor_rank(j: int, i: int) -> tuple[float, int]:
        return (float(cs.scores[i, j]), -i)

    count = 0
    for i in range(n):
        for j in range(m):
            if not cs.feasible[i, j] or a[i] == j:
                continue
            if a[i] >= 0 and mentee_rank(i, j) <= mentee_rank(i, a[i]):
                continue
            held = [k for k in range(n) if a[k] == j]
            if len(held) < cs.capacity[j] or any(mentor_rank(j, i) > mentor_rank(j, k) for k in held):
                count += 1
    return count


def as_assignment(cs: CohortScores, pairs: list[tuple[str, str]]) -> Assignment:
    mentee = {x: i for i, x in enumerate(cs.mentee_ids)}
    mentor = {x: j for j, x in enumerate(cs.mentor_ids)}
    a = np.full(len(cs.mentee_ids), -1)
    for e, r in pairs:
        a[mentee[e]] = mentor[r]
    return tuple(int(x) for x in a)
