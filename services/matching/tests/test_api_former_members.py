"""Nobody is re-matched with a member who left the program: the published run
still lists her, but a withdrawn (or completed) membership in participants keeps
her out of the substitutes and makes a rematch naming her a 409."""

from __future__ import annotations

from typing import Any

from services.matching.tests.conftest import Pilot, World, fill_profiles, ok


def _withdraw(pilot: Pilot, participant_id: str) -> None:
    memberships = ok(pilot.coordinator.get(f"/v1/programs/{pilot.id}/memberships", params={"limit": 200}))["items"]
    [membership] = [m for m in memberships if m["participant_id"] == participant_id]
    ok(pilot.coordinator.patch(f"/v1/programs/{pilot.id}/memberships/{membership['id']}",
                               json={"status": "withdrawn", "reason": "Dejó el programa."}))


def _published(world: World) -> tuple[Pilot, list[dict[str, Any]], list[dict[str, Any]]]:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 1, 1), ("mentor", 2, 2), ("mentee", 1, 0), ("mentee", 2, 1)])
    fill_profiles(pilot)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    published = ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/publish"))
    assert len(published["matches"]) == 2 and len(published["substitute_offers"]) == 1
    return pilot, published["matches"], published["substitute_offers"]


def test_a_withdrawn_mentor_is_no_substitute_and_cannot_be_rematched(world: World) -> None:
    pilot, (lost, _), [offer] = _published(world)
    mentee = pilot.by_participant()[lost["mentee_participant_id"]]
    ok(mentee.caller.post(f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "lack of rapport"}))
    substitutes = f"/v1/matching/matches/{lost['id']}/substitutes"
    reserve = offer["mentor_participant_id"]
    assert reserve in {o["mentor_participant_id"] for o in ok(pilot.coordinator.get(substitutes))}

    _withdraw(pilot, reserve)
    options = ok(pilot.coordinator.get(substitutes))
    assert reserve not in {o["mentor_participant_id"] for o in options}
    assert [o["rank"] for o in options] == list(range(1, len(options) + 1))
    body = {"mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": reserve}
    before = ok(pilot.coordinator.get(f"{pilot.base}/matches", params={"limit": 200}))["items"]
    refused = pilot.coordinator.post(f"{pilot.base}/rematches", json=body)
    assert refused.status_code == 409 and "mentor_participant_id" in refused.json()["detail"], refused.text
    assert ok(pilot.coordinator.get(f"{pilot.base}/matches", params={"limit": 200}))["items"] == before  # nothing written


def test_a_withdrawn_mentee_is_not_rematched(world: World) -> None:
    pilot, (_, gone), [offer] = _published(world)
    ok(pilot.coordinator.post(f"/v1/matching/matches/{gone['id']}/dissolution", json={"reason": "she is leaving"}))
    _withdraw(pilot, gone["mentee_participant_id"])
    r = pilot.coordinator.get(f"/v1/matching/matches/{gone['id']}/substitutes")
    assert r.status_code == 409 and "no longer a member" in r.json()["detail"], r.text
    body = {"mentee_participant_id": gone["mentee_participant_id"], "mentor_participant_id": offer["mentor_participant_id"]}
    refused = pilot.coordinator.post(f"{pilot.base}/rematches", json=body)
    assert refused.status_code == 409 and "mentee_participant_id" in refused.json()["detail"], refused.text


def test_a_current_member_is_still_rematched(world: World) -> None:
    pilot, (lost, _), [offer] = _published(world)
    ok(pilot.coordinator.post(f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "lack of rapport"}))
    body = {"mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": offer["mentor_participant_id"]}
    rematched = ok(pilot.coordinator.post(f"{pilot.base}/rematches", json=body), 201)
    assert rematched["replaces_match_id"] == lost["id"]
