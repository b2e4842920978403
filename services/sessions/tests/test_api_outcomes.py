"""The program's per-dyad outcomes (the evaluation report's input): figures per dyad, and who may read them.
The evaluation service's own token (scope reports:read) opens this route and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.sessions.tests.conftest import RATINGS, deliver, objective_body, ok


def test_outcomes_per_dyad_and_who_reads_them(world: Any, frozen: Any) -> None:
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
    assert k["objectives"] == {"objectives": 2, "with_progress": 2, "achieved": 1, "measured_mean": 62.5}
    # One meeting missed since the third counts only with another sign: still green. Never met: red.
    assert (k["health"], k["at_risk"]) == ("green", False)
    assert (rows[quiet.id]["health"], rows[quiet.id]["at_risk"]) == ("red", True)
    assert rows[lost.id]["status"] == "dissolved" and rows[lost.id]["health"] is None and rows[lost.id]["at_risk"] is False
    assert rows[quiet.id]["objectives"] == {"objectives": 0, "with_progress": 0, "achieved": 0, "measured_mean": None}
    assert (got["meetings"]["held"], got["feedback"]["on_time"], got["feedback"]["late"]) == (3, 3, 3)
    # No person is named and no answer is given.
    for secret in ("Muy buena", "mentee-", "mentor-", kept.payload["mentee"]["participant_id"], '"rating'):
        assert secret not in str(got) and secret not in inst.coordinator.get(url).text, secret

    # Who reads it: coordinators and admins; the evaluation service's token; nobody else.
    report_client = world.caller("evaluation", sub="svc-evaluation", roles=[], scope="reports:read", client_id="svc-evaluation")
    tenant_client = world.caller("tenant-client", sub="cli-1", tid=inst.id, roles=[], scope="reports:read", client_id="cli-1")
    foreign_client = world.caller("foreign-client", sub="cli-2", tid=elsewhere.id, roles=[], scope="reports:read", client_id="cli-2")
    events_client = world.caller("events", sub="svc-sessions", roles=[], scope="events:read", client_id="svc-sessions")
    for caller in (inst.coordinator, inst.admin, report_client, tenant_client):
        assert ok(caller.get(url))["items"] == got["items"], caller.name
    for caller in (foreign_client, events_client, elsewhere.coordinator, far.mentee):
        assert caller.get(url).status_code == 404, caller.name
    for caller in (kept.mentee, kept.mentor, quiet.mentee):
        assert caller.get(url).status_code == 403, caller.name
    assert world.http.get(url).status_code == 401
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
    assert ok(report_client.get("/v1/dyads/mine"))["items"] == []
