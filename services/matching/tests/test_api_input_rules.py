"""Input that a parser could choke on is a 422 naming the field, never a
500, and nothing is written: time-zone names (a region without a city, an
over-long name, path tricks) and text PostgreSQL cannot store (NUL, lone
surrogates) in a matching profile, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.matching.tests.conftest import World, ok, profile_body, snapshot

BAD_ZONES = [
    "America", "Europe", "America/", "Etc", "Mars/Olympus", "America/Mexico_City ", " America/Mexico_City",
    "america/mexico_city", "America/Mexico_City\x00", "../../../../etc/passwd", "/usr/share/zoneinfo/UTC",
    "America/" + "x" * 300, "x" * 10_000, "", "America//Mexico_City", "America/Mexico_City/..",
]  # fmt: skip
BAD_TEXT = ["a\x00b", "\x00", "tail\ud800", "\udfff"]


@pytest.fixture
def pilot(world: World) -> Any:
    return world.pilot([("mentor", 0, 0), ("mentee", 0, 0)], campuses=1, units_per_campus=1)


def put_profile(pilot: Any, body: dict[str, Any]) -> Any:
    caller = pilot.mentees[0].caller
    return caller.put(f"{pilot.base}/profiles/me", content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field], response.text


def test_a_time_zone_that_is_not_an_iana_name_is_refused_naming_the_field(pilot: Any, engine: Any) -> None:
    before = snapshot(engine)
    for zone in BAD_ZONES:
        refused(put_profile(pilot, profile_body(0, "mentee", timezone=zone)), "body.timezone")
    assert snapshot(engine) == before
    for zone in ("UTC", "America/Lima", "America/Argentina/Buenos_Aires"):
        assert ok(put_profile(pilot, profile_body(0, "mentee", timezone=zone)))["timezone"] == zone


def test_unstorable_free_text_is_refused_naming_the_field(pilot: Any, engine: Any) -> None:
    before = snapshot(engine)
    for bad in BAD_TEXT:
        refused(put_profile(pilot, profile_body(0, "mentee", objectives_text=f"Ganar {bad}")), "body.objectives_text")
        refused(put_profile(pilot, profile_body(0, "mentee", experience=bad)), "body.experience")
    assert snapshot(engine) == before
