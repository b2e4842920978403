"""The world bench/load runs in: several programs in mentoring, built through
the public API of a running platform, and written down for the load users.

Each program is a university of its own (coordinator, evaluator, an LMS client
with ``training:write``), with confirmed mentors and mentees matched into
active dyads. The platform's simulation clock (servicekit.clock) is then
moved ten weeks on, so most of their planned meetings are due: there are
meetings to confirm and feedback forms to file while the load runs. Each dyad
held its first meeting and each mentee set a SMART objective on it; every
member has an LMS id and each program one LMS training module.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from servicekit import clock

from services.matching.tests.conftest import SLOTS, profile_body
from services.participants.tests.conftest import phases
from services.sessions.tests.conftest import objective_body
from tests.journeys import (
    PASSWORD,
    Client,
    confirmed_cohort,
    login,
    matched_and_active,
    wait_for,
)

LMS_HOME = "https://lms.load.example"
WEEKS_ON = 10


def program(http: httpx.Client, admin: Client, pairs: int) -> dict[str, Any]:
    placements = [(role, k % 3, (k // 3) % 3) for role in ("mentor", "mentee") for k in range(pairs)]
    cohort = confirmed_cohort(http, admin, placements)
    # Mentoring begins today (phases() puts it 106 days after the date given) and lasts 94 days.
    cohort.coordinator.ok("PATCH", f"/v1/programs/{cohort.id}", json={"phases": phases(date.today() - timedelta(days=106))})
    # Everyone free at the same two times: every dyad gets its weekly schedule.
    published = matched_and_active(cohort, lambda k, role: profile_body(k, role, availability=SLOTS[:2]))
    people = cohort.by_participant()
    tag = uuid.uuid4().hex[:8]

    activity = f"{LMS_HOME}/mod/scorm/view.php?id={tag}"
    cohort.coordinator.ok("PUT", f"/v1/institutions/{cohort.institution_id}/xapi-settings", json={"home_page": LMS_HOME})
    cohort.coordinator.ok("POST", f"/v1/programs/{cohort.id}/training-modules", 201, json={
        "title": "Módulo de acompañamiento", "kind": "online_module", "expected_minutes": 60, "lms_activity_id": activity,
    })  # fmt: skip
    client = admin.ok("POST", "/v1/admin/clients", 201, json={
        "name": f"LMS {tag}", "scopes": ["training:write"], "institution_id": cohort.institution_id,
    })  # fmt: skip
    evaluator = f"evaluacion-{tag}@uni.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": evaluator, "password": PASSWORD, "roles": ["evaluator"], "institution_id": cohort.institution_id,
    })  # fmt: skip
    coordinator_me = cohort.coordinator.ok("GET", "/v1/auth/me")

    members: list[dict[str, Any]] = []
    for match in published["matches"]:
        pair = {"mentee": people[match["mentee_participant_id"]], "mentor": people[match["mentor_participant_id"]]}
        wait_for(lambda c=pair["mentee"].client, d=match["id"]: any(x["id"] == d for x in c.ok("GET", "/v1/dyads/mine")["items"]),
                 "the dyad in sessions", seconds=60)  # fmt: skip
        for role, member in pair.items():
            lms_id = f"lms-{tag}-{member.participant_id[-8:]}"
            cohort.coordinator.ok("PATCH", f"/v1/participants/{member.participant_id}", json={"lms_id": lms_id})
            members.append({"role": role, "email": member.client.ok("GET", "/v1/auth/me")["email"], "dyad_id": match["id"],
                            "lms_id": lms_id, "objective_id": None, "client": member.client})  # fmt: skip
    return {
        "program_id": cohort.id,
        "institution_id": cohort.institution_id,
        "coordinator": coordinator_me["email"],
        "evaluator": evaluator,
        "lms": {"client_id": client["client_id"], "client_secret": client["client_secret"], "activity": activity},
        "members": members,
    }


def first_meeting_and_objective(http: httpx.Client, dyad: list[dict[str, Any]]) -> None:
    """Both members confirm the dyad's first meeting; the mentee sets her objective on it."""
    mentee = next(m for m in dyad if m["role"] == "mentee")
    reader = Client(http, login(http, mentee["email"]), "mentee")
    dyad_id = mentee["dyad_id"]
    meetings = reader.ok("GET", f"/v1/dyads/{dyad_id}/meetings")["items"]
    if not meetings:
        raise RuntimeError(f"dyad {dyad_id} has no meetings: {reader.ok('GET', f'/v1/dyads/{dyad_id}')}")
    first = min(meetings, key=lambda m: m["number"])
    for member in dyad:
        member["token"] = login(http, member["email"])
        member["client"] = Client(http, member["token"], member["role"])
        member["client"].ok("POST", f"/v1/meetings/{first['id']}/confirmation", json={})
    objective = mentee["client"].ok("POST", "/v1/objectives", 201, json=objective_body(
        mentee["dyad_id"], due_date=(clock.now() + timedelta(days=21)).date().isoformat()))  # fmt: skip
    mentee["objective_id"] = objective["id"]


def build(gateway: str, admin_token: str, programs: int, pairs: int, clock_file: Path) -> dict[str, Any]:
    """The world (each person with a fresh token: logging in is not what the load measures),
    with the platform's clock (``clock_file``, which this process reads too) moved ``WEEKS_ON`` weeks on."""
    with httpx.Client(base_url=gateway, timeout=60) as http:
        admin = Client(http, admin_token, "admin")
        built = [program(http, admin, pairs) for _ in range(programs)]
        clock.set_simulated_now(clock_file, datetime.now(UTC) + timedelta(weeks=WEEKS_ON))
        for prog in built:
            dyads: dict[str, list[dict[str, Any]]] = {}
            for member in prog["members"]:
                dyads.setdefault(member["dyad_id"], []).append(member)
            for dyad in dyads.values():
                first_meeting_and_objective(http, dyad)
            for member in prog["members"]:
                del member["client"]
            prog["coordinator_token"] = login(http, prog["coordinator"])
            prog["evaluator_token"] = login(http, prog["evaluator"])
            lms = prog["lms"]
            r = http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": lms["client_id"],
                                                  "client_secret": lms["client_secret"], "scope": "training:write"})  # fmt: skip
            r.raise_for_status()
            lms["token"] = r.json()["access_token"]
    return {"password": PASSWORD, "lms_home": LMS_HOME, "programs": built}
