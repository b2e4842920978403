"""The Mexico pilot replayed in seconds: 14 dyads, 12 weekly meetings recorded with their real (past) times,
half the feedback forms on time and the rest 1 to 14 days late, some meetings rescheduled as the semester
ends, one dyad red after its third meeting, dissolved and re-matched. The statistics endpoint reproduces it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.sessions.tests.conftest import RATINGS, deliver, events, objective_body, ok


def test_mexico_cohort(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyads = [world.dyad(inst, n) for n in range(14)]
    schedule = {d.id: d.meetings() for d in dyads}
    assert all(len(m) == 12 for m in schedule.values())
    lost = dyads[0]
    form_no = 0
    objectives: dict[str, str] = {}
    milestones: dict[str, list[str]] = {}
    for week in range(12):
        for n, d in enumerate(dyads):
            if d is lost and week >= 3:
                continue
            m = schedule[d.id][week]
            start = datetime.fromisoformat(m["start"])
            if week == 10 and n in (5, 6, 7):  # the end of the semester
                frozen.set(start - timedelta(days=3))
                start = start + timedelta(days=1)
                ok(d.mentee.post(f"/v1/meetings/{m['id']}/reschedule", json={"start": start.isoformat(), "reason": "Cierre del semestre"}))
            if n in (1, 2, 3, 4) and week in (2, 5, 8):
                frozen.set(start - timedelta(days=1))
                ok(d.mentor.patch(f"/v1/meetings/{m['id']}", json={"modality": "in_person", "place": "Cafetería del campus"}))
            frozen.set(start + timedelta(minutes=70))
            ok(d.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
            ok(d.mentor.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
            due = start + timedelta(minutes=60 + 48 * 60)
            for member in (d.mentee, d.mentor):
                late = form_no % 2  # half on time, the rest 1..14 days late
                delay = (form_no // 2) % 14 + 1
                frozen.set(due - timedelta(hours=1) if not late else due + timedelta(days=delay - 1, hours=1))
                got = ok(member.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True}), 201)
                assert got["delay_days"] == (delay if late else 0)
                form_no += 1
            if week == 0 and d is not lost:
                steps = [{"title": "Enviar la primera solicitud", "due_on": "2026-09-15"},
                         {"title": "Enviar la segunda solicitud", "due_on": "2026-10-30"}]
                created = ok(d.mentee.post("/v1/objectives", json=objective_body(d.id, milestones=steps)), 201)
                objectives[d.id], milestones[d.id] = created["id"], [m["id"] for m in created["milestones"]]
            if week in (4, 8) and d.id in objectives:
                ok(d.mentee.post(f"/v1/objectives/{objectives[d.id]}/progress", json={"value": 1 if week == 4 else 1 + n % 2}), 201)
                if week == 4 or n % 2:  # the first application for all, the second for every other mentee: her mentor confirms
                    mid = milestones[d.id][0 if week == 4 else 1]
                    ok(d.mentee.post(f"/v1/milestones/{mid}/evidence", json={"note": "Acuse de recibo de la convocatoria"}))
                    ok(d.mentor.post(f"/v1/milestones/{mid}/confirmation"))
            if week == 11:
                ok(d.mentee.put(f"/v1/objectives/{objectives[d.id]}/assessment", json={"achievement": 90}))
                ok(d.mentor.put(f"/v1/objectives/{objectives[d.id]}/assessment", json={"achievement": 70}))
        if week == 4:
            # Two meetings after the third were never held: the coordinator sees the dyad red, worst first.
            frozen.set(datetime.fromisoformat(schedule[lost.id][4]["start"]) + timedelta(hours=50))
            at_risk = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))
            assert at_risk[0]["dyad_id"] == lost.id and at_risk[0]["status"] == "red"
            assert {r["signal"] for r in at_risk[0]["reasons"] if r["level"] == "red"} >= {"missed_streak"}
            assert at_risk[0]["signals"]["held"] == 3
            deliver(engine, "match.dissolved", {**lost.payload, "reason": "lost rapport after the third meeting"})

    frozen.set(datetime.fromisoformat(schedule[dyads[-1].id][-1]["start"]) + timedelta(days=20))
    stats = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/statistics"))
    assert (stats["dyads"], stats["active_dyads"]) == (14, 13)
    meetings = stats["meetings"]
    assert (meetings["planned"], meetings["held"], meetings["cancelled"], meetings["rescheduled"]) == (168, 159, 7, 3)
    feedback = stats["feedback"]
    assert (feedback["due"], feedback["on_time"], feedback["late"], feedback["unsubmitted"]) == (318, 159, 159, 0)
    assert feedback["on_time_rate"] == 0.5 and feedback["max_delay_days"] == 14
    assert {b["days"] for b in feedback["delays"] if b["count"]} == set(range(1, 15))
    assert stats["in_person"]["dyads_over_threshold"] == 4
    achievement = stats["achievement"]
    assert achievement["objectives"] == 13 and achievement["mentee_more_optimistic"] == 13 and achievement["mentee_vs_mentor_mean"] == 20
    # Verified: one of two milestones confirmed for six mentees, both for seven; self-reported alike (1 or 2 of 2).
    assert achievement["with_milestones"] == 13 and achievement["verified_mean"] == pytest.approx((6 * 50 + 7 * 100) / 13)
    assert achievement["self_reported_mean"] == pytest.approx((6 * 50 + 7 * 100) / 13)
    assert achievement["mentee_vs_verified_mean"] == pytest.approx(90 - (6 * 50 + 7 * 100) / 13)
    assert len(events(engine, "milestone.reported")) == len(events(engine, "milestone.confirmed")) == 13 + 7
    assert len(events(engine, "feedback.submitted")) == 318 and len(events(engine, "meeting.held")) == 159
    assert any(e["payload"]["status"] == "red" for e in events(engine, "dyad.health_changed") if e["subject"] == lost.id)

    # Re-matched with a substitute: a new dyad (a new match id) for the same mentee gets its own schedule.
    substitute = {**lost.payload, "match_id": "0190f1c2-0000-7000-8000-00000000beef",
                  "mentor": {**lost.payload["mentor"], "account_id": "substitute-mentor", "participant_id": "0190f1c2-0000-7000-8000-00000000cafe"}}
    deliver(engine, "match.activated", substitute)
    mine = ok(lost.mentee.get("/v1/dyads/mine"))["items"]
    assert sorted(d["status"] for d in mine) == ["active", "dissolved"]
