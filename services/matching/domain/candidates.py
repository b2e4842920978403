"""Candidate lists: every mentee's feasible mentors in preference order.

The cohort is scored block by block (a few thousand mentees at a time against
all mentors), so memory stays bounded by the block, never by mentees x mentors.
From each block the engine keeps, per mentee, her best ``k`` feasible mentors
(all of them when ``k`` is at least the number of mentors), the count of
feasible mentors, and per rule how many mentors it excluded; per mentor, how
many mentees she could serve and the sum of those pair scores.

Preferences are strict: a higher score first, and on equal scores the smaller
index, that is the smaller id (people are sorted by id). ``preference_keys``
packs both into one unsigned 64-bit key: the bits of a non-negative float32 grow
with its value, so ``(score bits << 32) | (2**32 - 1 - index)`` sorts exactly as
(score, then smaller index). Infeasible pairs get key 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .encode import F32, I32, I64, Problem
from .rules import active_rules, feasible, violations
from .scoring import score_rows
from .threads import parallel_map
from .timing import Timer

U64 = NDArray[np.uint64]
BLOCK_PAIRS = 1 << 19


def preference_keys(scores: F32, others: ArrayLike) -> U64:
    """Strict preference keys: by score, then by smaller index of the other side."""
    bits = np.ascontiguousarray(scores, np.float32).view(np.uint32) & np.uint32(0x7FFFFFFF)
    return (bits.astype(np.uint64) << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - np.asarray(others, np.uint64))


@dataclass(frozen=True)
class Candidates:
    """Top-``k`` feasible mentors of every non-pinned mentee (pinned mentees have none)."""

    mentor: I32
    """(n, k) mentor indices, best first, -1 padded."""
    score: F32
    """(n, k) the matching pair scores, 0 padded."""
    feasible: I64
    """(n,) feasible mentors of each mentee (all of them, not only the top k)."""
    rules: tuple[str, ...]
    excluded: I64
    """(n, len(rules)) mentors each rule excludes."""
    only_rule: I64
    """(n, len(rules)) mentors excluded by that rule and no other."""
    mentor_feasible: I64
    """(m,) non-pinned mentees each mentor could serve."""
    mentor_score_sum: NDArray[np.float64]
    """(m,) sum of those mentees' pair scores."""

    @property
    def complete(self) -> NDArray[np.bool_]:
        """(n,) the list holds every feasible mentor of the mentee."""
        return self.feasible <= self.mentor.shape[1]


@dataclass(frozen=True)
class _Block:
    rows: I64
    mentor: I32
    score: F32
    feasible: I64
    excluded: I64
    only_rule: I64
    mentor_feasible: I64
    mentor_score_sum: NDArray[np.float64]
    seconds: dict[str, float]


def build_candidates(problem: Problem, k: int, timer: Timer) -> Candidates:
    """Score, check and prune the whole cohort block by block (see the module docstring).

    Blocks run on worker threads; ``timer`` gets the wall time of the pass split
    between scoring, feasibility and candidates in proportion to the threads' time.
    """
    n, m = len(problem.mentees.ids), len(problem.mentors.ids)
    k = min(k, m)
    rules = active_rules(problem)
    started = perf_counter()
    blocks = parallel_map(lambda rows: _block(problem, rows, k), row_blocks(np.flatnonzero(problem.pinned < 0), m))
    mentor = np.full((n, k), -1, np.int32)
    score = np.zeros((n, k), np.float32)
    feasible_count = np.zeros(n, np.int64)
    excluded = np.zeros((n, len(rules)), np.int64)
    only_rule = np.zeros((n, len(rules)), np.int64)
    mentor_feasible = np.zeros(m, np.int64)
    mentor_score_sum = np.zeros(m, np.float64)
    busy: dict[str, float] = {}
    for b in blocks:
        mentor[b.rows], score[b.rows], feasible_count[b.rows] = b.mentor, b.score, b.feasible
        excluded[b.rows], only_rule[b.rows] = b.excluded, b.only_rule
        mentor_feasible += b.mentor_feasible
        mentor_score_sum += b.mentor_score_sum
        for name, seconds in b.seconds.items():
            busy[name] = busy.get(name, 0.0) + seconds
    wall = perf_counter() - started
    for name, seconds in busy.items():
        timer.add(name, wall * seconds / (sum(busy.values()) or 1.0))
    return Candidates(mentor, score, feasible_count, rules, excluded, only_rule, mentor_feasible, mentor_score_sum)


def _block(problem: Problem, rows: I64, k: int) -> _Block:
    clock = Timer()
    with clock.section("scoring"):
        scored = score_rows(problem, rows)
    with clock.section("feasibility"):
        broken = violations(problem, rows, scored, problem.residual)
        ok = feasible(problem, rows, broken)
        failures = np.zeros(ok.shape, np.int8)
        for mask in broken.values():
            failures += mask
        alone = failures == 1
        excluded = np.stack([mask.sum(axis=1) for mask in broken.values()], axis=1).astype(np.int64)
        only_rule = np.stack([(mask & alone).sum(axis=1) for mask in broken.values()], axis=1).astype(np.int64)
        mentor_feasible = ok.sum(axis=0, dtype=np.int64)
        mentor_score_sum = np.where(ok, scored.score, np.float32(0)).sum(axis=0, dtype=np.float64)
    with clock.section("candidates"):
        keys = np.where(ok, preference_keys(scored.score, np.arange(ok.shape[1])[None, :]), np.uint64(0))
        mentor, score = _top(keys, scored.score, k)
    return _Block(
        rows, mentor, score, ok.sum(axis=1, dtype=np.int64), excluded, only_rule, mentor_feasible, mentor_score_sum, clock.seconds
    )


def full_preferences(problem: Problem, rows: I64, free: I64) -> tuple[I32, F32]:
    """Every feasible mentor of each mentee in ``rows``, best first, -1 padded to all mentors.

    ``free`` is each mentor's free capacity, as the ``mentor_capacity`` rule sees it.
    """
    m = len(problem.mentors.ids)
    scored = score_rows(problem, rows)
    ok = feasible(problem, rows, violations(problem, rows, scored, free))
    keys = np.where(ok, preference_keys(scored.score, np.arange(m)[None, :]), np.uint64(0))
    return _top(keys, scored.score, m)


def row_blocks(rows: I64, mentors: int) -> list[I64]:
    """Split ``rows`` into blocks of at most ``BLOCK_PAIRS`` pairs against ``mentors`` mentors."""
    block = max(1, BLOCK_PAIRS // max(mentors, 1))
    return [rows[start : start + block] for start in range(0, len(rows), block)]


def _top(keys: U64, scores: F32, k: int) -> tuple[I32, F32]:
    """The ``k`` largest keys of each row, largest first, as (mentor index or -1, score)."""
    m = keys.shape[1]
    if k >= m:
        order = np.argsort(keys, axis=1)[:, ::-1]
    else:
        part = np.argpartition(keys, m - k, axis=1)[:, m - k :]
        within = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)[:, ::-1]
        order = np.take_along_axis(part, within, axis=1)
    valid = np.take_along_axis(keys, order, axis=1) > 0
    mentors = np.where(valid, order, -1).astype(np.int32)
    return mentors, np.where(valid, np.take_along_axis(scores, order, axis=1), np.float32(0))
