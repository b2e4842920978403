"""Dyad health through the API: the signs and their reasons, the stored colour and its events, the per-program
policy (its validation naming fields), the at-risk list worst first, and the weekly digest; who may read them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from servicekit.testing import attack_tokens, bearer

from services.sessions.tests.conftest import RATINGS, deliver, events, ok


def _start(dyad: Any, n: int) -> datetime:
    return datetime.fromisoformat(dyad.meetings()[n]["start"])


def _hold(dyad: Any, frozen: Any, n: int, *, rating: int | None = None, mentor_too: bool = True) -> str:
    """Meeting ``n`` held: both confirm it and send their forms within the hour (the mentee's ``rating`` on every item)."""
    m = dyad.meetings()[n]
    frozen.set(datetime.fromisoformat(m["start"]) + timedelta(minutes=70))
    members = (dyad.mentee, dyad.mentor) if mentor_too else (dyad.mentee,)
    for member in members:
        ok(member.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
    for member in members:
        ratings = dict.fromkeys(RATINGS, rating) if rating is not None and member is dyad.mentee else RATINGS
        ok(member.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": ratings, "meeting_took_place": True}), 201)
    return str(m["id"])


def _health(caller: Any, dyad: Any) -> dict[str, Any]:
    return ok(caller.get(f"/v1/dyads/{dyad.id}/health"))


def _signs(h: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(r["signal"], r["level"], r["member"]) for r in h["reasons"]}


def test_signs_reasons_stored_colour_and_the_at_risk_list(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    stopped, falling, fine = world.dyad(inst, 1), world.dyad(inst, 2), world.dyad(inst, 3)
    for n in range(3):
        _hold(stopped, frozen, n)
        _hold(falling, frozen, n, rating=(5, 5, 2)[n])
        _hold(fine, frozen, n)
    h = _health(inst.coordinator, falling)
    # A small program has no norm yet: each sign is judged against its ceiling (red from a drop of 2 points).
    assert h["status"] == "red" and _signs(h) == {("rating_drop", "red", "mentee")}
    reason = h["reasons"][0]
    assert (reason["kind"], reason["value"], reason["threshold"], reason["comparison"], reason["norm"], reason["unit"]) == (
        "rapport", 3.0, 2.0, ">=", None, "points")
    assert reason["message"] == ("The mentee's ratings of her mentor fell by 3.00 points from her own earlier level "
                                 "(red from 2; no program norm yet).")
    assert h["signals"]["rating_drop"] == {"mentee": 3.0, "mentor": 0.0} and h["signals"]["held"] == 3
    assert h["summary"] == "Act now: ratings falling." and h["norms_at"] and h["computed_at"]

    # The other two meet twice more; the first stops: two meetings nobody confirmed are red, whatever the program.
    frozen.set(_start(stopped, 3) + timedelta(hours=12))
    assert _health(inst.coordinator, stopped)["status"] == "green"
    for n in (3, 4):
        _hold(falling, frozen, n, rating=2)
        _hold(fine, frozen, n)
    frozen.set(_start(stopped, 4) + timedelta(days=8))
    h = _health(inst.coordinator, stopped)
    assert h["status"] == "red" and ("missed_streak", "red", None) in _signs(h)
    assert h["signals"]["missed_streak"] == 2 and h["signals"]["planned_to_date"] == 5
    assert ("silence", "amber", None) in _signs(h)  # neither member has done anything for three weeks

    at_risk = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))
    # her latest ratings are her new level: 2, against a median of 5, 5, 2, 2 before them
    assert [(r["dyad_id"], r["status"]) for r in at_risk] == [(stopped.id, "red"), (falling.id, "amber")]
    assert _health(inst.coordinator, fine)["status"] == "green"
    # The colour is stored and each change announced once, naming signals only: no value, no answer.
    changes = [e["payload"] for e in events(engine, "dyad.health_changed") if e["subject"] == falling.id]
    assert [(c["previous"], c["status"]) for c in changes] == [(None, "green"), ("green", "red"), ("red", "amber")]
    assert changes[1]["reasons"] == [{"signal": "rating_drop", "kind": "rapport", "level": "red", "member": "mentee"}]
    assert ok(inst.coordinator.get(f"/v1/dyads/{falling.id}"))["health_status"] == "amber"
    again = len(events(engine, "dyad.health_changed"))
    ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))
    assert len(events(engine, "dyad.health_changed")) == again

    # An ended dyad leaves the list.
    deliver(engine, "match.dissolved", {**stopped.payload, "reason": "stopped meeting"})
    assert [r["dyad_id"] for r in ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))] == [falling.id]
    assert stopped.mentee.get(f"/v1/dyads/programs/{inst.program_id}/at-risk").status_code == 403


