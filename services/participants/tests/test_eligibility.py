"""Eligibility rules, with the Mexico pilot's criteria: each rule's result and
reason, the verdict, and coordinators' overrides."""

from typing import Any

import pytest

from services.participants.domain.eligibility import Applicant, evaluate, evaluate_rule
from services.participants.schemas.programs import EligibilityRule
from services.participants.tests.conftest import MEXICO_CRITERIA, Cohort, form, snapshot

RULES = [EligibilityRule.model_validate(r).model_dump(mode="json") for r in MEXICO_CRITERIA]


def _applicant(role: str, **overrides: Any) -> Applicant:
    return Applicant(role=role, assigned_role=None, answers={"role": role, **form(role), **overrides})


def _finals(applicant: Applicant, overrides: dict[str, bool] | None = None) -> dict[str, str]:
    result = evaluate(RULES, applicant, overrides or {})
    return {r.rule_id: r.final for r in result.rules} | {"verdict": result.verdict}


def test_a_mentee_who_meets_the_criteria_awaits_the_expectations_review() -> None:
    assert _finals(_applicant("mentee")) == {
        "woman": "passed", "stem": "passed", "university_member": "passed", "training": "passed",
        "expectations": "needs_review", "funding": "not_applicable", "recognition": "not_applicable",
        "verdict": "needs_review",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("role", "answers", "failing", "reason"),
    [
        ("mentee", {"identifies_as_woman": False}, "woman", "identifies_as_woman is false"),
        ("mentee", {"stem_field": "humanities"}, "stem", "stem_field is 'humanities', not one of ["),
        ("mentee", {"affiliation": "staff"}, "university_member", "affiliation is 'staff', not one of ["),
        ("mentee", {"willing_to_train": False}, "training", "willing_to_train is false"),
        ("mentee", {"willing_to_train": None}, "training", "willing_to_train is not answered"),
        ("mentee", {"expectations": None}, "expectations", "expectations is not answered"),
        ("mentor", {"funding_experience": False}, "funding", "funding_experience is false"),
        ("mentor", {"has_recognition": False}, "recognition", "has_recognition is false"),
    ],
)
def test_each_pilot_criterion_turns_an_applicant_away_with_a_reason(
    role: str, answers: dict[str, Any], failing: str, reason: str
) -> None:
    result = evaluate(RULES, _applicant(role, **answers), {})
    assert result.verdict == "ineligible"
    failed = [r for r in result.rules if r.final == "failed"]
    assert [r.rule_id for r in failed] == [failing]
    assert failed[0].reason.startswith(reason)


@pytest.mark.parametrize("affiliation", ["full_time_faculty", "part_time_faculty", "undergraduate", "graduate"])
def test_professors_and_enrolled_students_are_members_of_the_university(affiliation: str) -> None:
    outcome, reason = evaluate_rule(RULES[2], _applicant("mentee", affiliation=affiliation))
    assert outcome == "passed" and f"'{affiliation}', one of [" in reason


def test_mentor_rules_do_not_apply_to_mentees_and_say_so() -> None:
    outcome, reason = evaluate_rule(RULES[5], _applicant("mentee", funding_experience=False))
    assert outcome == "not_applicable" and reason == "Applies to mentor applicants; this one seeks mentee"


@pytest.mark.parametrize(
    ("rule", "value", "outcome"),
    [
        ({"op": "gte", "value": 5}, 5, "passed"),
        ({"op": "gte", "value": 5}, 4, "failed"),
        ({"op": "gt", "value": 5}, 5, "failed"),
        ({"op": "lt", "value": 5}, 4, "passed"),
        ({"op": "lte", "value": 5}, 6, "failed"),
        ({"op": "equals", "value": 3}, 3, "passed"),
        ({"op": "not_equals", "value": 3}, 3, "failed"),
    ],
)
def test_numeric_comparisons(rule: dict[str, Any], value: int, outcome: str) -> None:
    full = {"id": "years", "field": "years_of_experience", "description": "Experiencia", **rule}
    assert evaluate_rule(full, _applicant("mentor", years_of_experience=value))[0] == outcome


def test_comparisons_say_which_way_they_went() -> None:
    rule = {"id": "years", "field": "years_of_experience", "op": "gte", "value": 5, "description": "d"}
    assert evaluate_rule(rule, _applicant("mentor", years_of_experience=4)) == ("failed", "years_of_experience is 4, not >= 5")
    assert evaluate_rule(rule, _applicant("mentor", years_of_experience=5)) == ("passed", "years_of_experience is 5, >= 5")


