"""Dyad health through the API: each threshold triggered, per-program thresholds, at-risk order, health_changed events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.sessions.tests.conftest import events, objective_body, ok


def _start(dyad: Any, n: int) -> datetime:
    return datetime.fromisoformat(dyad.meetings()[n]["start"])


def _hold(dyad: Any, frozen: Any, n: int) -> str:
    m = dyad.meetings()[n]
    frozen.set(datetime.fromisoformat(m["start"]) + timedelta(minutes=30))
    ok(dyad.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
    return m["id"]


def _reasons(caller: Any, dyad: Any) -> tuple[str, dict[str, str]]:
    h = ok(caller.get(f"/v1/dyads/{dyad.id}/health"))
    return h["status"], {r["signal"]: r["level"] for r in h["reasons"]}


def test_missed_meetings_held_ratio_and_days_since_the_last_meeting(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    _hold(dyad, frozen, 0)
    assert _reasons(inst.coordinator, dyad) == ("green", {})
    frozen.set(_start(dyad, 1) + timedelta(hours=50))  # meeting 2 never confirmed
    assert _reasons(inst.coordinator, dyad) == ("amber", {"missed_streak": "amber"})
    frozen.set(_start(dyad, 2) + timedelta(hours=50))
    status, reasons = _reasons(inst.coordinator, dyad)
    assert status == "red" and reasons == {"missed_streak": "red", "held_ratio": "red", "days_since_last_meeting": "amber"}
    frozen.set(_start(dyad, 0) + timedelta(days=21))
    assert _reasons(inst.coordinator, dyad)[1]["days_since_last_meeting"] == "red"
    # amber held ratio: 3 of 4 held is 75 % (not below); 2 of 3 held is below 75 %.
    other = world.dyad(inst, 2)
    _hold(other, frozen, 0)
    _hold(other, frozen, 1)
    frozen.set(_start(other, 2) + timedelta(hours=50))
    assert _reasons(inst.coordinator, other)[1]["held_ratio"] == "amber"
    changes = [(e["payload"]["previous"], e["payload"]["status"]) for e in events(engine, "dyad.health_changed") if e["subject"] == dyad.id]
    assert changes == [(None, "green"), ("green", "amber"), ("amber", "red")]
    assert dyad.mentee.get(f"/v1/dyads/{dyad.id}/health").status_code == 403


def test_feedback_timeliness_and_falling_ratings(world: Any, frozen: Any) -> None:
    inst = world.institution()
    late, falling = world.dyad(inst, 1), world.dyad(inst, 2)
    for n in range(3):
        for dyad, rating in ((late, [5, 5, 5, 5]), (falling, [[5, 5, 5, 5], [5, 5, 5, 4], [5, 5, 4, 4]][n])):
            mid = _hold(dyad, frozen, n)
            items = dict(zip(("preparation", "listening", "usefulness", "rapport"), rating, strict=True))
            if dyad is late:
                frozen.advance(days=3)
            ok(dyad.mentee.post("/v1/feedback", json={"meeting_id": mid, "ratings": items, "meeting_took_place": True}), 201)
    status, reasons = _reasons(inst.coordinator, late)
    assert reasons["on_time_rate"] == "red"  # 0 of 3 on time (the mentor's forms not yet due)
    status, reasons = _reasons(inst.coordinator, falling)
    assert reasons == {"rating_slope": "amber"}  # 5, 4.75, 4.5: -0.25 per meeting
    h = ok(inst.coordinator.get(f"/v1/dyads/{falling.id}/health"))
    assert h["signals"]["rating_slope_respondent"] == "mentee" and "threshold <= -0.25" in h["reasons"][0]["message"]
    # A program may be stricter: rating slope -0.25 counts as red.
    ok(inst.coordinator.put(f"/v1/dyads/programs/{inst.program_id}/health-thresholds", json={"rating_slope_red": -0.25}))
    assert _reasons(inst.coordinator, falling) == ("red", {"rating_slope": "red"})
    # ... and may switch a signal off.
    ok(inst.coordinator.put(f"/v1/dyads/programs/{inst.program_id}/health-thresholds",
                            json={"rating_slope_red": None, "rating_slope_amber": None, "on_time_rate_red": None, "on_time_rate_amber": None}))
    assert _reasons(inst.coordinator, falling) == ("green", {})
    got = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/health-thresholds"))
    assert got["thresholds"]["rating_slope_red"] is None and got["documentation"]
    r = inst.coordinator.put(f"/v1/dyads/programs/{inst.program_id}/health-thresholds", json={"held_ratio_red": 2})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.held_ratio_red"


def test_stalled_objective_progress_and_the_at_risk_list(world: Any, frozen: Any) -> None:
    inst = world.institution()
    stalled, quiet, fine = world.dyad(inst, 1), world.dyad(inst, 2), world.dyad(inst, 3)
    # Forms are not the point here: feedback timeliness is switched off for this program.
    ok(inst.coordinator.put(f"/v1/dyads/programs/{inst.program_id}/health-thresholds",
                            json={"on_time_rate_red": None, "on_time_rate_amber": None}))
    for d in (stalled, fine):
        _hold(d, frozen, 0)
    obj = ok(stalled.mentee.post("/v1/objectives", json=objective_body(stalled.id)), 201)
    for n in (1, 2, 3):
        _hold(stalled, frozen, n)
        _hold(fine, frozen, n)
        ok(stalled.mentee.post(f"/v1/objectives/{obj['id']}/progress", json={"value": 0}), 201)
    frozen.advance(hours=1)
    assert _reasons(inst.coordinator, stalled) == ("amber", {"progress_slope": "amber"})
    at_risk = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))
    assert [h["dyad_id"] for h in at_risk] == [quiet.id, stalled.id]  # red first; the green dyad is not listed
    assert at_risk[0]["status"] == "red" and at_risk[0]["reasons"][0]["threshold"] == 2
    assert stalled.mentee.get(f"/v1/dyads/programs/{inst.program_id}/at-risk").status_code == 403
