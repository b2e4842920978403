"""Stable matching: no blocking pairs, mentee-optimality, and the blocking-pair counter."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings

from services.matching.domain import Cohort, Settings, count_blocking_pairs, match, score_cohort
from services.matching.enums import Algorithm

from . import engine_brute as brute
from .engine_cohorts import random_cohort, small_cohorts
from .test_engine_optimal import assert_no_rule_broken

STABLE = Algorithm.stable


@settings(max_examples=60, deadline=None)
@given(small_cohorts())
def test_stable_runs_have_no_blocking_pairs(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    s = dataclasses.replace(s, algorithm=STABLE)
    cs = score_cohort(cohort, s)
    result = match(cohort, s)
    assignment = brute.as_assignment(cs, [(p.mentee_id, p.mentor_id) for p in result.pairs])
    assert brute.blocking_pairs(cs, assignment) == 0
    assert result.blocking_pairs == 0
    assert_no_rule_broken(cohort, s, result)


@settings(max_examples=60, deadline=None)
@given(small_cohorts(max_mentees=5, max_mentors=3))
def test_stable_runs_are_mentee_optimal(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    s = dataclasses.replace(s, algorithm=STABLE)
    cs = score_cohort(cohort, s)
    stable = [a for a in brute.matchings(cs) if brute.blocking_pairs(cs, a) == 0]
    result = brute.as_assignment(cs, [(p.mentee_id, p.mentor_id) for p in match(cohort, s).pairs])
    assert result in stable

    def rank(i: int, j: int) -> tuple[float, int]:
        return (-1.0, 0) if j < 0 else (float(cs.scores[i, j]), -j)

    for i in range(len(cs.mentee_ids)):
        assert rank(i, result[i]) == max(rank(i, a[i]) for a in stable)


@settings(max_examples=60, deadline=None)
@given(small_cohorts())
def test_blocking_pair_counter_agrees_with_brute_force_on_any_matching(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    cs = score_cohort(cohort, s)
    every = list(brute.matchings(cs))
    for a in random.Random(len(every)).sample(every, min(5, len(every))):
        assert count_blocking_pairs(cs.scores, cs.feasible, a, cs.capacity) == brute.blocking_pairs(cs, a)


def test_truncated_lists_are_extended_and_give_the_same_stable_matching() -> None:
    cohort = random_cohort(200, 70, 3, seed=11)
    s = Settings(algorithm=STABLE, max_capacity=3)
    full = match(cohort, s)
    short = match(cohort, dataclasses.replace(s, dense_limit=0, candidates_per_mentee=2))
    assert short.parameters["pruned"]
    assert [(p.mentee_id, p.mentor_id) for p in short.pairs] == [(p.mentee_id, p.mentor_id) for p in full.pairs]
    assert full.blocking_pairs == short.blocking_pairs == 0
    cs = score_cohort(cohort, s)
    assignment = brute.as_assignment(cs, [(p.mentee_id, p.mentor_id) for p in full.pairs])
    assert count_blocking_pairs(cs.scores, cs.feasible, assignment, cs.capacity) == 0


def test_optimal_runs_report_their_blocking_pairs() -> None:
    cohort = random_cohort(200, 70, 3, seed=5)
    s = Settings(max_capacity=3)
    result = match(cohort, s)
    cs = score_cohort(cohort, s)
    assignment = brute.as_assignment(cs, [(p.mentee_id, p.mentor_id) for p in result.pairs])
    assert result.blocking_pairs == count_blocking_pairs(cs.scores, cs.feasible, assignment, cs.capacity)
    pruned = match(cohort, dataclasses.replace(s, dense_limit=0, candidates_per_mentee=3))
    assignment = brute.as_assignment(cs, [(p.mentee_id, p.mentor_id) for p in pruned.pairs])
    assert pruned.blocking_pairs == count_blocking_pairs(cs.scores, cs.feasible, assignment, cs.capacity)
