"""Look inside the scores: explain one pair, or score a whole (small) cohort densely."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .encode import F32, Problem, build_problem
from .model import Cohort, CohortError, Component, PairExplanation, Settings, Violation
from .rules import describe, feasible, violations
from .scoring import COMPONENTS, component_weights, score_rows
from .threads import single_threaded_blas


@single_threaded_blas
def explain_pair(cohort: Cohort, settings: Settings | None, mentee_id: str, mentor_id: str) -> PairExplanation:
    """Each component's value, weight and contribution, and every hard rule that forbids the pair.

    ``contribution`` = weight x value / (sum of the weights that apply to this
    mentee); the contributions add up to the pair score.
    """
    problem = build_problem(cohort, settings or Settings())
    i, j = _indices(problem, mentee_id, mentor_id)
    rows = np.array([i])
    scored = score_rows(problem, rows)
    weights = component_weights(problem, bool(problem.has_requests[i]))
    total_weight = sum(weights.values())
    components = tuple(
        Component(
            name,
            float(scored.components[name][0, j]),
            weights[name],
            weights[name] * float(scored.components[name][0, j]) / total_weight if total_weight else 0.0,
        )
        for name in COMPONENTS
    )
    pinned = bool(problem.pinned[i] == j)
    free = problem.residual + (np.arange(len(problem.residual)) == j) * pinned
    broken = violations(problem, rows, scored, free)
    found = tuple(Violation(rule, describe(problem, i, j, rule, scored, free)) for rule, mask in broken.items() if mask[0, j])
    return PairExplanation(mentee_id, mentor_id, float(scored.score[0, j]), components, found, pinned, pinned or not found)


@dataclass(frozen=True)
class CohortScores:
    """Dense scores of a cohort: rows are mentees, columns mentors, both sorted by id."""

    mentee_ids: tuple[str, ...]
    mentor_ids: tuple[str, ...]
    scores: F32
    feasible: NDArray[np.bool_]
    capacity: NDArray[np.int64]
    """Free capacity of each mentor once the pinned pairs are placed."""


@single_threaded_blas
def score_cohort(cohort: Cohort, settings: Settings | None = None) -> CohortScores:
    """Pair scores and hard-rule feasibility of every pair (mentees x mentors memory: small cohorts)."""
    problem = build_problem(cohort, settings or Settings())
    rows = np.arange(len(problem.mentees.ids))
    scored = score_rows(problem, rows)
    ok = feasible(problem, rows, violations(problem, rows, scored, problem.residual))
    return CohortScores(problem.mentees.ids, problem.mentors.ids, scored.score, ok, problem.residual)


def _indices(problem: Problem, mentee_id: str, mentor_id: str) -> tuple[int, int]:
    if mentee_id not in problem.mentee_index or mentor_id not in problem.mentor_index:
        raise CohortError(f"unknown pair ({mentee_id}, {mentor_id})")
    return problem.mentee_index[mentee_id], problem.mentor_index[mentor_id]
