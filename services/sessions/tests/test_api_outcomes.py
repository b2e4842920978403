"""The program's per-dyad outcomes (the evaluation report's input): figures per dyad, and who may read them.
The evaluation service's own token (scope reports:read) opens this route and nothing else. The figures hold
personal answers (ratings, perceived achievement): coordinators and that token only, never members or evaluators."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from servicekit.testing import attack_tokens, bearer

from services.sessions.tests.conftest import RATINGS, deliver, objective_body, ok


def test_outcomes_per_dyad_and_who_reads_them(world: Any, frozen: Any, signing_key: Any) -> None:
    inst, elsewhere = world.institution(), world.institution()
    kept, lost, quiet = world.dyad(inst, 1), world.dyad(inst, 2), world.dyad(inst, 3)
    far = world.dyad(elsewhere, 4)
    meetings = kept.meetings()
    for n, m in enumerate(meetings[:3]):
        start = datetime.fromisoformat(m["start"])
        if n == 1:  # in person
            frozen.set(start - timedelta(days=1))
            ok(kept.mentor.patch(f"/v1/meetings/{m['id']}", json={"modality": "in_person", "place": "Biblioteca"}))
        frozen.set(start + timedelta(minutes=70))
        ok(kept.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
        due = start + timedelta(minutes=60 + 48 * 60)
        frozen.set(due - timedelta(hours=1))  # the mentee on time
        ok(kept.mentee.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True,
                                                   "comments": "Muy buena sesión"}), 201)
        frozen.set(due + timedelta(days=n * 3 + 1, hours=-1))  # the mentor 1, 4 and 7 days late
        ok(kept.mentor.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True}), 201)
        if n == 0:
            objective = ok(kept.mentee.post("/v1/objectives", json=objective_body(kept.id)), 201)
            second = ok(kept.mentee.post("/v1/objectives", json=objective_body(kept.id, target=4)), 201)
    ok(kept.mentee.post(f"/v1/objectives/{objective['id']}/progress", json={"value": 2}), 201)  # 100 %
    ok(kept.mentee.post(f"/v1/objectives/{second['id']}/progress", json={"value": 1}), 201)  # 25 %
    deliver(world.engine, "match.dissolved", {**lost.payload, "reason": "sin sintonía"})
    frozen.set(datetime.fromisoformat(meetings[4]["start"]) + timedelta(days=1))

    pid = inst.program_id
    url = f"/v1/dyads/programs/{pid}/outcomes"
    got = ok(inst.coordinator.get(url))
    rows = {r["dyad_id"]: r for r in got["items"]}
    assert (got["dyads"], got["meetings_per_dyad"], got["feedback_deadline_hours"]) == (3, 12, 48)
    assert set(rows) == {kept.id, lost.id, quiet.id}
    k = rows[kept.id]
    assert (k["status"], k["meetings"]["scheduled"], k["meetings"]["planned_to_date"], k["meetings"]["held"]) == ("active", 12, 5, 3)
    assert k["meetings"]["in_person"] == 1
    assert (k["feedback"]["due"], k["feedback"]["on_time"], k["feedback"]["late"], k["feedback"]["late_days"]) == (6, 3, 3, [1, 4, 7])
    # Self-reported progress (100 % and 25 %) is only that: without milestones nothing is verified, so measured is null.
    assert k["objectives"] == {"objectives": 2, "with_progress": 2, "achieved": 1, "milestones": 0, "milestones_reported": 0,
                               "milestones_confirmed": 0, "milestones_overdue": 0, "measured_mean": None, "self_reported_mean": 62.5,
                               "perceived_mentee_mean": None, "perceived_mentor_mean": None, "assessed_by_mentee": 0,
                               "assessed_by_mentor": 0}
    assert k["rapport"] == {"mentee_rates_mentor": 4.5, "mentor_rates_mentee": 4.5, "mean": 4.5, "forms_rated": 6}
    # One meeting missed since the third counts only with another sign: still green. Never met: red.
    assert (k["health"], k["at_risk"]) == ("green", False)
    assert (rows[quiet.id]["health"], rows[quiet.id]["at_risk"]) == ("red", True)
    assert rows[lost.id]["status"] == "dissolved" and rows[lost.id]["health"] is None and rows[lost.id]["at_risk"] is False
    assert rows[quiet.id]["objectives"]["objectives"] == 0 and rows[quiet.id]["objectives"]["measured_mean"] is None
    assert rows[quiet.id]["rapport"] == {"mentee_rates_mentor": None, "mentor_rates_mentee": None, "mean": None, "forms_rated": 0}
    assert (got["meetings"]["held"], got["feedback"]["on_time"], got["feedback"]["late"]) == (3, 3, 3)
    # No person is named, no comment given.
    for secret in ("Muy buena", "mentee-", "mentor-", kept.payload["mentee"]["participant_id"], '"comments'):
        assert secret not in str(got) and secret not in inst.coordinator.get(url).text, secret

    # Who reads it: coordinators and admins; the evaluation service's token; nobody else.
    report_client = world.caller("evaluation", sub="svc-evaluation", roles=[], scope="reports:read", client_id="svc-evaluation")
    tenant_client = world.caller("tenant-client", sub="cli-1", tid=inst.id, roles=[], scope="reports:read", client_id="cli-1")
    foreign_client = world.caller("foreign-client", sub="cli-2", tid=elsewhere.id, roles=[], scope="reports:read", client_id="cli-2")
    events_client = world.caller("events", sub="svc-sessions", roles=[], scope="events:read", client_id="svc-sessions")
    for caller in (inst.coordinator, inst.admin, report_client, tenant_client):
        assert ok(caller.get(url))["items"] == got["items"], caller.name
    evaluator = world.caller("evaluator", sub="eval-1", tid=inst.id, roles=["evaluator"])
    far_evaluator = world.caller("far-evaluator", sub="eval-2", tid=elsewhere.id, roles=["evaluator"])
    tenant_events = world.caller("tenant-events", sub="cli-3", tid=inst.id, roles=[], scope="events:read", client_id="cli-3")
    for caller in (foreign_client, elsewhere.coordinator, far.mentee, far_evaluator):
        assert caller.get(url).status_code == 404, caller.name
    # Those who may know the program but not read its answers: its members, a client of the institution without
    # reports:read, an evaluator.
    for caller in (kept.mentee, kept.mentor, quiet.mentee, tenant_events, evaluator):
        r = caller.get(url)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", caller.name
    # A platform client (no tid) without reports:read knows no institution's program (servicekit.tenancy: 404);
    # where the client gate runs first it is a 403 insufficient-scope. Never the answers.
    r = events_client.get(url)
    assert r.status_code in (403, 404) and r.headers["content-type"] == "application/problem+json"
    assert world.http.get(url).status_code == 401
    forged = attack_tokens(signing_key)
    for name in ("expired", "alg_none", "hs256_public_der", "tampered_payload", "foreign_key_same_kid", "wrong_audience"):
        assert world.http.get(url, headers=bearer(forged[name])).status_code == 401, name
    # reports:read opens nothing else: every other route refuses it.
    m = meetings[0]
    for other in (f"/v1/dyads/programs/{pid}", f"/v1/dyads/programs/{pid}/statistics", f"/v1/dyads/programs/{pid}/at-risk",
                  f"/v1/dyads/programs/{pid}/health-thresholds", f"/v1/feedback/programs/{pid}/overdue", f"/v1/dyads/{kept.id}",
                  f"/v1/dyads/{kept.id}/meetings", f"/v1/dyads/{kept.id}/feedback", f"/v1/dyads/{kept.id}/objectives",
                  f"/v1/dyads/{kept.id}/health", f"/v1/meetings/{m['id']}", f"/v1/objectives/{objective['id']}",
                  f"/v1/group-events/programs/{pid}"):
        for caller in (report_client, tenant_client):
            assert caller.get(other).status_code in (403, 404), (caller.name, other)
    assert report_client.get("/internal/events").status_code == 403
    assert report_client.get("/v1/dyads/mine").status_code == 403  # the client gate


MENTOR_RATINGS = {"preparation": 4, "listening": 4, "usefulness": 3, "rapport": 3}  # 3.5


def test_outcomes_give_verified_self_reported_and_perceived_achievement_and_rapport(world: Any, frozen: Any) -> None:
    inst = world.institution()
    kept, idle = world.dyad(inst, 1, meetings_count=4), world.dyad(inst, 2, meetings_count=4)
    meetings = kept.meetings()
    day0 = datetime.fromisoformat(meetings[0]["start"]).date()
    mentee_ratings = [{k: 5 for k in RATINGS}, RATINGS, {k: 4 for k in RATINGS}]  # 5.0, 4.5, 4.0
    for n, m in enumerate(meetings[:3]):
        start = datetime.fromisoformat(m["start"])
        if n == 2:
            frozen.set(start - timedelta(days=1))
            ok(kept.mentee.patch(f"/v1/meetings/{m['id']}", json={"modality": "in_person", "place": "Laboratorio 2"}))
        frozen.set(start + timedelta(minutes=70))
        ok(kept.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
        ok(kept.mentee.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": mentee_ratings[n], "meeting_took_place": True}), 201)
        if n != 1:  # the mentor skips the second form
            ok(kept.mentor.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": MENTOR_RATINGS if n == 0 else {k: 4 for k in RATINGS},
                                                       "meeting_took_place": True}), 201)
        if n == 0:
            grants = ok(kept.mentee.post("/v1/objectives", json=objective_body(kept.id, milestones=[
                {"title": "Primera solicitud enviada", "due_on": str(day0 + timedelta(days=10))},
                {"title": "Segunda solicitud enviada", "due_on": "2026-09-30"}])), 201)
            papers = ok(kept.mentee.post("/v1/objectives", json=objective_body(kept.id, target=4, milestones=[
                {"title": "Primer artículo enviado", "due_on": str(day0 + timedelta(days=5))},
                {"title": "Segundo artículo enviado", "due_on": str(day0 + timedelta(days=7))},
                {"title": "Tercer artículo enviado", "due_on": "2026-11-15"}])), 201)
            talks = ok(kept.mentee.post("/v1/objectives", json=objective_body(kept.id)), 201)  # no milestones
        if n == 1:
            g1, g2 = (s["id"] for s in grants["milestones"])
            p1 = papers["milestones"][0]["id"]
            for mid in (g1, g2, p1):
                ok(kept.mentee.post(f"/v1/milestones/{mid}/evidence", json={"link": "https://repo.example.edu/evidencia-privada"}))
            ok(kept.mentor.post(f"/v1/milestones/{g1}/confirmation"))
            ok(inst.coordinator.post(f"/v1/milestones/{p1}/confirmation"))
            ok(kept.mentee.post(f"/v1/objectives/{grants['id']}/progress", json={"value": 2}), 201)  # 100 % self-reported
            ok(kept.mentee.post(f"/v1/objectives/{talks['id']}/progress", json={"value": 1}), 201)  # 50 % self-reported
    frozen.set(datetime.fromisoformat(meetings[3]["start"]) + timedelta(minutes=30))
    ok(kept.mentee.put(f"/v1/objectives/{grants['id']}/assessment", json={"achievement": 90}))
    ok(kept.mentee.put(f"/v1/objectives/{papers['id']}/assessment", json={"achievement": 60}))
    ok(kept.mentor.put(f"/v1/objectives/{grants['id']}/assessment", json={"achievement": 70}))

    got = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/outcomes"))
    rows = {r["dyad_id"]: r for r in got["items"]}
    k = rows[kept.id]
    assert k["objectives"] == {
        "objectives": 3, "with_progress": 2, "achieved": 1,
        "milestones": 5, "milestones_reported": 1, "milestones_confirmed": 2,
        "milestones_overdue": 1,  # the second paper, due in the first fortnight, never reported
        "measured_mean": pytest.approx((50 + 100 / 3) / 2),  # grants 1 of 2, papers 1 of 3; talks has no milestones
        "self_reported_mean": 75.0,  # grants 100 %, talks 50 %; papers has no progress
        "perceived_mentee_mean": 75.0, "perceived_mentor_mean": 70.0, "assessed_by_mentee": 2, "assessed_by_mentor": 1,
    }
    assert k["rapport"] == {"mentee_rates_mentor": 4.5, "mentor_rates_mentee": 3.75, "mean": 4.125, "forms_rated": 5}
    assert k["meetings"]["in_person"] == 1 and k["meetings"]["held"] == 3
    assert rows[idle.id]["objectives"]["measured_mean"] is None and rows[idle.id]["rapport"]["forms_rated"] == 0
    # The evidence and the milestones' titles are the mentee's own content: never given here.
    text = inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/outcomes").text
    assert "evidencia-privada" not in text and "Primera solicitud" not in text


def test_outcomes_are_read_in_a_fixed_number_of_queries(world: Any, frozen: Any) -> None:
    inst = world.institution()
    url = f"/v1/dyads/programs/{inst.program_id}/outcomes"
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        event.listen(world.engine, "before_cursor_execute", count)
        try:
            ok(inst.coordinator.get(url))
        finally:
            event.remove(world.engine, "before_cursor_execute", count)
        return len(statements)

    dyads = [world.dyad(inst, 0)]
    small = queries()  # one quiet dyad
    assert small >= 7  # the program, then dyads, meetings, forms, objectives, progress entries, milestones
    dyads += [world.dyad(inst, n) for n in range(1, 5)]
    frozen.set(max(datetime.fromisoformat(d.meetings()[0]["start"]) for d in dyads) + timedelta(minutes=70))
    for d in dyads:  # five busy dyads
        m = d.meetings()[0]
        ok(d.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
        ok(d.mentee.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True}), 201)
        o = ok(d.mentee.post("/v1/objectives", json=objective_body(d.id, milestones=[{"title": "Paso uno", "due_on": "2026-09-30"}])), 201)
        ok(d.mentee.post(f"/v1/objectives/{o['id']}/progress", json={"value": 1}), 201)
    assert len(ok(inst.coordinator.get(url))["items"]) == 5
    assert queries() == small
