"""The Peru pilot, infeasible cohorts, validation that writes nothing, a dependency down, swaps and pins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.matching.main import create_app
from services.matching.schemas.profiles import Slot
from services.matching.snapshot import to_utc
from services.matching.tests.conftest import Pilot, World, fill_profiles, matching_settings, ok, profile_body, snapshot


def test_the_peru_pilot_matches_everyone(world: World) -> None:
    placements = [("mentor", k % 2, k % 3) for k in range(20)] + [("mentee", (k + 1) % 2, (k + 1) % 3) for k in range(40)]
    pilot = world.pilot(placements, campuses=2, timezone="America/Lima", max_mentees_per_mentor=2)
    fill_profiles(pilot, timezone="America/Lima", capacity=2)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    report = run["report"]
    assert (report["mentors"], report["mentees"], report["matched"]) == (20, 40, 40)
    load: dict[str, int] = {}
    for pair in report["pairs"]:
        load[pair["mentor_participant_id"]] = load.get(pair["mentor_participant_id"], 0) + 1
    assert max(load.values()) == 2 and report["unmatched_mentees"] == []
    stable = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={"algorithm": "stable"}), 201)
    assert stable["algorithm"] == "stable" and stable["report"]["blocking_pairs"] == 0


def small(world: World, campuses: list[int], **program: Any) -> Pilot:
    """Mentors then mentees, on the given campuses (each in its own unit)."""
    n = len(campuses)
    roles = ["mentor"] * (n - n // 2) + ["mentee"] * (n // 2)
    return world.pilot([(r, c, i % 3) for i, (r, c) in enumerate(zip(roles, campuses))], **program)


def test_an_infeasible_cohort_is_reported_with_reasons(world: World) -> None:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 0, 1), ("mentee", 0, 2), ("mentee", 0, 0)], campuses=1)
    fill_profiles(pilot)
    report = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)["report"]
    assert report["matched"] == 0 and len(report["unmatched_mentees"]) == 2
    for unmatched in report["unmatched_mentees"]:
        assert unmatched["feasible_mentors"] == 0 and "different_campus" in unmatched["reasons"]
        assert "different_campus" in unmatched["message"]
    assert len(report["substitutes"]) == 2


def test_swap_and_pin_then_run_again(world: World) -> None:
    pilot = small(world, [0, 1, 2, 0, 1, 2])
    fill_profiles(pilot)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    pairs = {p["mentee_participant_id"]: p["mentor_participant_id"] for p in run["report"]["pairs"]}
    a, b = sorted(pairs)[:2]
    swapped = ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/adjustments", json={"swap": [{"mentee_a": a, "mentee_b": b}]}), 201)
    after = {p["mentee_participant_id"]: (p["mentor_participant_id"], p["pinned"]) for p in swapped["report"]["pairs"]}
    assert after[a] == (pairs[b], True) and after[b] == (pairs[a], True)
    unknown = {"swap": [{"mentee_a": a, "mentee_b": pilot.mentors[0].participant_id}]}
    refused = pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/adjustments", json=unknown)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.swap.0.mentee_b"
    empty = pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/adjustments", json={})
    assert empty.status_code == 422


def test_bad_input_names_the_field_and_writes_nothing(world: World, engine: Any) -> None:
    pilot = small(world, [0, 1, 1, 0])
    mentor, mentee = pilot.mentors[0].caller, pilot.mentees[0].caller
    url = f"{pilot.base}/profiles/me"
    before = snapshot(engine)
    cases = [
        (mentee, profile_body(0, "mentee", objectives=["astrology"]), "body.objectives.0"),
        (mentor, profile_body(0, "mentor", capacity=3), "body.capacity"),
        (mentor, profile_body(0, "mentor", requests={"identity_match": ["ethnicity"]}), "body.requests"),
        (mentee, profile_body(0, "mentee", timezone="Mars/Olympus"), "body.timezone"),
        (mentee, profile_body(0, "mentee", availability=[{"weekday": 7, "start": "09:00", "end": "10:00"}]), "body.availability.0.weekday"),
        (mentee, profile_body(0, "mentee", availability=[{"weekday": 1, "start": "11:00", "end": "10:00"}]), "body.availability.0"),
        (mentee, {**profile_body(0, "mentee"), "favourite_colour": "green"}, "body.favourite_colour"),
        (mentee, {k: v for k, v in profile_body(0, "mentee").items() if k != "languages"}, "body.languages"),
    ]
    for caller, body, field in cases:
        response = caller.put(url, json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.text)
    bad_settings = [
        ({"weights": {"objectives": -1}}, "body.weights.objectives"),
        ({"rules": {"min_weekly_overlap_minutes": 99999}}, "body.rules.min_weekly_overlap_minutes"),
        ({"algorithm": "greedy"}, "body.algorithm"),
    ]
    for body, field in bad_settings:
        response = pilot.coordinator.put(f"{pilot.base}/settings", json=body)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field
    pair = {"mentee_participant_id": pilot.mentees[0].participant_id, "mentor_participant_id": pilot.mentors[0].participant_id}
    clash = pilot.coordinator.put(f"{pilot.base}/settings", json={"forbidden_pairs": [pair], "pinned_pairs": [pair]})
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "body.pinned_pairs.0"
    assert snapshot(engine) == before


def test_participants_down_is_a_503_with_nothing_written(world: World, engine: Any, database_url: str, key_source: Any) -> None:
    pilot = small(world, [0, 1, 1, 0])
    fill_profiles(pilot)
    before = snapshot(engine)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(
        matching_settings(database_url, "http://participants.invalid"), key_source=key_source, engine=engine,
        participants_transport=httpx.MockTransport(down),
    )  # fmt: skip
    with TestClient(app) as client:
        headers = pilot.coordinator.headers
        response = client.post(f"{pilot.base}/runs", json={}, headers=headers)
        assert response.status_code == 503 and response.json()["type"].endswith("upstream-unavailable")
        assert client.put(f"{pilot.base}/profiles/me", json=profile_body(0, "mentee"), headers=pilot.mentees[0].caller.headers).status_code == 503
    assert snapshot(engine) == before


def test_identity_requests_without_service_credentials_are_ignored_and_reported(world: World) -> None:
    pilot = small(world, [0, 1, 1, 0])
    fill_profiles(pilot)
    mentee = pilot.mentees[0]
    body = profile_body(0, "mentee", requests={"identity_match": ["first_generation"], "avoid_participant_ids": [pilot.mentors[0].participant_id]})
    ok(mentee.caller.put(f"{pilot.base}/profiles/me", json=body))
    report = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)["report"]
    assert report["identity_matching"] == "unavailable"
    assert all(
        (p["mentee_participant_id"], p["mentor_participant_id"]) != (mentee.participant_id, pilot.mentors[0].participant_id)
        for p in report["pairs"]
    )


@pytest.mark.parametrize(
    ("zone", "anchor", "expected"),
    [
        ("America/New_York", "2026-07-06", (1, 13 * 60, 15 * 60)),  # EDT, UTC-4
        ("America/New_York", "2026-01-05", (1, 14 * 60, 16 * 60)),  # EST, UTC-5
        ("Asia/Tokyo", "2026-01-05", (0, 23 * 60 + 30, 25 * 60 + 30)),  # crosses midnight backwards to Monday
        ("America/Lima", "2026-03-02", (1, 14 * 60, 16 * 60)),
    ],
)
def test_local_slots_convert_to_utc_with_daylight_saving(zone: str, anchor: str, expected: tuple[int, int, int]) -> None:
    from datetime import date

    start = "08:30" if zone == "Asia/Tokyo" else "09:00"
    end = "10:30" if zone == "Asia/Tokyo" else "11:00"
    assert to_utc([Slot(weekday=1, start=start, end=end)], zone, date.fromisoformat(anchor)) == [expected]
