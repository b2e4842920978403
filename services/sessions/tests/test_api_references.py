"""Ids inside request bodies are checked like ids in paths (servicekit.references): a participant in a program's
attendance must be in one of that program's dyads, a meeting or objective in a dyad's diary or progress that dyad's.
Another institution's id, another program's or dyad's, a random one: the same 422 unknown-reference naming the field,
and nothing written. A malformed id is a 422 naming the field too."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.sessions.tests.conftest import objective_body, ok

EVENT = {"title": "Kickoff", "kind": "kickoff", "starts_at": "2026-08-03T16:00:00Z", "duration_minutes": 90,
         "modality": "in_person", "place": "Auditorio"}


def _refused(r: Any, *fields: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:aliada:problem:unknown-reference", problem
    assert [e["field"] for e in problem["errors"]] == list(fields)
    assert all(e["code"] == "unknown_reference" for e in problem["errors"])
    return problem


@pytest.fixture
def setting(world: Any) -> dict[str, Any]:
    inst, elsewhere = world.institution(), world.institution()
    sibling = dataclasses.replace(inst, program_id=str(uuid.uuid4()))  # another program of the same institution
    dyads = [world.dyad(inst, 1), world.dyad(inst, 2)]
    event = ok(inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json=EVENT), 201)
    return {"inst": inst, "dyads": dyads, "far": world.dyad(elsewhere, 3), "sibling": world.dyad(sibling, 4), "event": event}


def _people(dyad: Any) -> list[str]:
    return [dyad.payload["mentee"]["participant_id"], dyad.payload["mentor"]["participant_id"]]


@pytest.mark.parametrize("bad", ["random", "other_institution", "other_program"])
def test_attendance_names_only_participants_of_the_program(setting: dict[str, Any], bad: str) -> None:
    inst, event = setting["inst"], setting["event"]
    url = f"/v1/group-events/{event['id']}/attendance"
    members = _people(setting["dyads"][0]) + _people(setting["dyads"][1])
    first = ok(inst.coordinator.put(url, json={"records": [{"participant_id": members[0], "attended": True}]}))
    assert first["attended"] == 1
    stranger = {"random": str(uuid.uuid4()), "other_institution": _people(setting["far"])[0],
                "other_program": _people(setting["sibling"])[1]}[bad]
    records = [{"participant_id": p, "attended": False} for p in members[1:]]
    records.insert(1, {"participant_id": stranger, "attended": True})
    for caller in (inst.coordinator, inst.admin):  # an admin records in the event's institution, not anywhere
        _refused(caller.put(url, json={"records": records}), "body.records.1.participant_id")
        _refused(caller.put(url, json={"records": [{"participant_id": stranger, "attended": True}]}), "body.records.0.participant_id")
    after = ok(inst.coordinator.get(url))
    assert [(r["participant_id"], r["attended"]) for r in after["records"]] == [(members[0], True)]  # nothing half-written


def test_unknown_and_foreign_ids_get_one_answer_and_every_bad_item_is_named(setting: dict[str, Any]) -> None:
    inst, url = setting["inst"], f"/v1/group-events/{setting['event']['id']}/attendance"
    answers = []
    for stranger in (str(uuid.uuid4()), _people(setting["far"])[0], _people(setting["sibling"])[0]):
        problem = _refused(inst.coordinator.put(url, json={"records": [{"participant_id": stranger, "attended": True}]}),
                           "body.records.0.participant_id")
        answers.append({k: v for k, v in problem.items() if k not in ("request_id", "instance")})
    assert answers[0] == answers[1] == answers[2]
    good = _people(setting["dyads"][0])
    records = [{"participant_id": good[0], "attended": True}, {"participant_id": str(uuid.uuid4()), "attended": True},
               {"participant_id": good[1], "attended": True}, {"participant_id": _people(setting["far"])[1], "attended": False}]
    _refused(inst.coordinator.put(url, json={"records": records}), "body.records.1.participant_id", "body.records.3.participant_id")
    assert ok(inst.coordinator.get(url))["records"] == []


def test_a_whole_program_attends_and_a_dissolved_dyad_still_counts(setting: dict[str, Any], world: Any) -> None:
    inst, url = setting["inst"], f"/v1/group-events/{setting['event']['id']}/attendance"
    everyone = [p for d in setting["dyads"] for p in _people(d)]
    everyone += [p for d in (world.dyad(inst, n) for n in range(5, 25)) for p in _people(d)]
    got = ok(inst.coordinator.put(url, json={"records": [{"participant_id": p, "attended": True} for p in everyone]}))
    assert got["attended"] == len(everyone) == 44


@pytest.mark.parametrize("malformed", ["not-a-uuid", "", 42, None])
def test_a_malformed_participant_id_is_422_naming_the_field(setting: dict[str, Any], malformed: Any) -> None:
    inst, url = setting["inst"], f"/v1/group-events/{setting['event']['id']}/attendance"
    good = _people(setting["dyads"][0])[0]
    r = inst.coordinator.put(url, json={"records": [{"participant_id": good, "attended": True},
                                                     {"participant_id": malformed, "attended": True}]})
    assert r.status_code == 422 and r.json()["type"] == "urn:aliada:problem:validation-error"
    assert [e["field"] for e in r.json()["errors"]] == ["body.records.1.participant_id"]
    assert ok(inst.coordinator.get(url))["records"] == []


def test_who_may_record_is_decided_before_the_references(setting: dict[str, Any], world: Any) -> None:
    """Callers who may not see the event get its 404 (or 403), never a hint about the ids they sent."""
    url = f"/v1/group-events/{setting['event']['id']}/attendance"
    body = {"records": [{"participant_id": str(uuid.uuid4()), "attended": True}]}
    far, dyad = setting["far"], setting["dyads"][0]
    other_coordinator = world.caller("coord", sub="coord-x", tid=far.institution_id, roles=["coordinator"])
    assert other_coordinator.put(url, json=body).status_code == 404
    assert far.mentee.put(url, json=body).status_code == 404
    assert dyad.mentee.put(url, json=body).status_code == 403
    client = world.caller("lms", sub="client-lms", tid=setting["inst"].id, roles=[], scope="events:read", client_id="lms")
    assert client.put(url, json=body).status_code in (403, 404)
    assert world.http.put(url, json=body).status_code == 401


def test_diary_and_progress_name_only_the_dyads_own_meetings_and_objectives(setting: dict[str, Any], frozen: Any) -> None:
    mine, theirs, far = setting["dyads"][0], setting["dyads"][1], setting["far"]
    frozen.set(datetime.fromisoformat(mine.meetings()[0]["start"]) + timedelta(hours=2))
    objectives = {d.id: ok(d.mentee.post("/v1/objectives", json=objective_body(d.id)), 201)["id"] for d in (mine, theirs, far)}
    meetings = {d.id: d.meetings()[0]["id"] for d in (mine, theirs, far)}
    entry = {"dyad_id": mine.id, "text": "Hoy revisamos el plan", "entry_date": "2026-08-04"}
    ok(mine.mentee.post("/v1/diary", json={**entry, "objective_id": objectives[mine.id], "meeting_id": meetings[mine.id]}), 201)
    for other in (theirs.id, far.id, None):
        objective, meeting = (objectives[other], meetings[other]) if other else (str(uuid.uuid4()), str(uuid.uuid4()))
        _refused(mine.mentee.post("/v1/diary", json={**entry, "objective_id": objective}), "body.objective_id")
        _refused(mine.mentee.post("/v1/diary", json={**entry, "meeting_id": meeting}), "body.meeting_id")
        _refused(mine.mentee.post("/v1/diary", json={**entry, "objective_id": objective, "meeting_id": meeting}),
                 "body.objective_id", "body.meeting_id")
        _refused(mine.mentee.post(f"/v1/objectives/{objectives[mine.id]}/progress", json={"value": 1, "meeting_id": meeting}),
                 "body.meeting_id")
    assert len(ok(mine.mentee.get("/v1/diary", params={"dyad_id": mine.id}))) == 1
    assert ok(mine.mentee.get(f"/v1/objectives/{objectives[mine.id]}/progress")) == []
    r = mine.mentee.post("/v1/diary", json={**entry, "meeting_id": "12345"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.meeting_id"]
    ok(mine.mentee.post(f"/v1/objectives/{objectives[mine.id]}/progress", json={"value": 1, "meeting_id": meetings[mine.id]}), 201)
