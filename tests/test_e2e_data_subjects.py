"""End to end over real HTTP: a data subject's export and erasure through the
gateway, across the gateway and the four services (real processes, real
databases).

After erasure she cannot log in, her old token is refused, what she wrote is
gone from every service that served it, and no unique string of hers is left
in any database.
"""

import uuid

import httpx
import pytest
from sqlalchemy import MetaData, create_engine, select

from tests.journeys import PASSWORD, Client, confirmed_cohort, login
from tools.stack import Stack

# Played on PostgreSQL too (scripts/run-tests): an erasure crosses every service's database, and races the feed consumers' transactions (servicekit.erasures).
pytestmark = pytest.mark.production_database

WIRED = {"gateway", "participants", "matching", "sessions", "evaluation", "notifications"}


def _dump(url: str) -> dict[str, str]:
    """Every row of every table, as text, per table."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            out[table.name] = repr([tuple(r) for r in conn.execute(select(table)).fetchall()])
    engine.dispose()
    return out


def _holding(stack: Stack, needles: list[str], *, skip: set[str] = frozenset()) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for app in sorted(WIRED):
        for table, text in _dump(stack.database_urls[app]).items():
            if table in skip:
                continue
            hits = [n for n in needles if n in text or n.replace("-", "") in text]
            if hits:
                found[f"{app}.{table}"] = hits
    return found


def test_export_then_erasure_across_gateway_and_participants(stack: Stack, http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    cohort = confirmed_cohort(http, admin, [("mentee", 0, 0), ("mentee", 1, 1)])
    her, other = cohort.mentees
    account = her.client.ok("GET", "/v1/auth/me")
    account_id, email = account["subject"], account["email"]
    bio = f"Bio única {uuid.uuid4().hex}"
    her.client.ok("PATCH", "/v1/participants/me", json={"bio": bio})

    exported = her.client.ok("POST", "/v1/data-subject-requests", 201, json={"kind": "export"})
    bundle = exported["bundle"]
    assert bundle["gateway"]["accounts"][0]["email"] == email
    assert bundle["participants"]["participants"][0]["bio"] == bio
    assert bundle["participants"]["applications"] and bundle["participants"]["memberships"]
    assert {s["service"] for s in exported["steps"] if s["status"] == "done"} >= WIRED

    before = _holding(stack, [email, bio, account_id])
    assert {"gateway.accounts", "participants.participants", "participants.applications"} <= set(before), before

    erased = her.client.ok("POST", "/v1/data-subject-requests", 201, json={"kind": "erasure"})
    steps = {s["service"]: s for s in erased["steps"]}
    assert {name: s["status"] for name, s in steps.items()} == dict.fromkeys(WIRED, "done"), steps
    assert steps["participants"]["rows"]["participants"] == 1 and steps["gateway"]["rows"]["accounts"] == 1

    # She cannot log in; her token is refused.
    r = http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD})
    assert r.status_code in (400, 401), r.text
    assert her.client.get("/v1/participants/me").status_code == 401
    # The coordinator sees the pseudonymised record only, and the other mentee is untouched.
    kept = cohort.coordinator.ok("GET", f"/v1/participants/{her.participant_id}")
    assert kept["display_name"] == "[erased]" and kept["bio"] is None
    assert other.client.ok("GET", "/v1/participants/me")["id"] == other.participant_id
    login(http, other.client.ok("GET", "/v1/auth/me")["email"])

    # No unique string of hers anywhere, nor her account id (the finished request forgot it).
    assert _holding(stack, [email, bio]) == {}
    assert _holding(stack, [account_id]) == {}


def test_erasure_reaches_every_service(stack: Stack, http: httpx.Client, admin_token: str) -> None:
    """The review's finding, end to end: after her erasure her diary text is
    not served, her mentor no longer reads the entry she shared, coordinators
    no longer list her matching profile nor read her feedback comment, her
    calendar feed stops answering, she cannot log in, and no string of hers is
    left in any of the five databases."""
    from datetime import date, timedelta

    from services.matching.tests.conftest import profile_body
    from services.participants.tests.conftest import phases
    from services.sessions.tests.conftest import RATINGS
    from tests.journeys import matched_and_active
    from tests.test_e2e_sessions import wait_for

    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(3)] + [("mentee", k % 3, (k // 3) % 3) for k in range(2)]
    cohort = confirmed_cohort(http, admin, placements)
    coordinator, program_id = cohort.coordinator, cohort.id
    coordinator.ok("PATCH", f"/v1/programs/{program_id}", json={"phases": phases(date.today() - timedelta(days=200))})
    published = matched_and_active(cohort, profile_body)
    people = cohort.by_participant()
    match = published["matches"][0]
    her, mentor = people[match["mentee_participant_id"]], people[match["mentor_participant_id"]]
    dyad_id = match["id"]
    wait_for(lambda: any(d["id"] == dyad_id for d in her.client.ok("GET", "/v1/dyads/mine")["items"]), "her dyad")
    meeting = sorted(her.client.ok("GET", f"/v1/dyads/{dyad_id}/meetings", params={"limit": 50})["items"],
                     key=lambda m: m["number"])[0]
    for member in (her, mentor):
        member.client.ok("POST", f"/v1/meetings/{meeting['id']}/confirmation", json={})

    marker = uuid.uuid4().hex
    diary_text, comment = f"Diario de ella {marker}", f"Comentario de ella {marker}"
    entry = her.client.ok("POST", "/v1/diary", 201, json={"dyad_id": dyad_id, "text": diary_text, "shared": True,
                                                          "entry_date": meeting["start"][:10]})
    form = her.client.ok("POST", "/v1/feedback", 201, json={"meeting_id": meeting["id"], "ratings": RATINGS,
                                                             "meeting_took_place": True, "comments": comment})
    feed = her.client.ok("POST", "/v1/meetings/calendar-tokens", 201, json={})
    feed_path = "/" + feed["url"].split("/", 3)[3] if feed["url"].startswith("http") else feed["url"]
    # Before: all of it is there.
    assert mentor.client.ok("GET", f"/v1/diary/{entry['id']}")["text"] == diary_text
    assert http.get(feed_path).status_code == 200
    listed = coordinator.ok("GET", f"/v1/matching/programs/{program_id}/profiles", params={"limit": 100})["items"]
    assert her.participant_id in {p["participant_id"] for p in listed}
    assert coordinator.ok("GET", f"/v1/feedback/{form['id']}")["comments"] == comment
    me = her.client.ok("GET", "/v1/auth/me")

    erased = coordinator.ok("POST", "/v1/data-subject-requests", 201, json={"kind": "erasure", "account_id": me["subject"]})
    steps = {s["service"]: s for s in erased["steps"]}
    assert {name: s["status"] for name, s in steps.items()} == dict.fromkeys(
        ("gateway", "participants", "matching", "sessions", "evaluation", "notifications"), "done"), steps

    assert mentor.client.get(f"/v1/diary/{entry['id']}").status_code == 404
    assert http.get(feed_path).status_code == 404
    listed = coordinator.ok("GET", f"/v1/matching/programs/{program_id}/profiles", params={"limit": 100})["items"]
    assert her.participant_id not in {p["participant_id"] for p in listed}
    kept = coordinator.get(f"/v1/feedback/{form['id']}")
    assert kept.status_code == 404 or kept.json()["comments"] is None  # the rating may stay for the statistics
    r = http.post("/v1/auth/token", data={"grant_type": "password", "username": me["email"], "password": PASSWORD})
    assert r.status_code in (400, 401)
    assert her.client.get("/v1/dyads/mine").status_code == 401
    # Her counterpart is untouched.
    assert mentor.client.ok("GET", "/v1/dyads/mine")["items"]
    assert _holding(stack, [marker, me["email"], me["subject"]]) == {}
