"""SMART objectives (validation per component), progress, self-reported vs perceived; diary privacy.
Milestones and the verified measure: test_api_milestones.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.sessions.tests.conftest import events, objective_body, ok, snapshot


@pytest.fixture
def started(world: Any, frozen: Any) -> Any:
    inst = world.institution()
    dyad = world.dyad(inst)
    frozen.set(datetime.fromisoformat(dyad.meetings()[0]["start"]) + timedelta(hours=2))
    return inst, dyad


CASES = [
    ("specific", {"statement": "Be better"}, "body.statement"),
    ("measurable", {"target": 0}, "body.target"),
    ("measurable", {"direction": "decrease"}, "body.direction"),
    ("measurable", {"metric": None}, "body.metric"),
    ("achievable", {"resources": []}, "body.resources"),
    ("achievable", {"plan": "Work"}, "body.plan"),
    ("relevant", {"career_goal": " "}, "body.career_goal"),
    ("time_bound", {"due_date": "2027-03-01"}, "body.due_date"),
    ("time_bound", {"due_date": None}, "body.due_date"),
]


@pytest.mark.parametrize(("component", "change", "field"), CASES)
def test_smart_validation_names_each_component(started: Any, engine: Any, component: str, change: dict[str, Any], field: str) -> None:
    _inst, dyad = started
    before = snapshot(engine)
    r = dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, **change))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["components"] == [component]
    assert any(e["field"] == field and e["code"] == f"smart_{component}" and e["message"].startswith(component) for e in body["errors"])
    assert snapshot(engine) == before


def test_objectives_from_the_first_meeting_on_with_self_reported_and_perceived_achievement(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    meetings = dyad.meetings()
    frozen.set(datetime.fromisoformat(meetings[0]["start"]) - timedelta(hours=1))
    r = dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id))
    assert r.status_code == 409 and r.json()["type"].endswith("before-first-meeting")
    frozen.set(datetime.fromisoformat(meetings[0]["start"]) + timedelta(hours=1))
    assert dyad.mentor.post("/v1/objectives", json=objective_body(dyad.id)).status_code == 403
    assert inst.coordinator.post("/v1/objectives", json=objective_body(dyad.id)).status_code == 403
    obj = ok(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id), headers={"Idempotency-Key": "o-1"}), 201)
    again = dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id), headers={"Idempotency-Key": "o-1"})
    assert again.json()["id"] == obj["id"] and len(events(engine, "objective.created")) == 1
    assert obj["milestones"] == [] and obj["achievement"]["self_reported"] is None  # nothing reported yet
    assert (obj["achievement"]["verified"], obj["achievement"]["milestones"]) == (None, 0)  # nothing verifiable without milestones
    frozen.advance(days=14)
    entry = ok(dyad.mentee.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 1, "note": "Primera enviada", "meeting_id": meetings[2]["id"]}), 201)
    assert entry["achievement"] == 50
    r = dyad.mentee.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 2, "recorded_at": "2030-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.recorded_at"
    assert dyad.mentor.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 2}).status_code == 403
    r = dyad.mentee.put(f"/v1/objectives/{obj['id']}/assessment", json={"achievement": 90})
    assert r.status_code == 409 and r.json()["type"].endswith("before-last-meeting")
    frozen.set(datetime.fromisoformat(meetings[-1]["start"]) + timedelta(minutes=30))
    ok(dyad.mentee.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 3}), 201)  # past the target: 100 %
    ok(dyad.mentee.put(f"/v1/objectives/{obj['id']}/assessment", json={"achievement": 90}))
    got = ok(dyad.mentor.put(f"/v1/objectives/{obj['id']}/assessment", json={"achievement": 70}))
    # Self-reported progress at 100 % verifies nothing: without milestones the verified measure stays null.
    assert got["achievement"] == {"verified": None, "milestones": 0, "milestones_confirmed": 0, "self_reported": 100.0,
                                  "mentee": 90.0, "mentor": 70.0, "mentee_vs_verified": None, "mentor_vs_verified": None,
                                  "mentee_vs_mentor": 20.0}
    assessed = events(engine, "objective.assessed")
    assert [e["payload"]["by"] for e in assessed] == ["mentee", "mentor"]
    assert all(set(e["payload"]) == {"objective_id", "dyad_id", "program_id", "by"} for e in assessed)  # never the rating
    assert [e["value"] for e in ok(inst.coordinator.get(f"/v1/objectives/{obj['id']}/progress"))] == [1, 3]
    assert len(ok(dyad.mentor.get(f"/v1/dyads/{dyad.id}/objectives"))) == 1


def test_diary_privacy(world: Any, started: Any) -> None:
    inst, dyad = started
    private = ok(dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": "Me siento insegura", "entry_date": "2026-08-04"}), 201)
    shared = ok(dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": "Terminé el borrador", "entry_date": "2026-08-05", "shared": True}), 201)
    assert dyad.mentor.get(f"/v1/diary/{private['id']}").status_code == 404
    assert inst.coordinator.get(f"/v1/diary/{private['id']}").status_code == 404
    assert inst.admin.get(f"/v1/diary/{private['id']}").status_code == 404
    assert ok(dyad.mentor.get(f"/v1/diary/{shared['id']}"))["text"] == "Terminé el borrador"
    assert [e["id"] for e in ok(dyad.mentor.get("/v1/diary", params={"dyad_id": dyad.id}))] == [shared["id"]]
    assert len(ok(dyad.mentee.get("/v1/diary", params={"dyad_id": dyad.id}))) == 2
    assert inst.coordinator.get("/v1/diary", params={"dyad_id": dyad.id}).status_code == 403
    counts = ok(inst.coordinator.get(f"/v1/dyads/{dyad.id}/diary-counts"))
    assert counts == {"dyad_id": dyad.id, "entries": 2, "shared": 1, "last_entry_on": "2026-08-05"}
    assert dyad.mentor.put(f"/v1/diary/{shared['id']}/sharing", json={"shared": False}).status_code == 404
    ok(dyad.mentee.put(f"/v1/diary/{shared['id']}/sharing", json={"shared": False}))
    assert dyad.mentor.get(f"/v1/diary/{shared['id']}").status_code == 404
    r = dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": "x", "entry_date": "2026-08-05", "meeting_id": "0190f1c2-0000-7000-8000-000000000301"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.meeting_id"
    assert dyad.mentor.post("/v1/diary", json={"dyad_id": dyad.id, "text": "x", "entry_date": "2026-08-05"}).status_code == 403


TEXT_CASES = [
    ("/v1/objectives", {"plan": "Draft one proposal\x00 per month"}, "body.plan"),
    ("/v1/objectives", {"statement": "Submit two grant applications\x00"}, "body.statement"),
    ("/v1/objectives", {"metric": "applications\nsubmitted"}, "body.metric"),
    ("/v1/objectives", {"unit": "apps\x7f"}, "body.unit"),
    ("/v1/objectives", {"resources": ["mentor review", "lab\x00"]}, "body.resources.1"),
    ("/v1/objectives", {"career_goal": "Lead\x00 a group"}, "body.career_goal"),
    ("/v1/diary", {"text": "Me siento\x00 insegura", "entry_date": "2026-08-04"}, "body.text"),
]


@pytest.mark.parametrize(("url", "change", "field"), TEXT_CASES, ids=[f for _, _, f in TEXT_CASES])
def test_control_characters_are_422_naming_the_field(started: Any, engine: Any, url: str, change: dict[str, Any], field: str) -> None:
    _inst, dyad = started
    before = snapshot(engine)
    r = dyad.mentee.post(url, json={**objective_body(dyad.id), **change} if url == "/v1/objectives" else {"dyad_id": dyad.id, **change})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field], r.text
    assert snapshot(engine) == before


def test_control_characters_in_a_progress_note(started: Any, engine: Any) -> None:
    _inst, dyad = started
    obj = ok(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id)), 201)
    before = snapshot(engine)
    r = dyad.mentee.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 1, "note": "Enviada\x00"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.note"]
    assert snapshot(engine) == before
