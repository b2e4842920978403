"""Hard rules: feasibility, pins, forbidden and avoided pairs, reasons, and input errors."""

from __future__ import annotations

import dataclasses

import pytest

from services.matching.domain import (
    Cohort,
    CohortError,
    HardRules,
    Mentee,
    Mentor,
    Pair,
    Requests,
    Settings,
    explain_pair,
    match,
    score_cohort,
)
from services.matching.enums import Mode

from .engine_cohorts import PERU_SETTINGS, mexico_pilot, peru_pilot


def person(cls: type, id: str, campus: str = "A", unit: str = "a", **kwargs: object):
    return cls(id=id, campus_id=campus, academic_unit_id=unit, **kwargs)


def test_everyone_on_one_campus_is_reported_unmatched_with_the_campus_rule() -> None:
    result = match(peru_pilot(), dataclasses.replace(PERU_SETTINGS, rules=HardRules()))
    assert result.matched == 0 and result.pairs == ()
    assert len(result.unmatched_mentees) == 40
    for unmatched in result.unmatched_mentees:
        assert unmatched.feasible_mentors == 0
        assert unmatched.reasons[0] == "different_campus"
        assert unmatched.excluded_by["different_campus"] == 20
        assert "different_campus excludes 20" in unmatched.message
    assert len(result.substitutes) == 20


def test_reasons_count_what_each_rule_excluded() -> None:
    cohort = Cohort(
        mentees=(person(Mentee, "e", "A", "a", languages=frozenset({"es"})),),
        mentors=(
            person(Mentor, "r1", "A", "b", languages=frozenset({"es"})),
            person(Mentor, "r2", "B", "b", languages=frozenset({"en"})),
            person(Mentor, "r3", "A", "c", languages=frozenset({"en"})),
        ),
    )
    result = match(cohort, Settings(rules=HardRules(shared_language=True)))
    (unmatched,) = result.unmatched_mentees
    assert unmatched.excluded_by == {"different_campus": 2, "shared_language": 2}
    assert unmatched.only_rule == {"different_campus": 1, "shared_language": 1}
    assert set(unmatched.reasons) == {"different_campus", "shared_language"}


def test_each_pairwise_rule_forbids_what_it_says() -> None:
    mentee = person(
        Mentee,
        "e",
        "A",
        "a",
        career_stage="grad",
        languages=frozenset({"es"}),
        availability=((0, 600, 630),),
        requests=Requests(avoid_ids=frozenset({"r-avoided"})),
    )
    mentors = (
        person(Mentor, "r-campus", "A", "b", career_stage="prof", languages=frozenset({"es"}), availability=((0, 600, 660),)),
        person(Mentor, "r-unit", "B", "a", career_stage="prof", languages=frozenset({"es"}), availability=((0, 600, 660),)),
        person(Mentor, "r-stage", "B", "b", career_stage="grad", languages=frozenset({"es"}), availability=((0, 600, 660),)),
        person(Mentor, "r-language", "B", "b", career_stage="prof", languages=frozenset({"en"}), availability=((0, 600, 660),)),
        person(Mentor, "r-overlap", "B", "b", career_stage="prof", languages=frozenset({"es"}), availability=((1, 600, 660),)),
        person(
            Mentor,
            "r-full",
            "B",
            "b",
            career_stage="prof",
            languages=frozenset({"es"}),
            availability=((0, 600, 660),),
            capacity=0,
        ),
        person(Mentor, "r-forbidden", "B", "b", career_stage="prof", languages=frozenset({"es"}), availability=((0, 600, 660),)),
        person(Mentor, "r-avoided", "B", "b", career_stage="prof", languages=frozenset({"es"}), availability=((0, 600, 660),)),
        person(Mentor, "r-ok", "B", "b", career_stage="prof", languages=frozenset({"es"}), availability=((0, 600, 660),)),
    )
    rules = HardRules(shared_language=True, min_weekly_overlap_minutes=30, forbidden_pairs=frozenset({Pair("e", "r-forbidden")}))
    cohort = Cohort(mentees=(mentee,), mentors=mentors)
    expected = {
        "r-campus": "different_campus",
        "r-unit": "different_academic_unit",
        "r-stage": "different_career_stage",
        "r-language": "shared_language",
        "r-overlap": "min_weekly_overlap_minutes",
        "r-full": "mentor_capacity",
        "r-forbidden": "forbidden_pairs",
        "r-avoided": "avoid_list",
    }
    for mentor_id, rule in expected.items():
        assert [v.rule for v in explain_pair(cohort, Settings(rules=rules), "e", mentor_id).violations] == [rule]
    assert explain_pair(cohort, Settings(rules=rules), "e", "r-ok").feasible
    assert explain_pair(cohort, Settings(rules=rules, mode=Mode.peer), "e", "r-stage").feasible
    assert match(cohort, Settings(rules=rules)).pairs[0].mentor_id == "r-ok"


