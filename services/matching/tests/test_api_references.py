"""Ids inside request bodies are checked like ids in paths (servicekit.references): the coordinator's pinned and
forbidden pairs name current members of the program (as participants lists them), a mentee's requests name mentors
of her program whose questionnaire is in, a rematch and a run's adjustments name people of that run. A random id,
another institution's, another program's, a withdrawn member, the wrong role: the same 422 unknown-reference naming
the field, and nothing written."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.matching.tests.conftest import Pilot, World, application_form, fill_profiles, ok, phases, profile_body, snapshot


def _refused(r: Any, *fields: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"] == "urn:aliada:problem:unknown-reference", problem
    assert [e["field"] for e in problem["errors"]] == list(fields)
    assert all(e["code"] == "unknown_reference" for e in problem["errors"])
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


def _member_of_another_program(world: World, pilot: Pilot, role: str) -> str:
    """A confirmed member of a second program of the same institution: right tenant, wrong parent."""
    c = pilot.coordinator
    body = {"name": "Otro programa", "description": "Otro.", "languages": ["es"], "mode": "one_to_one", "delivery": "hybrid",
            "phases": phases(date.today()), "criteria": [], "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad."}}
    prog = ok(c.post(f"/v1/institutions/{pilot.institution_id}/programs", json=body), 201)
    ok(c.post(f"/v1/programs/{prog['id']}/transitions", json={"to": "call_open"}))
    person = world.caller("sibling", sub=f"sibling-{uuid.uuid4().hex[:8]}", tid=pilot.institution_id, roles=[role])
    app_ = ok(person.post("/v1/applications", json={"program_id": prog["id"], "role": role, **application_form(role, 7)}), 201)
    ok(person.post(f"/v1/applications/{app_['id']}/submit"))
    ok(c.post(f"/v1/programs/{prog['id']}/decisions", json={"decisions": [{"application_id": app_["id"], "decision": "accepted", "reason": "Cumple"}]}))
    ok(c.post(f"/v1/programs/{prog['id']}/invitations", json={}))
    ok(person.post(f"/v1/applications/{app_['id']}/confirm"))
    return ok(person.get("/v1/participants/me"))["id"]


@pytest.fixture
def two(world: World) -> tuple[Pilot, Pilot]:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 1, 1), ("mentor", 2, 2), ("mentee", 1, 0), ("mentee", 2, 1), ("mentee", 0, 2)])
    far = world.pilot([("mentor", 0, 0), ("mentee", 1, 1)])
    return pilot, far


def test_settings_pairs_name_current_members_in_their_roles(world: World, two: tuple[Pilot, Pilot], engine: Any) -> None:
    pilot, far = two
    url = f"{pilot.base}/settings"
    mentee, mentor = pilot.mentees[0].participant_id, pilot.mentors[0].participant_id
    ok(pilot.coordinator.put(url, json={"forbidden_pairs": [{"mentee_participant_id": mentee, "mentor_participant_id": mentor}]}))
    saved = snapshot(engine)
    strangers = {
        "random": (str(uuid.uuid4()), str(uuid.uuid4())),
        "other institution": (far.mentees[0].participant_id, far.mentors[0].participant_id),
        "other program": (_member_of_another_program(world, pilot, "mentee"), _member_of_another_program(world, pilot, "mentor")),
        "wrong role": (pilot.mentors[1].participant_id, pilot.mentees[1].participant_id),
    }
    answers = []
    for bad_mentee, bad_mentor in strangers.values():
        good = {"mentee_participant_id": pilot.mentees[1].participant_id, "mentor_participant_id": pilot.mentors[1].participant_id}
        body = {"pinned_pairs": [good, {"mentee_participant_id": bad_mentee, "mentor_participant_id": pilot.mentors[2].participant_id}],
                "forbidden_pairs": [{"mentee_participant_id": mentee, "mentor_participant_id": bad_mentor}]}
        _refused(pilot.coordinator.put(url, json=body),
                 "body.pinned_pairs.1.mentee_participant_id", "body.forbidden_pairs.0.mentor_participant_id")
        answers.append(_refused(pilot.coordinator.put(url, json={"pinned_pairs": [
            {"mentee_participant_id": bad_mentee, "mentor_participant_id": mentor}]}), "body.pinned_pairs.0.mentee_participant_id"))
    assert all(a == answers[0] for a in answers)  # missing, foreign, other program, wrong role: one answer
    # a member who withdrew is no longer current
    membership = pilot.mentees[2].membership_id
    ok(pilot.coordinator.patch(f"/v1/programs/{pilot.id}/memberships/{membership}", json={"status": "withdrawn", "reason": "Se retiró"}))
    _refused(pilot.coordinator.put(url, json={"pinned_pairs": [
        {"mentee_participant_id": pilot.mentees[2].participant_id, "mentor_participant_id": mentor}]}), "body.pinned_pairs.0.mentee_participant_id")
    assert snapshot(engine) == saved
    r = pilot.coordinator.put(url, json={"pinned_pairs": [{"mentee_participant_id": "nope", "mentor_participant_id": mentor}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.pinned_pairs.0.mentee_participant_id"
    assert far.coordinator.put(url, json={"pinned_pairs": []}).status_code == 404  # another institution's program stays a 404


def test_a_mentees_requests_name_mentors_of_her_program_with_a_questionnaire(world: World, two: tuple[Pilot, Pilot], engine: Any) -> None:
    pilot, far = two
    url = f"{pilot.base}/profiles/me"
    for k, m in enumerate(pilot.mentors[:2]):
        ok(m.caller.put(url, json=profile_body(k, "mentor")))
    her = pilot.mentees[0]
    good = [pilot.mentors[0].participant_id, pilot.mentors[1].participant_id]
    ok(her.caller.put(url, json=profile_body(0, "mentee", requests={"requested_mentor_participant_id": good[0], "avoid_participant_ids": good[1:]})))
    saved = snapshot(engine)
    strangers = [str(uuid.uuid4()), far.mentors[0].participant_id, _member_of_another_program(world, pilot, "mentor"),
                 pilot.mentees[1].participant_id,  # a mentee is nobody's mentor
                 pilot.mentors[2].participant_id]  # her questionnaire is not in: she cannot be matched yet
    for bad in strangers:
        _refused(her.caller.put(url, json=profile_body(0, "mentee", requests={"requested_mentor_participant_id": bad})),
                 "body.requests.requested_mentor_participant_id")
        _refused(her.caller.put(url, json=profile_body(0, "mentee", requests={"avoid_participant_ids": [good[0], bad, good[1]]})),
                 "body.requests.avoid_participant_ids.1")
    assert snapshot(engine) == saved
    ok(pilot.mentors[2].caller.put(url, json=profile_body(2, "mentor")))
    ok(her.caller.put(url, json=profile_body(0, "mentee", requests={"requested_mentor_participant_id": pilot.mentors[2].participant_id})))


def test_rematch_and_adjustments_name_people_of_the_run(world: World, two: tuple[Pilot, Pilot], engine: Any) -> None:
    pilot, far = two
    fill_profiles(pilot)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    mentee, mentor = run["report"]["pairs"][0]["mentee_participant_id"], run["report"]["pairs"][0]["mentor_participant_id"]
    before = snapshot(engine)
    adjust = f"{pilot.base}/runs/{run['id']}/adjustments"
    for bad in (str(uuid.uuid4()), far.mentees[0].participant_id):
        _refused(pilot.coordinator.post(adjust, json={"pin": [{"mentee_participant_id": mentee, "mentor_participant_id": mentor},
                                                             {"mentee_participant_id": bad, "mentor_participant_id": mentor}],
                                                     "swap": [{"mentee_a": mentee, "mentee_b": bad}]}),
                 "body.pin.1.mentee_participant_id", "body.swap.0.mentee_b")
        _refused(pilot.coordinator.post(adjust, json={"forbid": [{"mentee_participant_id": mentee, "mentor_participant_id": bad}]}),
                 "body.forbid.0.mentor_participant_id")
    assert snapshot(engine) == before
    ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/publish"))
    rematch = f"{pilot.base}/rematches"
    for bad in (str(uuid.uuid4()), far.mentees[0].participant_id, pilot.mentors[0].participant_id):
        _refused(pilot.coordinator.post(rematch, json={"mentee_participant_id": bad, "mentor_participant_id": mentor}),
                 "body.mentee_participant_id")
    _refused(pilot.coordinator.post(rematch, json={"mentee_participant_id": str(uuid.uuid4()), "mentor_participant_id": far.mentors[0].participant_id}),
             "body.mentee_participant_id", "body.mentor_participant_id")
