"""Score components, the weighted mean, and pair explanations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from services.matching.domain import (
    COMPONENTS,
    Cohort,
    HardRules,
    Mentee,
    Mentor,
    Requests,
    Settings,
    Weights,
    explain_pair,
    score_cohort,
)
from services.matching.enums import Delivery

from .engine_cohorts import mexico_pilot, small_cohorts

NO_RULES = Settings(rules=HardRules(different_campus=False, different_academic_unit=False))


def pair(mentee: dict[str, Any] | None = None, mentor: dict[str, Any] | None = None, s: Settings = NO_RULES) -> dict[str, float]:
    """Component values of one mentee against one mentor."""
    cohort = Cohort(
        mentees=(Mentee(id="e", campus_id="A", academic_unit_id="a", **(mentee or {})),),
        mentors=(Mentor(id="r", campus_id="B", academic_unit_id="b", **(mentor or {})),),
    )
    explanation = explain_pair(cohort, s, "e", "r")
    return {c.name: c.value for c in explanation.components} | {"score": explanation.score}


def test_objectives_are_the_share_of_her_objectives_the_mentor_covers() -> None:
    values = pair({"objectives": frozenset("abcd")}, {"expertise": frozenset("abx")})
    assert values["objectives"] == 0.5
    assert pair({}, {"expertise": frozenset("ab")})["objectives"] == 0.0


def test_interests_are_jaccard_and_languages_any_shared() -> None:
    values = pair(
        {"interests": frozenset({"run", "music"}), "languages": frozenset({"es"})},
        {"interests": frozenset({"music", "chess", "hiking"}), "languages": frozenset({"en"})},
    )
    assert values["interests"] == pytest.approx(1 / 4)
    assert values["languages"] == 0.0
    assert pair({"languages": frozenset({"es", "en"})}, {"languages": frozenset({"en"})})["languages"] == 1.0
    assert pair()["interests"] == 0.0


@pytest.mark.parametrize(
    ("mine", "theirs", "expected"),
    [
        (Delivery.virtual, Delivery.virtual, 1.0),
        (Delivery.in_person, Delivery.in_person, 1.0),
        (Delivery.hybrid, Delivery.hybrid, 1.0),
        (Delivery.hybrid, Delivery.virtual, 0.5),
        (Delivery.in_person, Delivery.hybrid, 0.5),
        (Delivery.virtual, Delivery.in_person, 0.0),
        (Delivery.in_person, Delivery.virtual, 0.0),
    ],
)
def test_delivery_compatibility(mine: Delivery, theirs: Delivery, expected: float) -> None:
    assert pair({"delivery": mine}, {"delivery": theirs})["delivery"] == expected


def test_availability_counts_shared_minutes_against_the_target() -> None:
    assert pair({"availability": ((0, 600, 660),)}, {"availability": ((0, 630, 720),)})["availability"] == 0.5
    assert pair({"availability": ((0, 600, 900),)}, {"availability": ((0, 600, 900),)})["availability"] == 1.0


def test_availability_wraps_midnight_and_the_week_and_rounds_inward_to_quarters() -> None:
    sunday_night = pair({"availability": ((6, 1380, 1500),)}, {"availability": ((0, 0, 60),)})
    assert sunday_night["availability"] == 1.0
    rounded = pair(
        {"availability": ((1, 605, 700),)},
        {"availability": ((1, 600, 700),)},
        Settings(rules=NO_RULES.rules, availability_target_minutes=120),
    )
    assert rounded["availability"] == pytest.approx(75 / 120)  # 10:15-11:30 after rounding


def test_requests_are_neutral_unless_she_opted_in() -> None:
    plain = explain_pair(
        Cohort(
            mentees=(Mentee(id="e", campus_id="A", academic_unit_id="a", objectives=frozenset("ab")),),
            mentors=(
                Mentor(
                    id="r", campus_id="B", academic_unit_id="b", expertise=frozenset("a"), identity_tags=frozenset({"mother"})
                ),
            ),
        ),
        NO_RULES,
        "e",
        "r",
    )
    weights = {c.name: c.weight for c in plain.components}
    assert weights["requests"] == 0.0
    w = Weights()
    assert plain.score == pytest.approx((w.objectives * 0.5 + w.delivery * 1.0) / (sum(vars(w).values()) - w.requests))

    asked = {"requests": Requests(identity_match=frozenset({"mother", "rural"}))}
    assert pair(asked, {"identity_tags": frozenset({"mother"})})["requests"] == 0.5
    named = {"requests": Requests(identity_match=frozenset({"rural"}), requested_mentor_id="r")}
    assert pair(named, {"identity_tags": frozenset({"mother"})})["requests"] == 1.0


def test_contributions_add_up_to_the_score() -> None:
    explanation = explain_pair(mexico_pilot(), None, "mx-e01", "mx-r02")
    assert [c.name for c in explanation.components] == list(COMPONENTS)
    assert sum(c.contribution for c in explanation.components) == pytest.approx(explanation.score, abs=1e-6)
    total_weight = sum(c.weight for c in explanation.components)
    for c in explanation.components:
        assert 0.0 <= c.value <= 1.0
        assert c.contribution == pytest.approx(c.weight * c.value / total_weight)


def test_explanation_names_the_rule_that_forbids_the_pair() -> None:
    explanation = explain_pair(mexico_pilot(), None, "mx-e03", "mx-r00")
    assert not explanation.feasible
    assert [(v.rule, v.reason) for v in explanation.violations] == [("different_campus", "same campus: Campus Norte")]
    assert explain_pair(mexico_pilot(), None, "mx-e01", "mx-r02").violations == ()


@settings(max_examples=40, deadline=None)
@given(small_cohorts())
def test_vectorised_scores_agree_with_single_pair_explanations(case: tuple[Cohort, Settings]) -> None:
    cohort, s = case
    cs = score_cohort(cohort, s)
    assert ((cs.scores >= 0) & (cs.scores <= 1)).all()
    for i, mentee_id in enumerate(cs.mentee_ids):
        for j, mentor_id in enumerate(cs.mentor_ids):
            explanation = explain_pair(cohort, s, mentee_id, mentor_id)
            assert explanation.score == pytest.approx(float(cs.scores[i, j]))
            assert explanation.feasible == bool(cs.feasible[i, j])
