"""Feedback forms: the exact deadline boundary (frozen time), refusals, readers, overdue lists and the sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.sessions.tests.conftest import RATINGS, events, ok, snapshot


def _held(dyad: Any, frozen: Any, n: int = 0) -> tuple[dict[str, Any], datetime]:
    m = dyad.meetings()[n]
    start = datetime.fromisoformat(m["start"])
    frozen.set(start + timedelta(minutes=30))
    ok(dyad.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
    return m, start + timedelta(minutes=60 + 48 * 60)


def _submit(caller: Any, meeting_id: str, headers: dict[str, str] | None = None, **over: Any) -> Any:
    body = {"meeting_id": meeting_id, "ratings": RATINGS, "meeting_took_place": True, **over}
    return caller.post("/v1/feedback", json=body, headers=headers or {})


def test_on_time_at_the_exact_due_moment_and_late_one_microsecond_after(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    m, due = _held(dyad, frozen)
    frozen.set(due)
    got = ok(_submit(dyad.mentee, m["id"], comments="Excelente"), 201)
    assert got["on_time"] is True and got["delay_days"] == 0 and got["status"] == "on_time" and got["due_at"] == due.isoformat().replace("+00:00", "Z")
    frozen.set(due + timedelta(microseconds=1))
    got = ok(_submit(dyad.mentor, m["id"]), 201)
    assert got["on_time"] is False and got["delay_days"] == 1 and got["status"] == "late" and got["rating"] == 4.5
    m2, due2 = _held(dyad, frozen, 1)
    frozen.set(due2 + timedelta(days=1, seconds=1))
    assert ok(_submit(dyad.mentee, m2["id"]), 201)["delay_days"] == 2
    frozen.set(due2 + timedelta(days=14))
    assert ok(_submit(dyad.mentor, m2["id"]), 201)["delay_days"] == 14
    assert [e["payload"]["on_time"] for e in events(engine, "feedback.submitted")] == [True, False, False, False]


def test_refusals_not_yours_not_held_already_answered_and_bad_items(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad, other = world.dyad(inst, 1), world.dyad(inst, 2)
    m, _ = _held(dyad, frozen)
    pending = dyad.meetings()[1]
    r = _submit(other.mentee, m["id"])
    assert r.status_code == 404
    assert _submit(inst.coordinator, m["id"]).status_code == 403
    r = _submit(dyad.mentee, pending["id"])
    assert r.status_code == 409 and r.json()["type"].endswith("meeting-not-held")
    before = snapshot(engine)
    r = _submit(dyad.mentee, m["id"], ratings={"preparation": 5, "bogus": 3})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {
        "body.ratings.listening", "body.ratings.usefulness", "body.ratings.rapport", "body.ratings.bogus"}
    r = _submit(dyad.mentee, m["id"], ratings={**RATINGS, "rapport": 6})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body.ratings")
    assert snapshot(engine) == before
    first = _submit(dyad.mentee, m["id"], headers={"Idempotency-Key": "fb-1"})
    assert first.status_code == 201
    replay = _submit(dyad.mentee, m["id"], headers={"Idempotency-Key": "fb-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    r = _submit(dyad.mentee, m["id"])
    assert r.status_code == 409 and r.json()["type"].endswith("already-answered")


def test_who_reads_a_form(world: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    m, _ = _held(dyad, frozen)
    form = ok(_submit(dyad.mentee, m["id"]), 201)
    assert dyad.mentor.get(f"/v1/feedback/{form['id']}").status_code == 404  # the program does not allow it
    assert ok(inst.coordinator.get(f"/v1/feedback/{form['id']}"))["ratings"] == RATINGS
    assert ok(dyad.mentee.get(f"/v1/feedback/{form['id']}"))["id"] == form["id"]
    assert [f["respondent_role"] for f in ok(dyad.mentor.get(f"/v1/dyads/{dyad.id}/feedback"))] == ["mentor"]
    template = ok(inst.coordinator.get(f"/v1/feedback/programs/{inst.program_id}/template"))
    body = {"items": template["items"], "feedback_deadline_hours": 48, "counterpart_reads_feedback": True}
    ok(inst.coordinator.put(f"/v1/feedback/programs/{inst.program_id}/template", json=body))
    assert ok(dyad.mentor.get(f"/v1/feedback/{form['id']}"))["rating"] == 4.5
    assert dyad.mentor.put(f"/v1/feedback/programs/{inst.program_id}/template", json=body).status_code == 403


def test_overdue_lists_and_an_idempotent_sweep(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    m, due = _held(dyad, frozen)
    frozen.set(due)
    assert ok(dyad.mentee.get("/v1/feedback/overdue")) == []  # at the due moment it is not overdue yet
    frozen.set(due + timedelta(days=3, hours=1))
    mine = ok(dyad.mentee.get("/v1/feedback/overdue"))
    assert [(o["meeting_id"], o["respondent_role"], o["days_overdue"]) for o in mine] == [(m["id"], "mentee", 4)]
    program = ok(inst.coordinator.get(f"/v1/feedback/programs/{inst.program_id}/overdue"))
    assert sorted(o["respondent_role"] for o in program) == ["mentee", "mentor"]
    assert dyad.mentee.get(f"/v1/feedback/programs/{inst.program_id}/overdue").status_code == 403
    assert ok(inst.coordinator.post(f"/v1/feedback/programs/{inst.program_id}/overdue-sweep"))["announced"] == 2
    assert ok(inst.coordinator.post(f"/v1/feedback/programs/{inst.program_id}/overdue-sweep"))["announced"] == 0
    from services.sessions.main import sweep_all

    assert sweep_all(engine) == 0
    announced = events(engine, "feedback.overdue")
    assert len(announced) == 2 and {e["payload"]["days_overdue"] for e in announced} == {4}
    ok(_submit(dyad.mentor, m["id"]), 201)
    assert [o["respondent_role"] for o in ok(inst.coordinator.get(f"/v1/feedback/programs/{inst.program_id}/overdue"))] == ["mentee"]


def test_control_characters_in_comments_are_422_naming_the_field(world: Any, engine: Any, frozen: Any) -> None:
    dyad = world.dyad(world.institution())
    m, _ = _held(dyad, frozen)
    before = snapshot(engine)
    for comments in ("Muy buena\x00", "Muy buena\x1b[2J"):
        r = _submit(dyad.mentee, m["id"], comments=comments)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.comments"], r.text
    assert snapshot(engine) == before
    assert ok(_submit(dyad.mentee, m["id"], comments="Línea uno\nLínea dos\tfin"), 201)["comments"] == "Línea uno\nLínea dos\tfin"
