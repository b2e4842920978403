"""Ids inside request bodies are checked like ids in paths (servicekit.references): campuses and academic units of
the record's own institution, applications of the program the decisions and invitations are posted to. Another
institution's id, another program's, a random one: the same 422 unknown-reference naming each field, nothing written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.participants.tests.conftest import Caller, Cohort, World, open_cohort, snapshot


def _refused(r: Any, *fields: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"] == "urn:aliada:problem:unknown-reference", problem
    assert [e["field"] for e in problem["errors"]] == list(fields)
    assert all(e["code"] == "unknown_reference" for e in problem["errors"])
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


@pytest.fixture
def others(cohort: Cohort, other_coordinator: Caller, http: Any, mint: Any, world: World) -> dict[str, Cohort]:
    return {"sibling": open_cohort(cohort.coordinator, http, mint, world.a["id"]),  # same institution, another program
            "far": open_cohort(other_coordinator, http, mint, world.b["id"])}


def test_places_name_records_of_her_institution(cohort: Cohort, world: World, engine: Any) -> None:
    person = cohort.person("ana", roles=["mentee"])
    cohort.confirmed(person)
    me = person.get("/v1/participants/me").json()
    url = f"/v1/participants/{me['id']}"
    assert cohort.coordinator.patch(url, json={"campus_id": world.campus_a["id"], "academic_unit_id": world.unit_a["id"]}).status_code == 200
    before = snapshot(engine)
    answers = []
    for campus, unit in ((world.campus_b["id"], world.unit_b["id"]), (str(uuid.uuid4()), str(uuid.uuid4()))):
        answers.append(_refused(cohort.coordinator.patch(url, json={"campus_id": campus}), "body.campus_id"))
        _refused(cohort.coordinator.patch(url, json={"campus_id": campus, "academic_unit_id": unit}), "body.campus_id", "body.academic_unit_id")
        _refused(cohort.coordinator.patch(url, json={"campus_id": world.campus_a["id"], "academic_unit_id": unit}), "body.academic_unit_id")
        _refused(person.patch("/v1/participants/me", json={"campus_id": campus}), "body.campus_id")
        _refused(cohort.coordinator.post(f"/v1/institutions/{world.a['id']}/academic-units",
                                         json={"name": "Física", "kind": "school", "campus_id": campus}), "body.campus_id")
        _refused(cohort.coordinator.patch(f"/v1/institutions/{world.a['id']}/academic-units/{world.unit_a['id']}",
                                          json={"campus_id": campus}), "body.campus_id")
        applicant = cohort.person(f"p-{uuid.uuid4().hex[:6]}")
        draft = cohort.draft(applicant, n=4)
        mid = snapshot(engine)
        _refused(applicant.patch(f"/v1/applications/{draft['id']}", json={"academic_unit_id": unit}), "body.academic_unit_id")
        assert snapshot(engine) == mid
    assert answers[0] == answers[1]  # another institution's campus and no campus at all: one answer
    r = cohort.coordinator.patch(url, json={"campus_id": "campus-norte"})
    assert r.status_code == 422 and r.json()["type"].endswith("validation-error") and r.json()["errors"][0]["field"] == "body.campus_id"
    me_after = person.get("/v1/participants/me").json()
    assert (me_after["campus_id"], me_after["academic_unit_id"]) == (world.campus_a["id"], world.unit_a["id"])


@pytest.mark.parametrize("bad", ["random", "other_institution", "other_program"])
def test_decisions_and_invitations_name_applications_of_the_program(cohort: Cohort, others: dict[str, Cohort], engine: Any, bad: str) -> None:
    ready = [cohort.submitted(cohort.person(f"r{n}"), n=n) for n in range(2)]
    for application in ready:
        cohort.review(application["id"])
    if bad == "random":
        stranger = str(uuid.uuid4())
    else:
        other = others["far" if bad == "other_institution" else "sibling"]
        stranger = other.submitted(other.person(f"s-{bad}"), n=5)["id"]
    decisions = [{"application_id": a["id"], "decision": "accepted", "reason": "Cumple"} for a in ready]
    before = snapshot(engine)
    url = f"/v1/programs/{cohort.id}/decisions"
    _refused(cohort.coordinator.post(url, json={"decisions": [decisions[0], {**decisions[1], "application_id": stranger}, decisions[1]]}),
             "body.decisions.1.application_id")
    assert snapshot(engine) == before
    assert cohort.coordinator.post(url, json={"decisions": decisions}).status_code == 200
    invitations = f"/v1/programs/{cohort.id}/invitations"
    before = snapshot(engine)
    _refused(cohort.coordinator.post(invitations, json={"application_ids": [ready[0]["id"], stranger, ready[1]["id"]]}),
             "body.application_ids.1")
    assert snapshot(engine) == before
    assert len(cohort.coordinator.post(invitations, json={"application_ids": [a["id"] for a in ready]}).json()["items"]) == 2
