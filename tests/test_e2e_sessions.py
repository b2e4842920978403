"""Issue 5 over real HTTP through the gateway: the sessions service hears
`match.activated` on the matching service's feed (its own service token, the
real consumer), proposes each dyad's twelve weekly meetings, members log them
and give feedback, the coordinator sees the dyad that stopped after its third
meeting at the top of the at-risk list, its dissolution in matching reaches
sessions, and the re-matched mentee gets a new dyad with its own schedule.

Time is real here: the program's mentoring phase is the one that just ended
(the coordinator records the pilot's calendar), so every meeting lies in the
past and the members record them afterwards. The exact pilot feedback mix
(half on time, the rest 1 to 14 days late) needs control of the clock and is
reproduced in services/sessions/tests/test_api_mexico.py with a frozen clock.
"""

from datetime import date, timedelta

import httpx

from services.matching.tests.conftest import profile_body
from services.participants.tests.conftest import phases
from services.sessions.tests.conftest import RATINGS
from tests.journeys import Client, confirmed_cohort, wait_for


def test_fourteen_dyads_meet_one_goes_red_is_dissolved_and_rematched(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(16)] + [("mentee", k % 3, (k // 3) % 3) for k in range(14)]
    cohort = confirmed_cohort(http, admin, placements)
    coordinator, program_id = cohort.coordinator, cohort.id
    # The mentoring phase is the one that just ended: its twelve weeks lie in the past.
    coordinator.ok("PATCH", f"/v1/programs/{program_id}", json={"phases": phases(date.today() - timedelta(days=200))})

    base = f"/v1/matching/programs/{program_id}"
    for k, member in enumerate((*cohort.mentors, *cohort.mentees)):
        member.client.ok("PUT", f"{base}/profiles/me", json=profile_body(k, member.role))
    run = coordinator.ok("POST", f"{base}/runs", 201, json={})
    published = coordinator.ok("POST", f"{base}/runs/{run['id']}/publish")
    people = cohort.by_participant()
    for offer in published["substitute_offers"]:
        people[offer["mentor_participant_id"]].client.ok("POST", f"/v1/matching/substitute-offers/{offer['id']}/accept")
    for match in published["matches"]:
        for who in ("mentee_participant_id", "mentor_participant_id"):
            people[match[who]].client.ok("POST", f"/v1/matching/matches/{match['id']}/accept")

    # Sessions hears match.activated on the feed and proposes twelve meetings per dyad.
    def dyad_of(match):
        mentee = people[match["mentee_participant_id"]].client
        mine = mentee.ok("GET", "/v1/dyads/mine")["items"]
        return next((d for d in mine if d["id"] == match["id"]), None)

    dyads = [wait_for(lambda m=m: dyad_of(m), "the dyads") for m in published["matches"]]
    assert {d["schedule_status"] for d in dyads} == {"ok"}
    meetings = {}
    for match in published["matches"]:
        mentee = people[match["mentee_participant_id"]].client
        listed = mentee.ok("GET", f"/v1/dyads/{match['id']}/meetings", params={"limit": 50})
        items = listed["items"] if isinstance(listed, dict) else listed
        assert len(items) == 12
        meetings[match["id"]] = sorted(items, key=lambda m: m["number"])
    # Another dyad's member sees nothing of this one.
    first, second = published["matches"][0], published["matches"][1]
    assert people[second["mentee_participant_id"]].client.get(f"/v1/dyads/{first['id']}").status_code == 404
    assert people[second["mentee_participant_id"]].client.get(f"/v1/meetings/{meetings[first['id']][0]['id']}").status_code == 404

    # Every dyad meets twelve times but one, which stops after its third meeting.
    lost = published["matches"][0]
    forms = 0
    for match in published["matches"]:
        mentee = people[match["mentee_participant_id"]].client
        mentor = people[match["mentor_participant_id"]].client
        held = 3 if match is lost else 12
        for meeting in meetings[match["id"]][:held]:
            mentee.ok("POST", f"/v1/meetings/{meeting['id']}/confirmation", json={})
            mentor.ok("POST", f"/v1/meetings/{meeting['id']}/confirmation", json={})
            for member in (mentee, mentor):
                form = member.ok("POST", "/v1/feedback", 201,
                                 json={"meeting_id": meeting["id"], "ratings": RATINGS, "meeting_took_place": True})  # fmt: skip
                assert form["on_time"] is (form["delay_days"] == 0)
                forms += 1

    at_risk = coordinator.ok("GET", f"/v1/dyads/programs/{program_id}/at-risk")
    assert at_risk[0]["dyad_id"] == lost["id"] and at_risk[0]["status"] == "red"
    assert at_risk[0]["signals"]["held"] == 3

    stats = coordinator.ok("GET", f"/v1/dyads/programs/{program_id}/statistics")
    assert (stats["dyads"], stats["meetings"]["planned"], stats["meetings"]["held"]) == (14, 168, 3 + 13 * 12)
    assert stats["feedback"]["on_time"] + stats["feedback"]["late"] == forms

    # Dissolved in matching; sessions hears it; the mentee is re-matched from a substitute.
    people[lost["mentee_participant_id"]].client.ok(
        "POST", f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "lack of rapport after the third meeting"}
    )
    wait_for(lambda: (dyad_of(lost) or {}).get("status") == "dissolved", "the dissolution to reach sessions")
    options = coordinator.ok("GET", f"/v1/matching/matches/{lost['id']}/substitutes")
    substitutes = {o["mentor_participant_id"] for o in published["substitute_offers"]}
    pick = next(o for o in options if o["mentor_participant_id"] in substitutes)
    rematch = coordinator.ok("POST", f"/v1/matching/programs/{program_id}/rematches", 201, json={
        "mentee_participant_id": lost["mentee_participant_id"], "mentor_participant_id": pick["mentor_participant_id"],
    })  # fmt: skip
    for who in ("mentee_participant_id", "mentor_participant_id"):
        people[rematch[who]].client.ok("POST", f"/v1/matching/matches/{rematch['id']}/accept")
    new_dyad = wait_for(lambda: dyad_of(rematch), "the new dyad")
    assert new_dyad["status"] == "active"
    mine = people[lost["mentee_participant_id"]].client.ok("GET", "/v1/dyads/mine")["items"]
    assert sorted(d["status"] for d in mine) == ["active", "dissolved"]
