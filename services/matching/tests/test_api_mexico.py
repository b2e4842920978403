"""The Mexico pilot through the API, against the real participants service over HTTP.

16 mentors and 14 mentees on three campuses (nine academic units) fill the
questionnaire; the default settings are the pilots' rule. The run gives 14
pairs, none on the same campus or in the same unit, and two unmatched mentors
ranked as substitutes. A pair is explained, an adjustment re-runs, the run is
published (events, substitutes marked in participants and agreeing), both
members accept a match (match.activated, self-contained), one dyad dissolves
"for lack of rapport after the third meeting" and its mentee is re-matched
from a substitute without any other pair changing.
"""

from __future__ import annotations

from typing import Any

from services.matching.tests.conftest import World, events, fill_profiles, ok


def mexico(world: World) -> Any:
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(16)] + [("mentee", k % 3, (k // 3) % 3) for k in range(14)]
    return world.pilot(placements)


def test_the_mexico_pilot_end_to_end(world: World, engine: Any) -> None:
    pilot = mexico(world)
    coordinator, base = pilot.coordinator, pilot.base

    # Nobody has filled the questionnaire yet; then everyone does.
    missing = ok(coordinator.get(f"{base}/profiles/missing"))["items"]
    assert len(missing) == 30
    fill_profiles(pilot)
    assert ok(coordinator.get(f"{base}/profiles/missing"))["items"] == []
    mine = ok(pilot.mentees[0].caller.get(f"{base}/profiles/me"))
    assert mine["timezone"] == "America/Mexico_City"
    # Tuesday 10:00-13:00 in Mexico City (UTC-6, no DST) is 16:00-19:00 UTC.
    assert {"weekday": 1, "start_minute": 960, "end_minute": 1140} in mine["availability_utc"]

    settings = ok(coordinator.get(f"{base}/settings"))
    assert settings["is_default"] and settings["rules"]["different_campus"] and settings["rules"]["different_academic_unit"]

    created = coordinator.post(f"{base}/runs", json={}, headers={"Idempotency-Key": "mx-run-1"})
    run = ok(created, 201)
    assert created.headers["Location"] == f"{base}/runs/{run['id']}"
    report = run["report"]
    assert (report["mentors"], report["mentees"], report["matched"]) == (16, 14, 14)
    assert report["unmatched_mentees"] == []
    assert report["min_score"] > 0 and report["total_score"] > 0 and run["solver"] and run["timings"]
    people = pilot.by_participant()
    for pair in report["pairs"]:
        mentee, mentor = people[pair["mentee_participant_id"]], people[pair["mentor_participant_id"]]
        assert mentee.campus != mentor.campus
        assert (mentee.campus, mentee.unit) != (mentor.campus, mentor.unit)
    substitutes = report["substitutes"]
    assert len(substitutes) == 2 and [s["rank"] for s in substitutes] == [1, 2] and all(s["willing"] for s in substitutes)
    assert report["identity_matching"] == "not_requested"

    # Retrying with the same key answers with the first run; running again gives the same pairs.
    replay = coordinator.post(f"{base}/runs", json={}, headers={"Idempotency-Key": "mx-run-1"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == run["id"]
    again = ok(coordinator.post(f"{base}/runs", json={}), 201)
    assert again["report"]["pairs"] == report["pairs"]

    # Explain a matched pair (contributions add up) and a same-campus pair (forbidden).
    pair = report["pairs"][0]
    why = ok(coordinator.get(f"{base}/pairs/{pair['mentee_participant_id']}/{pair['mentor_participant_id']}/explanation"))
    assert why["feasible"] and why["forbidding_rule"] is None
    assert abs(sum(c["contribution"] for c in why["components"]) - why["score"]) < 1e-6
    assert {c["name"] for c in why["components"]} >= {"objectives", "availability", "interests", "languages", "delivery"}
    same = next(m for m in pilot.mentors if m.campus == pilot.mentees[0].campus)
    bad = ok(coordinator.get(f"{base}/pairs/{pilot.mentees[0].participant_id}/{same.participant_id}/explanation"))
    assert not bad["feasible"] and bad["forbidding_rule"] == "different_campus"
    assert any(v["reason"].startswith("same campus: Campus") for v in bad["violations"])

    # Adjust: forbid a proposed pair; run again on the same snapshot.
    ref = {"mentee_participant_id": pair["mentee_participant_id"], "mentor_participant_id": pair["mentor_participant_id"]}
    adjusted = ok(coordinator.post(f"{base}/runs/{again['id']}/adjustments", json={"forbid": [ref]}), 201)
    assert adjusted["parent_run_id"] == again["id"] and adjusted["report"]["matched"] == 14
    new_pairs = {(p["mentee_participant_id"], p["mentor_participant_id"]) for p in adjusted["report"]["pairs"]}
    assert (pair["mentee_participant_id"], pair["mentor_participant_id"]) not in new_pairs
    saved = ok(coordinator.get(f"{base}/settings"))
    assert not saved["is_default"] and saved["forbidden_pairs"] == [
        {"mentee_participant_id": pair["mentee_participant_id"], "mentor_participant_id": pair["mentor_participant_id"]}
    ]
    listed = ok(coordinator.get(f"{base}/runs"))["items"]
    assert [r["id"] for r in listed] == [run["id"], again["id"], adjusted["id"]]

    # Publish: 14 proposed matches, events, two substitute offers, memberships marked in participants.
    published = ok(coordinator.post(f"{base}/runs/{adjusted['id']}/publish"))
    assert len(published["matches"]) == 14 and {m["status"] for m in published["matches"]} == {"proposed"}
    assert len(events(engine, "match.published")) == 14
    assert coordinator.post(f"{base}/runs/{adjusted['id']}/publish").status_code == 409
    offers = published["substitute_offers"]
    assert len(offers) == 2
    memberships = {m["participant_id"]: m for m in ok(coordinator.get(f"/v1/programs/{pilot.id}/memberships", params={"limit": 200}))["items"]}
    for offer in offers:
        assert memberships[offer["mentor_participant_id"]]["status"] == "substitute"
        mentor = people[offer["mentor_participant_id"]]
        assert [o["id"] for o in ok(mentor.caller.get("/v1/matching/substitute-offers/mine"))] == [offer["id"]]
        assert coordinator.post(f"/v1/matching/substitute-offers/{offer['id']}/accept").status_code == 403
        assert ok(mentor.caller.post(f"/v1/matching/substitute-offers/{offer['id']}/accept"))["status"] == "accepted"
        assert mentor.caller.post(f"/v1/matching/substitute-offers/{offer['id']}/accept").status_code == 409

    # Both members accept every match: active, with a self-contained match.activated.
    for match in published["matches"]:
        mentee, mentor = people[match["mentee_participant_id"]], people[match["mentor_participant_id"]]
        assert ok(mentee.caller.post(f"/v1/matching/matches/{match['id']}/accept"))["status"] == "proposed"
        assert ok(mentor.caller.post(f"/v1/matching/matches/{match['id']}/accept"))["status"] == "active"
    activated = events(engine, "match.activated")
    assert len(activated) == 14
    payload = activated[0]["payload"]
    first = published["matches"][0]
    assert payload["match_id"] == first["id"] and payload["institution_id"] == pilot.institution_id
    assert payload["mentee"]["participant_id"] == first["mentee_participant_id"]
    assert payload["mentor"]["timezone"] == "America/Mexico_City" and payload["mentee"]["availability"]
    assert payload["mentee"]["availability_utc"] and payload["preferred_delivery"] in ("virtual", "in_person", "hybrid")
    meetings = payload["meetings"]
    assert (meetings["meetings_count"], meetings["cadence"], meetings["duration_minutes"]) == (12, "weekly", 60)
    assert meetings["feedback_deadline_hours"] == 48 and meetings["mentoring_starts_on"] and meetings["mentoring_ends_on"]

    # One dyad loses rapport after the third meeting; its mentee is re-matched from a substitute.
    lost = published["matches"][3]
    mentee = people[lost["mentee_participant_id"]]
    gone = ok(mentee.caller.post(f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "lack of rapport after the third meeting"}))
    assert (gone["status"], gone["dissolved_by"]) == ("dissolved", "mentee")
    assert mentee.caller.post(f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "again"}).status_code == 409
    before = {m["id"]: m for m in ok(coordinator.get(f"/v1/matching/programs/{pilot.id}/matches", params={"limit": 200}))["items"]}
    options = ok(coordinator.get(f"/v1/matching/matches/{lost['id']}/substitutes"))
    assert options and all(o["mentor_participant_id"] != lost["mentor_participant_id"] for o in options)
    substitute_ids = {o["mentor_participant_id"] for o in offers}
    pick = next(o for o in options if o["mentor_participant_id"] in substitute_ids)
    assert pick["unmatched"] and pick["substitute_offer"] == "accepted"
    body = {"mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": pick["mentor_participant_id"]}
    former = {"mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": lost["mentor_participant_id"]}
    assert coordinator.post(f"/v1/matching/programs/{pilot.id}/rematches", json=former).status_code == 409
    rematched = ok(coordinator.post(f"/v1/matching/programs/{pilot.id}/rematches", json=body, headers={"Idempotency-Key": "re-1"}), 201)
    assert rematched["replaces_match_id"] == lost["id"] and rematched["status"] == "proposed"
    after = {m["id"]: m for m in ok(coordinator.get(f"/v1/matching/programs/{pilot.id}/matches", params={"limit": 200}))["items"]}
    assert set(after) == set(before) | {rematched["id"]}
    assert all(after[i] == before[i] for i in before)
    assigned = events(engine, "substitute.assigned")
    assert len(assigned) == 1 and assigned[0]["payload"]["match_id"] == rematched["id"]
    assert len(events(engine, "match.dissolved")) == 1
    membership = next(
        m for m in ok(coordinator.get(f"/v1/programs/{pilot.id}/memberships", params={"limit": 200}))["items"]
        if m["participant_id"] == pick["mentor_participant_id"]
    )
    assert membership["status"] == "active"

    # Complete an active match (coordinator); the mentee cannot.
    done = published["matches"][0]
    assert people[done["mentee_participant_id"]].caller.post(f"/v1/matching/matches/{done['id']}/completion").status_code == 403
    assert ok(coordinator.post(f"/v1/matching/matches/{done['id']}/completion"))["status"] == "completed"
    assert len(events(engine, "match.completed")) == 1
