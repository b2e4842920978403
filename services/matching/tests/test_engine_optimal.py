"""The optimal solver against brute force, maximin, the sparse path and its bound."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from hypothesis import given, settings

from services.matching.domain import Cohort, MatchResult, Settings, match, score_cohort
from services.matching.enums import Objective

from . import engine_brute as brute
from .engine_cohorts import random_cohort, small_cohorts

PROPERTY = settings(max_examples=60, deadline=None)


def assert_no_rule_broken(cohort: Cohort, s: Settings, result: MatchResult) -> None:
    cs = score_cohort(cohort, s)
    mentee = {x: i for i, x in enumerate(cs.mentee_ids)}
    mentor = {x: j for j, x in enumerate(cs.mentor_ids)}
    for p in result.pairs:
        assert cs.feasible[mentee[p.mentee_id], mentor[p.mentor_id]], p
        assert p.score == pytest.approx(float(cs.scores[mentee[p.mentee_id], mentor[p.mentor_id]]))
    load = Counter(p.mentor_id for p in result.pairs)
    assert all(load[x] <= cs.capacity[j] for x, j in mentor.items())
    assert len({p.mentee_id for p in result.pairs}) == len(result.pairs)
    assert result.matched + len(result.unmatched_mentees) == len(cs.mentee_ids)


@PROPERTY
@given(small_cohorts())
def test_optimal_equals_brute_force_dense_and_sparse(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    cs = score_cohort(cohort, s)
    best = max(brute.matchings(cs), key=lambda a: (brute.matched(a), brute.total(cs, a)))
    for variant in (s, dataclasses.replace(s, dense_limit=0)):
        result = match(cohort, variant)
        assert result.matched == brute.matched(best)
        assert result.total_score == pytest.approx(brute.total(cs, best), abs=1e-5)
        assert result.bound.exact
        assert_no_rule_broken(cohort, variant, result)


@PROPERTY
@given(small_cohorts())
def test_maximin_equals_brute_force(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    s = dataclasses.replace(s, objective=Objective.maximin)
    cs = score_cohort(cohort, s)
    everything = list(brute.matchings(cs))
    most = max(brute.matched(a) for a in everything)
    fullest = [a for a in everything if brute.matched(a) == most]

    def worst(a: brute.Assignment) -> float:
        return min((float(cs.scores[i, j]) for i, j in enumerate(a) if j >= 0), default=0.0)

    fairest = max(worst(a) for a in fullest)
    best_total = max(brute.total(cs, a) for a in fullest if worst(a) == fairest)
    result = match(cohort, s)
    assert result.matched == most
    assert result.min_score == pytest.approx(fairest, abs=1e-6)
    assert result.total_score == pytest.approx(best_total, abs=1e-5)
    assert_no_rule_broken(cohort, s, result)


def test_pruned_sparse_solver_keeps_its_bound_and_the_rules() -> None:
    cohort = random_cohort(300, 120, 3, seed=7)
    s = Settings(max_capacity=3)
    exact = match(cohort, s)
    pruned = match(cohort, dataclasses.replace(s, dense_limit=0, candidates_per_mentee=5))
    assert exact.bound.exact and not pruned.bound.exact
    assert pruned.parameters["pruned"] and "min_weight_full_bipartite_matching" in pruned.solver
    assert pruned.matched <= exact.matched <= pruned.bound.matched_upper
    assert pruned.total_score <= exact.total_score + 1e-6 or pruned.matched > exact.matched
    assert pruned.total_score <= pruned.bound.score_upper
    assert pruned.bound.gap == pytest.approx(pruned.bound.score_upper - pruned.total_score)
    assert exact.total_score <= exact.bound.score_upper + 1e-6
    assert_no_rule_broken(cohort, s, pruned)
    assert pruned.matched == exact.matched == 300


def test_free_places_beyond_the_candidate_lists_are_used() -> None:
    cohort = random_cohort(60, 30, 1, seed=3)
    s = Settings(dense_limit=0, candidates_per_mentee=1)
    result = match(cohort, s)
    assert result.matched == match(cohort, Settings()).matched
    added = result.parameters["added_beyond_candidates"]
    assert isinstance(added, int) and added > 0
    assert_no_rule_broken(cohort, s, result)
