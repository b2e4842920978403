"""Finding 9 (issue 14) over real HTTP through the gateway: a calendar feed
keeps no suspended owner's calendar. The mentee's feed answers; an admin
suspends her account at the gateway; within the sessions service's bound (its
account-status answers are reused 1 s in the tests' stack, 30 s by default) the
feed answers 404 exactly as an unknown feed does, while her mentor's feed of the
same dyad still answers; reinstated, her feed answers again.

The gateway's account-status endpoint is for service clients with
``accounts:read`` and no institution only.
"""

import uuid
from datetime import date, timedelta

import httpx

from services.matching.tests.conftest import profile_body
from services.participants.tests.conftest import phases
from tests.journeys import Client, confirmed_cohort, matched_and_active, wait_for


def _client_token(http: httpx.Client, admin: Client, scopes: list[str], institution_id: str | None = None) -> Client:
    body = {"name": f"probe {uuid.uuid4().hex[:6]}", "scopes": scopes}
    if institution_id:
        body["institution_id"] = institution_id
    client = admin.ok("POST", "/v1/admin/clients", 201, json=body)
    r = http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"],
                                          "client_secret": client["client_secret"], "scope": " ".join(scopes)})
    assert r.status_code == 200, r.text
    return Client(http, r.json()["access_token"], "client")


def test_a_suspended_owners_feed_stops_within_the_bound_and_answers_again_once_reinstated(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(3)] + [("mentee", k % 3, (k // 3) % 3) for k in range(2)]
    cohort = confirmed_cohort(http, admin, placements)
    cohort.coordinator.ok("PATCH", f"/v1/programs/{cohort.id}", json={"phases": phases(date.today() - timedelta(days=200))})
    match = matched_and_active(cohort, profile_body)["matches"][0]
    people = cohort.by_participant()
    mentee, mentor = people[match["mentee_participant_id"]].client, people[match["mentor_participant_id"]].client
    wait_for(lambda: any(d["id"] == match["id"] for d in mentee.ok("GET", "/v1/dyads/mine")["items"]), "the dyad in sessions")
    feed = mentee.ok("POST", "/v1/meetings/calendar-tokens", 201)["token"]
    mentor_feed = mentor.ok("POST", "/v1/meetings/calendar-tokens", 201)["token"]
    url, mentor_url = f"/v1/meetings/calendar/{feed}.ics", f"/v1/meetings/calendar/{mentor_feed}.ics"
    r = http.get(url)
    assert r.status_code == 200 and r.text.count("BEGIN:VEVENT") == 12
    unknown = http.get("/v1/meetings/calendar/" + "Z" * 43 + ".ics")
    assert unknown.status_code == 404

    her = mentee.ok("GET", "/v1/auth/me")["subject"]
    admin.ok("PATCH", f"/v1/admin/accounts/{her}", json={"status": "suspended"})
    stopped = wait_for(lambda: (lambda r: r if r.status_code != 200 else None)(http.get(url)), "the feed to stop", seconds=15)
    assert stopped.status_code == 404 and stopped.json()["detail"] == unknown.json()["detail"]
    assert "VEVENT" not in stopped.text
    assert http.get(mentor_url).status_code == 200  # her mentor's feed of the same dyad is hers to keep

    admin.ok("PATCH", f"/v1/admin/accounts/{her}", json={"status": "active"})
    back = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(http.get(url)), "the feed to answer again", seconds=15)
    assert back.text.count("BEGIN:VEVENT") == 12

    # The status endpoint itself: a service client (accounts:read, no institution) reads it; nobody else.
    status = f"/internal/accounts/{her}/status"
    service = _client_token(http, admin, ["accounts:read"])
    assert service.ok("GET", status) == {"account_id": her, "status": "active"}
    assert service.ok("GET", f"/internal/accounts/{uuid.uuid4()}/status")["status"] == "unknown"
    assert service.ok("GET", "/internal/accounts/not-an-id/status")["status"] == "unknown"
    tenant = _client_token(http, admin, ["accounts:read"], cohort.institution_id)
    other_scope = _client_token(http, admin, ["reports:read"])
    for caller in (tenant, other_scope, admin, mentor, cohort.coordinator):  # (her own session ended at the suspension)
        r = caller.get(status)
        assert r.status_code == 403 and r.json()["type"].endswith(("insufficient-scope", "forbidden")), (caller.name, r.text)
    assert http.get(status).status_code == 401
