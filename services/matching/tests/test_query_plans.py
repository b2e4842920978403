"""The hot reads of the matching service reach their rows through an index (issue 15).

A pilot is matched and published beside another institution's; the program
lists (profiles, runs, matches, substitute offers, outcomes) and a member's
own reads are requested, every statement they ran is explained
(servicekit.plans) and none may read a table whole.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from servicekit.plans import recording, whole_table_reads

from services.matching.tests.conftest import World, fill_profiles, ok


def _plans_of(engine: Engine, caller: Any, *urls: str) -> list[str]:
    with recording(engine) as executed:
        for url in urls:
            ok(caller.get(url))
    assert executed
    return whole_table_reads(engine, executed)


def test_program_lists_and_a_members_reads_go_through_indexes(world: World, engine: Engine) -> None:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 1, 1), ("mentee", 1, 0), ("mentee", 2, 1)])
    fill_profiles(pilot)
    other = world.pilot([("mentor", 0, 0), ("mentee", 1, 1)], campuses=2, units_per_campus=2)
    fill_profiles(other)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    matches = ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/publish"))["matches"]
    assert matches
    base = pilot.base
    assert _plans_of(engine, pilot.coordinator, f"{base}/profiles", f"{base}/profiles/missing", f"{base}/runs",
                     f"{base}/runs/{run['id']}", f"{base}/outcomes", f"/v1/matching/programs/{pilot.id}/matches",
                     f"/v1/matching/matches/{matches[0]['id']}", f"/v1/matching/programs/{pilot.id}/substitute-offers") == []
    member = pilot.by_participant()[matches[0]["mentee_participant_id"]].caller
    assert _plans_of(engine, member, "/v1/matching/matches/mine", f"{base}/profiles/me") == []
