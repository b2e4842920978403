"""Meetings: held only by a member and not before it starts, reschedules with history, the iCalendar feed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar

from services.sessions.tests.conftest import events, ok, snapshot


def test_held_by_members_with_both_confirmations_and_never_in_the_future(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    first = dyad.meetings()[0]
    start = datetime.fromisoformat(first["start"])
    frozen.set(start - timedelta(minutes=1))
    r = dyad.mentee.post(f"/v1/meetings/{first['id']}/confirmation", json={})
    assert r.status_code == 409 and r.json()["type"].endswith("meeting-in-future")
    assert inst.coordinator.post(f"/v1/meetings/{first['id']}/confirmation", json={}).status_code == 403
    frozen.set(start + timedelta(days=9))  # recorded afterwards: a past meeting may be marked held
    got = ok(dyad.mentee.post(f"/v1/meetings/{first['id']}/confirmation", json={"notes": "Plan de trabajo"}))
    assert got["status"] == "held" and got["mentee_confirmed_at"] and not got["confirmed_by_both"]
    got = ok(dyad.mentor.post(f"/v1/meetings/{first['id']}/confirmation", json={}))
    assert got["confirmed_by_both"] and got["notes"] == "Plan de trabajo"
    assert len(events(engine, "meeting.held")) == 1
    before = snapshot(engine)
    r = dyad.mentee.post(f"/v1/meetings/{first['id']}/reschedule", json={"start": "2026-09-01T16:00:00Z", "reason": "Otra fecha"})
    assert r.status_code == 409 and snapshot(engine) == before
    r = dyad.mentee.post(f"/v1/meetings/{first['id']}/confirmation", json={"extra": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.extra"


def test_reschedule_keeps_history_and_feeds_the_calendar(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    m = dyad.meetings()[10]
    r = dyad.mentor.post(f"/v1/meetings/{m['id']}/reschedule", json={"start": "2026-10-20T16:00:00", "reason": "Fin de semestre"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.start"
    r = dyad.mentor.post(f"/v1/meetings/{m['id']}/reschedule", json={"start": "2026-10-20T16:00:00Z", "reason": "Fin", "modality": "in_person"})
    assert r.status_code == 422
    got = ok(dyad.mentor.post(f"/v1/meetings/{m['id']}/reschedule", json={
        "start": "2026-10-20T17:00:00Z", "reason": "Cierre del semestre", "modality": "in_person", "place": "Biblioteca, sala 3"}))
    assert got["status"] == "rescheduled" and got["reschedules"] == 1 and got["sequence"] == 1 and got["place"] == "Biblioteca, sala 3"
    got = ok(dyad.mentee.post(f"/v1/meetings/{m['id']}/reschedule", json={"start": "2026-10-21T17:00:00Z", "reason": "Congreso"}))
    assert got["reschedules"] == 2 and got["sequence"] == 2 and got["planned_start"] == m["planned_start"]
    history = ok(dyad.mentee.get(f"/v1/meetings/{m['id']}/history"))
    assert [(h["by"], h["reason"]) for h in history] == [("mentor", "Cierre del semestre"), ("mentee", "Congreso")]
    assert len(events(engine, "meeting.rescheduled")) == 2
    cancelled = dyad.meetings()[11]
    ok(inst.coordinator.post(f"/v1/meetings/{cancelled['id']}/cancellation", json={"reason": "Cierre administrativo"}))
    assert inst.coordinator.post(f"/v1/meetings/{cancelled['id']}/cancellation", json={"reason": "otra vez"}).status_code == 409

    created = ok(dyad.mentee.post("/v1/meetings/calendar-tokens"), 201)
    token = created["token"]
    assert created["url"].endswith(f"/v1/meetings/calendar/{token}.ics")
    assert token not in str(snapshot(engine))  # only the hash is stored
    feed = world.http.get(f"/v1/meetings/calendar/{token}.ics")  # public: no bearer
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.content)
    vevents = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(vevents) == 12
    moved = vevents[f"meeting-{m['id']}@aliada"]
    assert int(moved["SEQUENCE"]) == 2 and moved.decoded("DTSTART") == datetime.fromisoformat("2026-10-21T17:00:00+00:00")
    assert str(moved["LOCATION"]) == "Biblioteca, sala 3" and str(moved["STATUS"]) == "CONFIRMED"
    gone = vevents[f"meeting-{cancelled['id']}@aliada"]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1
    # The mentor's own feed sees the same dyad; revoking the mentee's URL closes it.
    mentor_token = ok(dyad.mentor.post("/v1/meetings/calendar-tokens"), 201)["token"]
    assert len(Calendar.from_ical(world.http.get(f"/v1/meetings/calendar/{mentor_token}.ics").content).walk("VEVENT")) == 12
    assert world.http.delete(f"/v1/meetings/calendar-tokens/{created['id']}").status_code == 401
    assert dyad.mentor.delete(f"/v1/meetings/calendar-tokens/{created['id']}").status_code == 404
    assert dyad.mentee.delete(f"/v1/meetings/calendar-tokens/{created['id']}").status_code == 204
    assert world.http.get(f"/v1/meetings/calendar/{token}.ics").status_code == 404
    assert world.http.get("/v1/meetings/calendar/" + "A" * 43 + ".ics").status_code == 404
    assert ok(dyad.mentee.get("/v1/meetings/calendar-tokens"))[0]["revoked_at"]


def test_no_show_and_notes(world: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    m = dyad.meetings()[0]
    assert dyad.mentee.post(f"/v1/meetings/{m['id']}/no-show", json={"reason": "No llegó"}).status_code == 409
    frozen.set(datetime.fromisoformat(m["start"]) + timedelta(hours=2))
    got = ok(dyad.mentee.post(f"/v1/meetings/{m['id']}/no-show", json={"reason": "No llegó"}))
    assert got["status"] == "no_show"
    assert dyad.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}).status_code == 409
    got = ok(dyad.mentor.patch(f"/v1/meetings/{m['id']}", json={"notes": "Reprogramar"}))
    assert got["notes"] == "Reprogramar"
    nxt = dyad.meetings()[1]
    got = ok(dyad.mentor.patch(f"/v1/meetings/{nxt['id']}", json={"modality": "virtual", "link": "https://meet.example.org/x"}))
    assert got["link"] == "https://meet.example.org/x" and got["sequence"] == 1


def test_a_dyad_that_ends_cancels_its_future_meetings_as_any_cancellation_does(world: Any, engine: Any, frozen: Any) -> None:
    """Its members had invitations in their calendars: each future meeting is announced
    cancelled (meeting.cancelled, a new SEQUENCE), so that notifications can send the CANCEL.
    The meetings already held are left alone; another dyad's meetings are untouched."""
    from services.sessions.tests.conftest import deliver

    inst = world.institution()
    ending, other = world.dyad(inst, 0), world.dyad(inst, 1)
    meetings = ending.meetings()
    frozen.set(datetime.fromisoformat(meetings[2]["start"]) + timedelta(hours=1))
    ok(ending.mentee.post(f"/v1/meetings/{meetings[0]['id']}/confirmation", json={}))
    before = len(events(engine, "meeting.cancelled"))
    deliver(engine, "match.dissolved", {**ending.payload, "reason": "cambio de ciudad"})
    cancelled = events(engine, "meeting.cancelled")[before:]
    future = [m for m in meetings if datetime.fromisoformat(m["start"]) > frozen.at]
    assert sorted(e["payload"]["meeting_id"] for e in cancelled) == sorted(m["id"] for m in future)
    assert {e["payload"]["by"] for e in cancelled} == {"system"}
    assert all(e["payload"]["sequence"] == 1 for e in cancelled)
    assert "cambio de ciudad" not in str(cancelled)  # the reason for ending stays with the coordinators
    by_id = {m["id"]: m for m in ending.meetings()}
    assert by_id[meetings[0]["id"]]["status"] == "held" and all(by_id[m["id"]]["status"] == "cancelled" for m in future)
    assert {m["status"] for m in other.meetings()} == {"scheduled"}