def test_equals_and_not_in_on_vocabularies() -> None:
    app = _applicant("mentee", career_stage="graduate_student")
    assert evaluate_rule({"id": "a", "field": "career_stage", "op": "equals", "value": "graduate_student"}, app)[0] == "passed"
    not_in = {"id": "b", "field": "stem_field", "op": "not_in", "value": ["chemistry"]}
    assert evaluate_rule(not_in, app) == ("failed", "stem_field is 'chemistry', one of [chemistry]")


@pytest.mark.parametrize("unanswered", [None, "", []])
def test_an_empty_answer_fails_even_a_review_rule(unanswered: Any) -> None:
    review = {"id": "evidence", "field": "evidence", "op": "review", "description": "d"}
    assert evaluate_rule(review, _applicant("mentee", evidence=unanswered)) == ("failed", "evidence is not answered")
    assert evaluate_rule(review, _applicant("mentee")) == ("needs_review", "A coordinator must review evidence")


def test_an_override_replaces_the_result_but_not_a_rule_that_does_not_apply() -> None:
    overrides = {"university_member": True, "expectations": True, "funding": False}
    finals = _finals(_applicant("mentee", affiliation="staff"), overrides)
    assert (finals["university_member"], finals["expectations"], finals["funding"], finals["verdict"]) == (
        "passed", "passed", "not_applicable", "eligible"
    )  # fmt: skip


def test_an_override_that_fails_a_rule_makes_her_ineligible_and_keeps_the_automatic_outcome() -> None:
    result = evaluate(RULES, _applicant("mentee"), {"woman": False})
    woman = next(r for r in result.rules if r.rule_id == "woman")
    assert (woman.outcome, woman.final, result.verdict) == ("passed", "failed", "ineligible")


# ---------------------------------------------------------------------------
# Through the API


def test_results_and_overrides_through_the_api(cohort: Cohort, engine: Any) -> None:
    person = cohort.person("mentora")
    application = cohort.submitted(person, "mentor", funding_experience=False)
    url = f"/v1/applications/{application['id']}/eligibility"

    shown = person.get(url).json()
    assert shown["verdict"] == "ineligible"
    funding = next(r for r in shown["rules"] if r["rule_id"] == "funding")
    assert funding == {
        "rule_id": "funding",
        "expression": "for mentor: funding_experience is true",
        "description": "Experience with funding calls",
        "outcome": "failed",
        "reason": "funding_experience is false",
        "override": None,
        "final": "failed",
    }

    override = cohort.coordinator.request(
        "PUT", f"{url}/overrides/funding", json={"passed": True, "reason": "Co-investigadora en dos proyectos CONACYT"}
    )
    assert override.status_code == 200, override.text
    funding = next(r for r in override.json()["rules"] if r["rule_id"] == "funding")
    assert (funding["outcome"], funding["final"]) == ("failed", "passed")
    assert funding["override"]["reason"] == "Co-investigadora en dos proyectos CONACYT"
    assert funding["override"]["decided_by"] == "coord-a"
    assert override.json()["verdict"] == "needs_review"
    assert cohort.review(application["id"])["verdict"] == "eligible"
    assert cohort.coordinator.get(f"/v1/programs/{cohort.id}/applications").json()["items"][0]["eligibility"] == "eligible"

    before = snapshot(engine)
    unknown = cohort.coordinator.request("PUT", f"{url}/overrides/salary", json={"passed": True, "reason": "x"})
    assert unknown.status_code == 404
    cohort.decide(application["id"], "accepted")
    late = cohort.coordinator.request("PUT", f"{url}/overrides/funding", json={"passed": False, "reason": "x"})
    assert late.status_code == 409
    assert snapshot(engine)["eligibility_overrides"] == before["eligibility_overrides"]


def test_results_follow_the_current_rules(cohort: Cohort) -> None:
    application = cohort.submitted(cohort.person("p"), "mentee", stem_field="humanities")
    assert application["eligibility"] == "ineligible"
    humanities = {"id": "any_field", "field": "stem_field", "op": "in", "value": ["humanities", "chemistry"], "description": "d"}
    cohort.coordinator.patch(f"/v1/programs/{cohort.id}", json={"criteria": [humanities]})
    assert cohort.coordinator.get(f"/v1/applications/{application['id']}").json()["eligibility"] == "eligible"
