"""A withdrawal from a program ends her matches, her dyads and their future
meetings, over real HTTP through the gateway with the real feed consumers:
participants writes ``participant.withdrawn``, matching (its own client token,
``events:read``) dissolves her live matches there (``dissolved_by: system``),
sessions hears ``match.dissolved`` and ends each dyad, cancelling its future
meetings, so both members' calendar feeds carry them as ``STATUS:CANCELLED``.
Bounded by the two feeds' poll intervals (0.5 s each in the tests' stack).

Two ways to leave: the mentee withdraws her own application; the coordinator
withdraws the membership of a mentor with two mentees (capacity 2), who lose her both.
"""

from datetime import UTC, datetime
from typing import Any

import httpx
from icalendar import Calendar

from services.matching.tests.conftest import SLOTS, profile_body
from tests.journeys import Client, Cohort, confirmed_cohort, matched_and_active, wait_for


def profile(k: int, role: str, capacity: int = 1) -> dict[str, Any]:
    """Everyone shares the same weekly slots, so every dyad gets its twelve meetings."""
    return profile_body(k, role, availability=[SLOTS[0], SLOTS[2]], **({"capacity": capacity} if role == "mentor" else {}))


def feed_meetings(http: httpx.Client, token: str) -> dict[str, tuple[str, datetime]]:
    """The feed's mentoring meetings: uid → (STATUS, start)."""
    r = http.get(f"/v1/meetings/calendar/{token}.ics")
    assert r.status_code == 200, r.text
    events = Calendar.from_ical(r.content).walk("VEVENT")
    return {str(e["uid"]): (str(e["status"]), e.decoded("dtstart")) for e in events if str(e["uid"]).startswith("meeting-")}


def dyad_meeting_uids(member: Client, dyad_id: str) -> set[str]:
    page = member.ok("GET", f"/v1/dyads/{dyad_id}/meetings", params={"limit": 100})
    return {f"meeting-{m['id']}@aliada" for m in page["items"]}


def dyad_status(member: Client, dyad_id: str) -> str | None:
    return next((d["status"] for d in member.ok("GET", "/v1/dyads/mine")["items"] if d["id"] == dyad_id), None)


def live_matches(member: Client) -> list[dict[str, Any]]:
    return [m for m in member.ok("GET", "/v1/matching/matches/mine")["items"] if m["status"] in ("proposed", "active")]


def assert_ended_for(http: httpx.Client, member: Client, feed: str, dyad_id: str) -> None:
    """Her dyad is dissolved in sessions and her feed lists none of its meetings as
    confirmed: every future one is cancelled (calendar applications remove it)."""
    wait_for(lambda: dyad_status(member, dyad_id) == "dissolved", f"{member.name}'s dyad to end in sessions", seconds=15)
    uids = dyad_meeting_uids(member, dyad_id)
    meetings = {uid: v for uid, v in feed_meetings(http, feed).items() if uid in uids}
    assert len(meetings) == 12
    now = datetime.now(UTC)
    assert all(start > now for _, start in meetings.values())  # the mentoring phase is ahead: all of them are future
    assert {status for status, _ in meetings.values()} == {"CANCELLED"}


