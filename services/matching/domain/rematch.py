"""Re-matching one mentee left alone (for example after her dyad dissolved).

``rank_substitutes`` lists the mentors who could take her now: every hard rule
of the run applies, and the mentor must have a free place given the current
pairs (``mentor_capacity`` counts her current mentees). The list is ordered by
pair score, ties by mentor id; ``unmatched`` marks the mentors with no mentee
(the substitutes kept in reserve). To keep her former mentor out, add the
dissolved pair to the settings' ``forbidden_pairs``.

``add_pair`` checks the same rules and returns the current pairs unchanged plus
the new one: no other pair is ever moved.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .candidates import full_preferences
from .encode import I64, Problem, build_problem
from .model import Cohort, CohortError, Pair, Settings, SubstituteOption
from .rules import describe, feasible, violations
from .scoring import score_rows
from .threads import single_threaded_blas


@single_threaded_blas
def rank_substitutes(
    cohort: Cohort, settings: Settings | None, current: Iterable[tuple[str, str]], mentee_id: str, limit: int = 10
) -> tuple[SubstituteOption, ...]:
    """The best ``limit`` mentors who can take ``mentee_id`` without changing ``current`` pairs."""
    problem, _, load = _context(cohort, settings, current, mentee_id)
    free = problem.capacity - load
    mentors, scores = full_preferences(problem, np.array([problem.mentee_index[mentee_id]]), free)
    keep = (mentors[0] >= 0) & (free[np.maximum(mentors[0], 0)] > 0)
    options = zip(mentors[0][keep][:limit], scores[0][keep][:limit], strict=True)
    return tuple(
        SubstituteOption(rank, problem.mentors.ids[j], float(s), int(free[j]), bool(load[j] == 0))
        for rank, (j, s) in enumerate(options, start=1)
    )


@single_threaded_blas
def add_pair(
    cohort: Cohort, settings: Settings | None, current: Iterable[tuple[str, str]], mentee_id: str, mentor_id: str
) -> tuple[Pair, ...]:
    """``current`` plus (``mentee_id``, ``mentor_id``) if every hard rule allows it; else ``CohortError``."""
    problem, pairs, load = _context(cohort, settings, current, mentee_id)
    if mentor_id not in problem.mentor_index:
        raise CohortError(f"unknown mentor {mentor_id}")
    i, j = problem.mentee_index[mentee_id], problem.mentor_index[mentor_id]
    free = problem.capacity - load
    rows = np.array([i])
    scored = score_rows(problem, rows)
    broken = violations(problem, rows, scored, free)
    if not feasible(problem, rows, broken)[0, j] or free[j] <= 0:
        reasons = [describe(problem, i, j, rule, scored, free) for rule, mask in broken.items() if mask[0, j]]
        raise CohortError(f"({mentee_id}, {mentor_id}) breaks a hard rule: " + "; ".join(reasons or ["mentor has no free place"]))
    return (*pairs, Pair(mentee_id, mentor_id))


def _context(
    cohort: Cohort, settings: Settings | None, current: Iterable[tuple[str, str]], mentee_id: str
) -> tuple[Problem, tuple[Pair, ...], I64]:
    problem = build_problem(cohort, settings or Settings())
    pairs = tuple(Pair(*pair) for pair in current)
    if mentee_id not in problem.mentee_index:
        raise CohortError(f"unknown mentee {mentee_id}")
    mentees = [p.mentee_id for p in pairs]
    if mentee_id in mentees:
        raise CohortError(f"mentee {mentee_id} already has a mentor")
    if len(set(mentees)) != len(mentees):
        raise CohortError("a mentee appears in two current pairs")
    unknown = [p for p in pairs if p.mentee_id not in problem.mentee_index or p.mentor_id not in problem.mentor_index]
    if unknown:
        raise CohortError(f"unknown current pairs {unknown}")
    load = np.bincount([problem.mentor_index[p.mentor_id] for p in pairs], minlength=len(problem.mentors.ids)).astype(np.int64)
    return problem, pairs, load