def test_pinned_pairs_are_forced_even_across_other_rules() -> None:
    cohort = mexico_pilot()
    same_campus = Pair("mx-e03", "mx-r00")
    result = match(cohort, Settings(rules=HardRules(pinned_pairs=frozenset({same_campus}))))
    pinned = [p for p in result.pairs if p.pinned]
    assert [(p.mentee_id, p.mentor_id) for p in pinned] == [same_campus]
    assert sum(p.mentor_id == "mx-r00" for p in result.pairs) == 1
    explanation = explain_pair(cohort, Settings(rules=HardRules(pinned_pairs=frozenset({same_campus}))), *same_campus)
    assert explanation.pinned and explanation.feasible
    assert [v.rule for v in explanation.violations] == ["different_campus"]
    other = explain_pair(cohort, Settings(rules=HardRules(pinned_pairs=frozenset({same_campus}))), "mx-e03", "mx-r01")
    assert "pinned_pairs" in [v.rule for v in other.violations]


def test_forbidden_pairs_and_avoid_lists_are_never_matched() -> None:
    cohort = mexico_pilot()
    first = match(cohort)
    forbidden = frozenset(Pair(p.mentee_id, p.mentor_id) for p in first.pairs[:5])
    second = match(cohort, Settings(rules=HardRules(forbidden_pairs=forbidden)))
    assert not forbidden & {Pair(p.mentee_id, p.mentor_id) for p in second.pairs}
    victim = first.pairs[0]
    mentees = tuple(
        dataclasses.replace(m, requests=Requests(avoid_ids=frozenset({victim.mentor_id}))) if m.id == victim.mentee_id else m
        for m in cohort.mentees
    )
    third = match(dataclasses.replace(cohort, mentees=mentees))
    assert (victim.mentee_id, victim.mentor_id) not in {(p.mentee_id, p.mentor_id) for p in third.pairs}


def test_capacity_rule_off_uses_the_program_maximum() -> None:
    cohort = Cohort(
        mentees=tuple(person(Mentee, f"e{i}", "A") for i in range(3)), mentors=(person(Mentor, "r", "B", "b", capacity=1),)
    )
    assert match(cohort, Settings(max_capacity=3)).matched == 1
    assert match(cohort, Settings(max_capacity=3, rules=HardRules(mentor_capacity=False))).matched == 3
    assert score_cohort(cohort, Settings(max_capacity=2, rules=HardRules(mentor_capacity=False))).capacity.tolist() == [2]


@pytest.mark.parametrize(
    ("cohort", "rules", "message"),
    [
        (Cohort(mentees=(), mentors=(person(Mentor, "r"), person(Mentor, "r"))), HardRules(), "duplicate mentor ids"),
        (
            Cohort(mentees=(person(Mentee, "e"),), mentors=(person(Mentor, "r"),)),
            HardRules(forbidden_pairs=frozenset({Pair("e", "x")})),
            "unknown pair",
        ),
        (
            Cohort(mentees=(person(Mentee, "e"),), mentors=(person(Mentor, "r"),)),
            HardRules(forbidden_pairs=frozenset({Pair("e", "r")}), pinned_pairs=frozenset({Pair("e", "r")})),
            "also forbidden",
        ),
        (
            Cohort(mentees=(person(Mentee, "e"),), mentors=(person(Mentor, "r"), person(Mentor, "s"))),
            HardRules(pinned_pairs=frozenset({Pair("e", "r"), Pair("e", "s")})),
            "pinned to two mentors",
        ),
        (
            Cohort(mentees=(person(Mentee, "e"), person(Mentee, "f")), mentors=(person(Mentor, "r"),)),
            HardRules(pinned_pairs=frozenset({Pair("e", "r"), Pair("f", "r")})),
            "exceed the capacity",
        ),
        (Cohort(mentees=(person(Mentee, "e", availability=((7, 0, 60),)),), mentors=()), HardRules(), "invalid availability"),
    ],
)
def test_contradictory_inputs_raise_cohort_error(cohort: Cohort, rules: HardRules, message: str) -> None:
    with pytest.raises(CohortError, match=message):
        match(cohort, Settings(rules=rules))


def test_empty_cohorts_are_fine() -> None:
    assert match(Cohort(mentees=(), mentors=())).matched == 0
    result = match(Cohort(mentees=(person(Mentee, "e"),), mentors=()))
    assert result.unmatched_mentees[0].message == "the cohort has no mentors"