def test_the_policy_per_program_and_its_validation(world: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    url = f"/v1/dyads/programs/{inst.program_id}/health-thresholds"
    got = ok(inst.coordinator.get(url))
    policy = got["thresholds"]
    assert policy["missed_streak"] == {"amber": {"floor": 1, "ceiling": 1}, "red": {"floor": 2, "ceiling": 2}, "alone": False}
    assert policy["red_when_kinds"] == 2 and "norm" in got["documentation"]
    for n in range(3):
        _hold(dyad, frozen, n, rating=5)
    ratings = {"preparation": 4, "listening": 3, "usefulness": 3, "rapport": 4}  # 3.5: a drop of 1.5 points
    m = dyad.meetings()[3]
    frozen.set(datetime.fromisoformat(m["start"]) + timedelta(minutes=70))
    ok(dyad.mentee.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
    ok(dyad.mentee.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": ratings, "meeting_took_place": True}), 201)
    h = _health(inst.coordinator, dyad)
    assert h["signals"]["rating_drop"]["mentee"] == 1.5 and h["status"] == "amber"  # amber from 1.25, red from 2
    # A stricter program: red from a drop of 1.5 whatever its norm.
    strict = {"rating_drop": {"amber": {"floor": 0.5, "ceiling": 1.0}, "red": {"floor": 1.5, "ceiling": 1.5}, "alone": True}}
    changed = ok(inst.coordinator.put(url, json=strict))["thresholds"]
    assert changed["rating_drop"]["red"] == {"floor": 1.5, "ceiling": 1.5} and changed["silence"] == policy["silence"]
    assert _health(inst.coordinator, dyad)["status"] == "red"
    # Switched off, and the rest back to its defaults.
    ok(inst.coordinator.put(url, json={"rating_drop": {"amber": None, "red": None, "alone": True}}))
    assert _health(inst.coordinator, dyad)["status"] == "green"
    assert ok(inst.coordinator.get(url))["thresholds"]["rating_drop"] == {"amber": None, "red": None, "alone": True}
    # Bad input: a 422 naming each field, and nothing written.
    for body, fields in (
        ({"rating_drop": {"amber": {"floor": 1.0, "ceiling": 0.5}, "red": None, "alone": True}}, ["body.rating_drop.amber.ceiling"]),
        ({"silence": {"amber": {"floor": 3, "ceiling": 4}, "red": {"floor": 2, "ceiling": 5}, "alone": True},
          "norm_fence": 4, "norm_far_fence": 2}, ["body.silence.red.floor", "body.norm_far_fence"]),
        ({"on_time_rate_red": 0.25}, ["body.on_time_rate_red"]),
        ({"rating_drop": {"amber": {"floor": 1, "ceiling": 2}}}, ["body.rating_drop.red", "body.rating_drop.alone"]),
        ({"min_norm_sample": 2}, ["body.min_norm_sample"]),
        ({"red_when_kinds": 9}, ["body.red_when_kinds"]),
    ):
        r = inst.coordinator.put(url, json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", body
        assert [e["field"] for e in r.json()["errors"]] == fields, r.json()
    assert ok(inst.coordinator.get(url))["thresholds"]["rating_drop"]["amber"] is None


def test_the_weekly_digest(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    steady, breaking, recovered, quiet, leaving = (world.dyad(inst, n) for n in range(5))
    held = [(steady, range(7)), (breaking, range(5)), (recovered, (0, 1, 2, 6)), (quiet, ()), (leaving, range(6))]
    for n in range(7):
        if n == 6:  # one dyad ends a day before its seventh meeting
            frozen.set(_start(leaving, 6) - timedelta(days=1))
            deliver(engine, "match.dissolved", {**leaving.payload, "reason": "moved abroad"})
        for d, meetings in held:
            if n in meetings:
                _hold(d, frozen, n)
    as_of = _start(steady, 6) + timedelta(days=3)
    frozen.set(as_of + timedelta(hours=1))
    url = f"/v1/dyads/programs/{inst.program_id}/digest"
    d = ok(inst.coordinator.get(url, params={"as_of": as_of.isoformat()}))
    assert datetime.fromisoformat(d["as_of"]) == as_of and d["window_days"] == 7
    assert datetime.fromisoformat(d["since"]) == as_of - timedelta(days=7)
    # breaking: one meeting missed a week ago (green), two now (red); recovered: red a week ago, met again since.
    assert [(c["dyad_id"], c["before"], c["now"]) for c in d["new_flags"]] == [(breaking.id, "green", "red")]
    assert d["new_flags"][0]["reasons"][0]["signal"] == "missed_streak"
    assert [(c["dyad_id"], c["before"], c["now"]) for c in d["recoveries"]] == [(recovered.id, "red", "green")]
    assert "missed_streak" in {r["signal"] for r in d["recoveries"][0]["reasons"]}  # why it was flagged then
    assert d["escalations"] == [] and d["eased"] == []
    assert [(e["dyad_id"], e["status"], e["last_health"]) for e in d["ended"]] == [(leaving.id, "dissolved", "green")]
    assert [(u["dyad_id"], u["planned"]) for u in d["without_meeting"]] == [(quiet.id, 1), (breaking.id, 1)]  # longest first
    assert d["without_meeting"][0]["last_held_meeting_at"] is None
    assert datetime.fromisoformat(d["without_meeting"][1]["last_held_meeting_at"]) == _start(breaking, 4)
    assert d["counts"] == {"active": 4, "flagged": 2, "red": 2, "new_flags": 1, "escalations": 0, "recoveries": 1, "eased": 0,
                           "ended": 1, "without_meeting": 2}
    # Default: now. Bad moments are a 422 naming the parameter.
    assert datetime.fromisoformat(ok(inst.coordinator.get(url))["as_of"]) == as_of + timedelta(hours=1)
    for bad, why in ((as_of.replace(tzinfo=None).isoformat(), "timezone"), ((as_of + timedelta(days=30)).isoformat(), "future"),
                     ("next tuesday", "")):
        r = inst.coordinator.get(url, params={"as_of": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.as_of" and why in r.text, r.text
    # Read-only: looking at a past week changes no stored colour and announces nothing.
    before = len(events(engine, "dyad.health_changed"))
    ok(inst.coordinator.get(url, params={"as_of": (as_of - timedelta(days=14)).isoformat()}))
    assert len(events(engine, "dyad.health_changed")) == before


def test_who_reads_supervision(world: Any, frozen: Any, signing_key: Any) -> None:
    inst, elsewhere = world.institution(), world.institution()
    dyad, far = world.dyad(inst, 1), world.dyad(elsewhere, 2)
    _hold(dyad, frozen, 0)
    pid = inst.program_id
    reads = [f"/v1/dyads/programs/{pid}/at-risk", f"/v1/dyads/programs/{pid}/digest", f"/v1/dyads/programs/{pid}/health-thresholds",
             f"/v1/dyads/{dyad.id}/health"]
    put = (f"/v1/dyads/programs/{pid}/health-thresholds", {"red_when_kinds": 3})
    for caller in (inst.coordinator, inst.admin):
        for url in reads:
            assert caller.get(url).status_code == 200, (caller.name, url)
        assert caller.put(put[0], json=put[1]).status_code == 200
    for caller in (dyad.mentee, dyad.mentor):  # her own program: known, not hers to supervise
        for url in reads:
            assert caller.get(url).status_code == 403, (caller.name, url)
        assert caller.put(put[0], json=put[1]).status_code == 403
    for caller in (elsewhere.coordinator, far.mentee):  # another institution: nothing there
        for url in reads:
            assert caller.get(url).status_code == 404, (caller.name, url)
        assert caller.put(put[0], json=put[1]).status_code == 404
    client = world.caller("lms", sub="client-lms", tid=inst.id, roles=[], scope="events:read", client_id="lms")
    for url in reads[:3]:
        assert client.get(url).status_code == 403, url
    assert client.get(reads[3]).status_code == 403  # the client gate: no dyad route declares a client scope
    assert client.put(put[0], json=put[1]).status_code == 403
    forged = attack_tokens(signing_key)
    for url in reads:
        assert world.http.get(url).status_code == 401
        for name in ("expired", "alg_none", "tampered_payload", "foreign_key_same_kid", "wrong_audience"):
            r = world.http.get(url, headers=bearer(forged[name]))
            assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", (name, url)


def test_the_background_sweep_assesses_again_programs_whose_assessment_is_getting_old(world: Any, engine: Any, frozen: Any) -> None:
    from sqlmodel import Session

    from services.sessions import supervision
    from services.sessions.main import sweep_health

    inst, ended = world.institution(), world.institution()
    dyad, gone = world.dyad(inst, 1), world.dyad(ended, 2)
    for n in range(3):
        _hold(dyad, frozen, n)
    _hold(gone, frozen, 0)
    deliver(engine, "match.dissolved", {**gone.payload, "reason": "moved abroad"})
    with Session(engine) as session:  # just assessed by the last confirmation: nothing to do
        assert supervision.programs_to_sweep(session, frozen()) == []
    # Two meetings pass unconfirmed (a program this small waits the ceiling, 7 days, for a confirmation): time alone
    # turns the dyad red, and the sweep stores and announces it.
    frozen.set(_start(dyad, 4) + timedelta(days=8))
    with Session(engine) as session:
        assert [str(p) for p in supervision.programs_to_sweep(session, frozen())] == [inst.program_id]
    assert sweep_health(engine) == 1 and sweep_health(engine) == 0  # claimed once; fresh afterwards
    assert ok(inst.coordinator.get(f"/v1/dyads/{dyad.id}"))["health_status"] == "red"
    changes = [(e["payload"]["previous"], e["payload"]["status"]) for e in events(engine, "dyad.health_changed") if e["subject"] == dyad.id]
    assert changes == [(None, "green"), ("green", "red")]
    listed = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/at-risk"))  # read from what the sweep stored
    assert [(r["dyad_id"], r["status"]) for r in listed] == [(dyad.id, "red")]
    assert datetime.fromisoformat(listed[0]["computed_at"]) == frozen()
