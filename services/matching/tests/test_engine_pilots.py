"""The Mexico and Peru pilots, determinism, and re-matching from a substitute."""

from __future__ import annotations

import dataclasses
import random

import pytest

from services.matching.domain import (
    CohortError,
    HardRules,
    MatchResult,
    Pair,
    Settings,
    add_pair,
    explain_pair,
    match,
    rank_substitutes,
)
from services.matching.enums import Algorithm

from .engine_cohorts import PERU_SETTINGS, mexico_pilot, peru_pilot, random_cohort


def without_timings(result: MatchResult) -> MatchResult:
    return dataclasses.replace(result, timings={})


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_mexico_pilot_gives_14_pairs_across_campuses_and_2_substitutes(algorithm: Algorithm) -> None:
    cohort = mexico_pilot()
    result = match(cohort, Settings(algorithm=algorithm))
    assert result.matched == 14 and result.unmatched_mentees == ()
    people = {p.id: p for p in (*cohort.mentors, *cohort.mentees)}
    for p in result.pairs:
        mentee, mentor = people[p.mentee_id], people[p.mentor_id]
        assert mentee.campus_id != mentor.campus_id
        assert mentee.academic_unit_id != mentor.academic_unit_id
    assert len(result.substitutes) == 2
    assert [s.rank for s in result.substitutes] == [1, 2]
    assert {s.mentor_id for s in result.substitutes}.isdisjoint(p.mentor_id for p in result.pairs)
    first, second = result.substitutes
    assert (first.feasible_mentees, first.mean_feasible_score) >= (second.feasible_mentees, second.mean_feasible_score)
    assert result.min_score <= result.mean_score <= 1.0
    assert result.total_score == pytest.approx(sum(p.score for p in result.pairs))


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_peru_pilot_matches_all_40_mentees_with_capacity_2(algorithm: Algorithm) -> None:
    result = match(peru_pilot(), dataclasses.replace(PERU_SETTINGS, algorithm=algorithm))
    assert result.matched == 40
    assert max(sum(p.mentor_id == m.id for p in result.pairs) for m in peru_pilot().mentors) == 2
    assert result.bound.matched_upper == 40


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_same_input_in_any_order_gives_the_same_result(algorithm: Algorithm) -> None:
    cohort = random_cohort(120, 50, 2, seed=1)
    s = Settings(algorithm=algorithm, max_capacity=2)
    once = without_timings(match(cohort, s))
    assert once == without_timings(match(cohort, s))
    rng = random.Random(4)
    shuffled = dataclasses.replace(
        cohort, mentors=rng.sample(cohort.mentors, len(cohort.mentors)), mentees=rng.sample(cohort.mentees, len(cohort.mentees))
    )
    assert without_timings(match(shuffled, s)) == once


def test_result_reports_solver_parameters_and_timings() -> None:
    result = match(mexico_pilot())
    assert "linear_sum_assignment" in result.solver
    assert result.parameters["rules"] == [
        "different_campus",
        "different_academic_unit",
        "different_career_stage",
        "mentor_capacity",
    ]
    assert {"encode", "scoring", "feasibility", "candidates", "solve", "total"} <= set(result.timings)


def test_dissolve_then_rematch_from_a_substitute_changes_no_other_pair() -> None:
    cohort = mexico_pilot()
    result = match(cohort)
    current = [Pair(p.mentee_id, p.mentor_id) for p in result.pairs]
    dissolved = current.pop(3)
    s = Settings(rules=HardRules(forbidden_pairs=frozenset({dissolved})))
    options = rank_substitutes(cohort, s, current, dissolved.mentee_id)
    assert options, "a substitute must be available"
    assert dissolved.mentor_id not in {o.mentor_id for o in options}
    assert [o.rank for o in options] == list(range(1, len(options) + 1))
    assert [o.score for o in options] == sorted((o.score for o in options), reverse=True)
    substitute_ids = {x.mentor_id for x in result.substitutes}
    chosen = next(o for o in options if o.mentor_id in substitute_ids)
    assert chosen.unmatched and chosen.spare_capacity == 1
    after = add_pair(cohort, s, current, dissolved.mentee_id, chosen.mentor_id)
    assert after[:-1] == tuple(current)
    assert after[-1] == Pair(dissolved.mentee_id, chosen.mentor_id)
    assert explain_pair(cohort, s, *after[-1]).feasible


def test_add_pair_refuses_a_rule_breaking_or_full_mentor() -> None:
    cohort = mexico_pilot()
    current = [Pair(p.mentee_id, p.mentor_id) for p in match(cohort).pairs]
    alone = current.pop(0)
    same_campus = next(
        m.id for m in cohort.mentors if m.campus_id == next(e.campus_id for e in cohort.mentees if e.id == alone.mentee_id)
    )
    with pytest.raises(CohortError, match="same campus"):
        add_pair(cohort, None, current, alone.mentee_id, same_campus)
    busy = next(
        p.mentor_id
        for p in current
        if p.mentor_id != alone.mentor_id and explain_pair(cohort, None, alone.mentee_id, p.mentor_id).feasible
    )
    with pytest.raises(CohortError, match="no free place"):
        add_pair(cohort, None, current, alone.mentee_id, busy)
    with pytest.raises(CohortError, match="already has a mentor"):
        add_pair(cohort, None, current, current[0].mentee_id, alone.mentor_id)
