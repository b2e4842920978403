"""Issue 4's "done": through the gateway over real HTTP, the Mexico and Peru
cohorts are matched, explained and published; one Mexico dyad is dissolved and
re-matched from a substitute who agreed, with no other pair changed."""

import httpx

from services.matching.tests.conftest import profile_body
from tests.journeys import Client, confirmed_cohort


def fill_profiles(cohort, **overrides) -> None:
    base = f"/v1/matching/programs/{cohort.id}"
    for k, member in enumerate((*cohort.mentors, *cohort.mentees)):
        member.client.ok("PUT", f"{base}/profiles/me", json=profile_body(k, member.role, **overrides))


def test_mexico_matched_explained_published_dissolved_and_rematched(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(16)] + [("mentee", k % 3, (k // 3) % 3) for k in range(14)]
    cohort = confirmed_cohort(http, admin, placements)
    coordinator, base = cohort.coordinator, f"/v1/matching/programs/{cohort.id}"
    assert len(coordinator.ok("GET", f"{base}/profiles/missing")["items"]) == 30
    fill_profiles(cohort)

    run = coordinator.ok("POST", f"{base}/runs", 201, json={})
    report = run["report"]
    assert (report["mentors"], report["mentees"], report["matched"]) == (16, 14, 14)
    people = cohort.by_participant()
    for pair in report["pairs"]:
        mentee, mentor = people[pair["mentee_participant_id"]], people[pair["mentor_participant_id"]]
        assert mentee.campus != mentor.campus and (mentee.campus, mentee.unit) != (mentor.campus, mentor.unit)
    assert len(report["substitutes"]) == 2

    pair = report["pairs"][0]
    why = coordinator.ok("GET", f"{base}/pairs/{pair['mentee_participant_id']}/{pair['mentor_participant_id']}/explanation")
    assert why["feasible"] and abs(sum(c["contribution"] for c in why["components"]) - why["score"]) < 1e-6
    same = next(m for m in cohort.mentors if m.campus == cohort.mentees[0].campus)
    bad = coordinator.ok("GET", f"{base}/pairs/{cohort.mentees[0].participant_id}/{same.participant_id}/explanation")
    assert bad["forbidding_rule"] == "different_campus"

    published = coordinator.ok("POST", f"{base}/runs/{run['id']}/publish")
    assert len(published["matches"]) == 14
    for offer in published["substitute_offers"]:
        people[offer["mentor_participant_id"]].client.ok("POST", f"/v1/matching/substitute-offers/{offer['id']}/accept")
    for match in published["matches"]:
        people[match["mentee_participant_id"]].client.ok("POST", f"/v1/matching/matches/{match['id']}/accept")
        assert people[match["mentor_participant_id"]].client.ok("POST", f"/v1/matching/matches/{match['id']}/accept")["status"] == "active"

    # A member sees her own match, never another dyad's.
    first, second = published["matches"][0], published["matches"][1]
    own = people[first["mentee_participant_id"]].client
    assert own.ok("GET", f"/v1/matching/matches/{first['id']}")["id"] == first["id"]
    assert own.get(f"/v1/matching/matches/{second['id']}").status_code == 404

    lost = published["matches"][3]
    people[lost["mentee_participant_id"]].client.ok(
        "POST", f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "lack of rapport after the third meeting"}
    )
    before = {m["id"]: m for m in coordinator.ok("GET", f"/v1/matching/programs/{cohort.id}/matches", params={"limit": 200})["items"]}
    options = coordinator.ok("GET", f"/v1/matching/matches/{lost['id']}/substitutes")
    substitutes = {o["mentor_participant_id"] for o in published["substitute_offers"]}
    pick = next(o for o in options if o["mentor_participant_id"] in substitutes)
    rematched = coordinator.ok("POST", f"/v1/matching/programs/{cohort.id}/rematches", 201, json={
        "mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": pick["mentor_participant_id"],
    })  # fmt: skip
    after = {m["id"]: m for m in coordinator.ok("GET", f"/v1/matching/programs/{cohort.id}/matches", params={"limit": 200})["items"]}
    assert set(after) == set(before) | {rematched["id"]}
    assert all(after[i] == before[i] for i in before)


def test_peru_twenty_mentors_of_capacity_two_match_forty_mentees(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, k % 2) for k in range(20)] + [("mentee", (k + 1) % 3, k % 2) for k in range(40)]
    cohort = confirmed_cohort(http, admin, placements, max_mentees_per_mentor=2)
    base = f"/v1/matching/programs/{cohort.id}"
    for k, member in enumerate((*cohort.mentors, *cohort.mentees)):
        extra = {"capacity": 2} if member.role == "mentor" else {}
        member.client.ok("PUT", f"{base}/profiles/me", json=profile_body(k, member.role, **extra))
    run = cohort.coordinator.ok("POST", f"{base}/runs", 201, json={})
    assert (run["report"]["mentors"], run["report"]["mentees"], run["report"]["matched"]) == (20, 40, 40)
    load = {}
    for pair in run["report"]["pairs"]:
        load[pair["mentor_participant_id"]] = load.get(pair["mentor_participant_id"], 0) + 1
    assert max(load.values()) <= 2
    published = cohort.coordinator.ok("POST", f"{base}/runs/{run['id']}/publish")
    assert len(published["matches"]) == 40
