"""The authorization matrix: role + tenant + object owner. A mentee of another dyad gets 404 everywhere;
anonymous, expired and forged tokens get 401."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from servicekit.testing import attack_tokens, bearer

from services.sessions.tests.conftest import RATINGS, objective_body, ok


def test_matrix(world: Any, frozen: Any, signing_key: Any) -> None:
    inst, elsewhere = world.institution(), world.institution()
    dyad, stranger, far = world.dyad(inst, 1), world.dyad(inst, 2), world.dyad(elsewhere, 3)
    meeting = dyad.meetings()[0]
    frozen.set(datetime.fromisoformat(meeting["start"]) + timedelta(hours=1))
    ok(dyad.mentee.post(f"/v1/meetings/{meeting['id']}/confirmation", json={}))
    form = ok(dyad.mentee.post("/v1/feedback", json={"meeting_id": meeting["id"], "ratings": RATINGS, "meeting_took_place": True}), 201)
    obj = ok(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id)), 201)
    event = ok(inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json={
        "title": "Kickoff", "kind": "kickoff", "starts_at": "2026-08-03T16:00:00Z", "duration_minutes": 90,
        "modality": "in_person", "place": "Auditorio"}), 201)
    pid = inst.program_id
    reads = [
        f"/v1/dyads/{dyad.id}", f"/v1/dyads/{dyad.id}/meetings", f"/v1/meetings/{meeting['id']}", f"/v1/meetings/{meeting['id']}/history",
        f"/v1/feedback/{form['id']}", f"/v1/objectives/{obj['id']}", f"/v1/objectives/{obj['id']}/progress",
        f"/v1/dyads/{dyad.id}/objectives", f"/v1/dyads/{dyad.id}/feedback", f"/v1/dyads/{dyad.id}/diary-counts",
    ]
    program_reads = [f"/v1/dyads/programs/{pid}/at-risk", f"/v1/dyads/programs/{pid}/statistics", f"/v1/feedback/programs/{pid}/overdue",
                     f"/v1/dyads/programs/{pid}", f"/v1/dyads/programs/{pid}/health-thresholds", f"/v1/group-events/{event['id']}/attendance"]
    coordinator_reads = [*program_reads, f"/v1/dyads/{dyad.id}/health"]
    writes = [
        ("POST", f"/v1/meetings/{meeting['id']}/confirmation", {}),
        ("POST", f"/v1/meetings/{dyad.meetings()[1]['id']}/reschedule", {"start": "2026-09-01T16:00:00Z", "reason": "Otra fecha"}),
        ("POST", "/v1/feedback", {"meeting_id": meeting["id"], "ratings": RATINGS, "meeting_took_place": True}),
        ("POST", "/v1/objectives", objective_body(dyad.id)),
        ("POST", f"/v1/objectives/{obj['id']}/progress", {"value": 1}),
        ("POST", "/v1/diary", {"dyad_id": dyad.id, "text": "x", "entry_date": "2026-08-05"}),
    ]
    other_coordinator = elsewhere.coordinator
    for caller in (stranger.mentee, stranger.mentor, far.mentee, other_coordinator):
        for url in [*reads, f"/v1/dyads/{dyad.id}/health"]:
            assert caller.get(url).status_code == 404, (caller.name, url)
        for method, url, body in writes:
            assert caller.request(method, url, json=body).status_code == 404, (caller.name, url)
    # Program views: members of the program's other dyads are known to it (403); other institutions 404.
    for caller in (far.mentee, other_coordinator):
        for url in program_reads:
            assert caller.get(url).status_code == 404, (caller.name, url)
        assert caller.get(f"/v1/group-events/programs/{pid}").status_code == 404
    for url in program_reads:
        assert stranger.mentee.get(url).status_code == 403, url
    for caller in (dyad.mentee, dyad.mentor, inst.coordinator, inst.admin):
        for url in reads:
            expected = 404 if caller is dyad.mentor and url.startswith("/v1/feedback/") else 200  # the program hides forms from the counterpart
            assert caller.get(url).status_code == expected, (caller.name, url)
    for caller in (inst.coordinator, inst.admin):
        for url in coordinator_reads:
            assert caller.get(url).status_code == 200, (caller.name, url)
    for caller in (dyad.mentee, dyad.mentor):
        for url in coordinator_reads:
            assert caller.get(url).status_code == 403, (caller.name, url)
        assert ok(caller.get(f"/v1/group-events/programs/{pid}"))["items"][0]["id"] == event["id"]
    assert [d["id"] for d in ok(dyad.mentee.get("/v1/dyads/mine"))["items"]] == [dyad.id]
    assert ok(stranger.mentee.get("/v1/dyads/mine"))["items"][0]["id"] == stranger.id
    forged = attack_tokens(signing_key)
    for url in [*reads, *coordinator_reads]:
        assert world.http.get(url).status_code == 401
    for name in ("expired", "alg_none", "hs256_public_der", "tampered_payload", "foreign_key_same_kid", "wrong_audience"):
        r = world.http.get(f"/v1/dyads/{dyad.id}", headers=bearer(forged[name]))
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", name
    client = world.caller("lms", sub="client-lms", tid=inst.id, roles=[], scope="events:read", client_id="lms")
    assert client.get(f"/v1/dyads/{dyad.id}").status_code == 403  # the client gate: dyads declare no client scope
    assert client.get("/internal/events").status_code == 200
    assert dyad.mentee.get("/internal/events").status_code == 403


def test_attendance_by_coordinators(world: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    body = {"title": "Acompañamiento 1", "kind": "accompaniment", "starts_at": "2026-08-05T17:00:00Z", "duration_minutes": 90,
            "modality": "virtual", "link": "https://meet.example.org/a1"}
    event = ok(inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json=body, headers={"Idempotency-Key": "ge-1"}), 201)
    again = inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json=body, headers={"Idempotency-Key": "ge-1"})
    assert again.json()["id"] == event["id"]
    assert inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json={**body, "link": None}).status_code == 422
    assert dyad.mentee.post(f"/v1/group-events/programs/{inst.program_id}", json=body).status_code == 403
    records = [{"participant_id": dyad.payload["mentee"]["participant_id"], "attended": True},
               {"participant_id": dyad.payload["mentor"]["participant_id"], "attended": False}]
    got = ok(inst.coordinator.put(f"/v1/group-events/{event['id']}/attendance", json={"records": records}))
    assert (got["attended"], got["absent"]) == (1, 1)
    got = ok(inst.coordinator.put(f"/v1/group-events/{event['id']}/attendance", json={"records": [{**records[1], "attended": True}]}))
    assert (got["attended"], got["absent"]) == (2, 0)
    assert dyad.mentee.put(f"/v1/group-events/{event['id']}/attendance", json={"records": records}).status_code == 403
    assert ok(dyad.mentor.get(f"/v1/group-events/{event['id']}"))["title"] == "Acompañamiento 1"