def test_a_mentee_who_withdraws_ends_her_match_dyad_and_calendar(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(3)] + [("mentee", k % 3, (k // 3) % 3) for k in range(2)]
    cohort = confirmed_cohort(http, admin, placements)  # mentoring begins in 106 days: every meeting is ahead
    published = matched_and_active(cohort, profile)
    people = cohort.by_participant()
    match, other = published["matches"][0], published["matches"][1]
    mentee, mentor = people[match["mentee_participant_id"]].client, people[match["mentor_participant_id"]].client
    other_mentee = people[other["mentee_participant_id"]].client
    wait_for(lambda: dyad_status(mentee, match["id"]) == "active", "the dyad in sessions")
    wait_for(lambda: dyad_status(other_mentee, other["id"]) == "active", "the other dyad in sessions")
    feed = mentee.ok("POST", "/v1/meetings/calendar-tokens", 201)["token"]
    mentor_feed = mentor.ok("POST", "/v1/meetings/calendar-tokens", 201)["token"]
    uids = dyad_meeting_uids(mentee, match["id"])
    assert {s for uid, (s, _) in feed_meetings(http, feed).items() if uid in uids} == {"CONFIRMED"} and len(uids) == 12

    [application] = mentee.ok("GET", "/v1/applications")["items"]
    mentee.ok("POST", f"/v1/applications/{application['id']}/withdraw", json={"reason": "Cambio de adscripción."})

    path = f"/v1/matching/matches/{match['id']}"
    wait_for(lambda: cohort.coordinator.ok("GET", path)["status"] == "dissolved", "matching to dissolve her match", seconds=15)
    dissolved = cohort.coordinator.ok("GET", path)
    assert dissolved["dissolved_by"] == "system"
    assert dissolved["dissolution_reason"] == "The mentee withdrew from the program"
    assert_ended_for(http, mentor, mentor_feed, match["id"])
    assert_ended_for(http, mentee, feed, match["id"])  # her account is active: the feed answers, with them cancelled

    # Her counterpart is free (no live match: a coordinator may re-match her); the other pair is untouched.
    assert live_matches(mentor) == []
    assert cohort.coordinator.ok("GET", f"/v1/matching/matches/{other['id']}")["status"] == "active"
    assert dyad_status(other_mentee, other["id"]) == "active"
    # A dissolved match is not brought back, and the other dyad's member does not see it.
    assert mentor.post(f"{path}/accept").status_code == 409
    assert other_mentee.get(path).status_code == 404
    # Handled once: a single dissolution in the program's list.
    listed = cohort.coordinator.ok("GET", f"/v1/matching/programs/{cohort.id}/matches", params={"status": "dissolved"})["items"]
    assert [m["id"] for m in listed] == [match["id"]]


def _mentor_with_two_mentees(http: httpx.Client, admin: Client) -> tuple[Cohort, dict[str, Any]]:
    placements = [("mentor", 0, 0), ("mentee", 1, 1), ("mentee", 2, 1)]
    cohort = confirmed_cohort(http, admin, placements, max_mentees_per_mentor=2)
    published = matched_and_active(cohort, lambda k, role: profile(k, role, capacity=2))
    assert len(published["matches"]) == 2
    return cohort, published


def test_a_withdrawn_mentor_with_two_mentees_loses_both(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    cohort, published = _mentor_with_two_mentees(http, admin)
    [mentor] = cohort.mentors
    mentees = {m["id"]: cohort.by_participant()[m["mentee_participant_id"]].client for m in published["matches"]}
    wait_for(lambda: all(dyad_status(mentee, dyad_id) == "active" for dyad_id, mentee in mentees.items()), "the dyads in sessions")
    feeds = {dyad_id: mentee.ok("POST", "/v1/meetings/calendar-tokens", 201)["token"] for dyad_id, mentee in mentees.items()}

    memberships = cohort.coordinator.ok("GET", f"/v1/programs/{cohort.id}/memberships", params={"limit": 100})["items"]
    [membership] = [m for m in memberships if m["participant_id"] == mentor.participant_id]
    cohort.coordinator.ok("PATCH", f"/v1/programs/{cohort.id}/memberships/{membership['id']}",
                          json={"status": "withdrawn", "reason": "Dejó la universidad."})

    def matches() -> list[dict[str, Any]]:
        return [cohort.coordinator.ok("GET", f"/v1/matching/matches/{dyad_id}") for dyad_id in mentees]

    wait_for(lambda: all(m["status"] == "dissolved" for m in matches()), "matching to dissolve both", seconds=15)
    ended = matches()
    assert {(m["dissolved_by"], m["dissolution_reason"]) for m in ended} == {("system", "The mentor withdrew from the program")}
    for dyad_id, mentee in mentees.items():
        assert_ended_for(http, mentee, feeds[dyad_id], dyad_id)
        assert live_matches(mentee) == []  # free for a coordinator to re-match
        # The coordinator may now look for her a new mentor (none is left in this cohort).
        assert cohort.coordinator.ok("GET", f"/v1/matching/matches/{dyad_id}/substitutes") == []
