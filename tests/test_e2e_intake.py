"""Issue 3's "done": the Mexico pilot's intake, over real HTTP, through the
gateway, with the gateway's own tokens (the call, screening and selection).

An admin creates the university and its coordinator; the coordinator opens the
call, which anyone reads without a token; 36 women sign up at the gateway and
apply (16 mentors and 14 mentees who will take part, three who are accepted but
never confirm, three the criteria turn away); the criteria are evaluated, the
coordinator reviews, decides and invites in bulk; 30 confirm, three let their
invitation expire; five online modules (from the LMS, an integration client
with scope training:write) and four accompaniment sessions are completed; the
funnel and the training statistics show all of it.
"""

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import httpx

from services.participants.tests.conftest import CONSENTS, form, phases, program_body
from tools.stack import Stack

MEXICO = ZoneInfo("America/Mexico_City")
PASSWORD = "una-contraseña-larga-1"
MODULES = [(f"Módulo en línea {i}", "online_module", 120) for i in range(1, 6)] + [
    (f"Sesión de acompañamiento {i}", "accompaniment_session", 90) for i in range(1, 5)
]


class Client:
    """One person (or integration) talking to the gateway with her own token."""

    def __init__(self, http: httpx.Client, token: str | None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers, **kw)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.request("POST", path, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw) -> dict:
        r = self.request(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()


def login(http: httpx.Client, email: str, password: str) -> str:
    r = http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_the_mexico_pilot_intake_through_the_gateway(stack: Stack, http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token)
    tag = uuid.uuid4().hex[:6]
    uni = admin.ok("POST", "/v1/institutions", 201, json={
        "name": "Universidad Autónoma del Estado de Hidalgo", "slug": f"uaeh-{tag}", "country": "MX", "timezone": "America/Mexico_City",
    })  # fmt: skip
    coordinator_email = f"coordinacion-{tag}@uaeh.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": coordinator_email, "password": PASSWORD, "roles": ["coordinator"], "institution_id": uni["id"],
    })  # fmt: skip
    coordinator = Client(http, login(http, coordinator_email, PASSWORD))

    # The coordinator opens the call; anyone reads it without a token.
    program = coordinator.ok("POST", f"/v1/institutions/{uni['id']}/programs", 201, json=program_body())
    coordinator.ok("POST", f"/v1/programs/{program['id']}/transitions", json={"to": "call_open"})
    anonymous = Client(http, None)
    call = anonymous.ok("GET", f"/v1/calls/{program['id']}")
    assert call["accepting_applications"] is True and call["privacy_notice"]["version"] == CONSENTS["privacy_notice_version"]
    assert any(c["program_id"] == program["id"] for c in anonymous.ok("GET", "/v1/calls")["items"])
    assert anonymous.get(f"/v1/programs/{program['id']}").status_code == 401

    # 36 sign up at the gateway, log in and apply.
    groups: dict[str, list[tuple[Client, dict]]] = {"mentors": [], "mentees": [], "never_confirm": [], "ineligible": []}
    plan = (
        [("mentors", "mentor", {})] * 16
        + [("mentees", "mentee", {"affiliation": "undergraduate" if i % 2 else "graduate"}) for i in range(14)]
        + [("never_confirm", "mentor", {}), ("never_confirm", "mentee", {}), ("never_confirm", "mentee", {})]
        + [("ineligible", "mentee", {"affiliation": "staff"}), ("ineligible", "mentee", {"stem_field": "humanities"}),
           ("ineligible", "mentor", {"funding_experience": False})]
    )  # fmt: skip
    for n, (group, role, overrides) in enumerate(plan, start=1):
        email = f"aplicante-{n:02d}-{tag}@uaeh.example"
        anonymous.ok("POST", "/v1/auth/signup", 202, json={"email": email, "password": PASSWORD, "institution_id": uni["id"]})
        person = Client(http, login(http, email, PASSWORD))
        body = {"program_id": program["id"], "role": role, **form(role, n, email=email, **overrides), "consents": CONSENTS}
        draft = person.ok("POST", "/v1/applications", 201, json=body)
        groups[group].append((person, person.ok("POST", f"/v1/applications/{draft['id']}/submit")))

    # Criteria evaluated automatically: expectations await review; three fail a rule.
    listed = coordinator.ok("GET", f"/v1/programs/{program['id']}/applications", params={"limit": 200})["items"]
    assert len(listed) == 36
    ineligible = {a["id"] for _, a in groups["ineligible"]}
    assert {a["id"] for a in listed if a["eligibility"] == "ineligible"} == ineligible
    to_accept = [a for g in ("mentors", "mentees", "never_confirm") for _, a in groups[g]]
    for application in to_accept:
        review = coordinator.ok("PUT", f"/v1/applications/{application['id']}/eligibility/overrides/expectations",
                                json={"passed": True, "reason": "Expectations fit the program."})  # fmt: skip
        assert review["verdict"] == "eligible"
    coordinator.ok("POST", f"/v1/programs/{program['id']}/decisions", json={"decisions":
        [{"application_id": a["id"], "decision": "accepted", "reason": "Meets every criterion"} for a in to_accept]
        + [{"application_id": i, "decision": "rejected", "reason": "Does not meet the criteria"} for i in sorted(ineligible)]})  # fmt: skip

    # Invitations: the three who never confirm get a deadline a few seconds away.
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    for _, application in groups["never_confirm"]:
        coordinator.ok("POST", f"/v1/applications/{application['id']}/invitation", json={"confirm_by": soon})
    coordinator.ok("POST", f"/v1/programs/{program['id']}/invitations", json={})
    members: list[tuple[Client, str, str]] = []
    for group, role in (("mentors", "mentor"), ("mentees", "mentee")):
        for person, application in groups[group]:
            person.ok("POST", f"/v1/applications/{application['id']}/confirm")
            me = person.ok("GET", "/v1/participants/me")
            assert [(m["role"], m["status"]) for m in me["memberships"]] == [(role, "active")]
            members.append((person, me["id"], role))
    # A participant of this program cannot see another participant's full profile.
    assert members[0][0].get(f"/v1/participants/{members[1][1]}").status_code in (403, 404)

    deadline = time.monotonic() + 15
    while coordinator.ok("GET", f"/v1/programs/{program['id']}/funnel")["by_status"]["expired"] < 3:
        assert time.monotonic() < deadline, "the three invitations never expired"
        time.sleep(0.5)
    late_person, late_application = groups["never_confirm"][0]
    assert late_person.post(f"/v1/applications/{late_application['id']}/confirm").status_code == 409

    # Training: five online modules pushed by the LMS, four sessions recorded by the coordinator.
    for to in ("selection", "training"):
        program = coordinator.ok("POST", f"/v1/programs/{program['id']}/transitions", json={"to": to})
    # The test runs in seconds, the pilot ran over months: the coordinator
    # records the pilot's real calendar (call three months ago, training over
    # the ten weeks since), so completions can carry their real, past dates.
    program = coordinator.ok("PATCH", f"/v1/programs/{program['id']}", json={"phases": phases(date.today() - timedelta(days=100))})
    training_start = date.fromisoformat(next(p for p in program["phases"] if p["kind"] == "training")["starts_on"])
    modules = [
        coordinator.ok("POST", f"/v1/programs/{program['id']}/training-modules", 201,
                       json={"title": title, "kind": kind, "expected_minutes": minutes})
        for title, kind, minutes in MODULES
    ]  # fmt: skip
    lms_client = admin.ok("POST", "/v1/admin/clients", 201, json={
        "name": f"Moodle {tag}", "scopes": ["training:write"], "institution_id": uni["id"],
    })  # fmt: skip
    lms_token = http.post("/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": lms_client["client_id"],
        "client_secret": lms_client["client_secret"], "scope": "training:write",
    })  # fmt: skip
    assert lms_token.status_code == 200, lms_token.text
    lms = Client(http, lms_token.json()["access_token"])
    for i, (_person, participant_id, _role) in enumerate(members):
        coordinator.ok("PATCH", f"/v1/participants/{participant_id}", json={"lms_id": f"moodle-{tag}-{i}"})

    finishing_days = [51 + (i % 11) for i in range(len(members))]  # 8 weeks ± 5 days
    for i, ((_person, participant_id, _role), last_day) in enumerate(zip(members, finishing_days, strict=True)):
        for j, module in enumerate(modules):
            day = training_start + timedelta(days=round(last_day * (j + 1) / len(modules)))
            completed_at = datetime.combine(day, dtime(17, 0), tzinfo=MEXICO).isoformat()
            if module["kind"] == "online_module":
                caller, who = lms, {"lms_id": f"moodle-{tag}-{i}", "external_id": f"moodle:{tag}:{i}:{j}"}
            else:
                caller, who = coordinator, {"participant_id": participant_id}
            caller.ok("POST", f"/v1/training-modules/{module['id']}/completions", 201, json={**who, "completed_at": completed_at})
    # A retried LMS statement (same external id) never doubles a completion.
    retried = lms.post(f"/v1/training-modules/{modules[0]['id']}/completions",
                       json={"lms_id": f"moodle-{tag}-0", "external_id": f"moodle:{tag}:0:0", "completed_at": completed_at})  # fmt: skip
    assert retried.status_code in (200, 201)

    funnel = coordinator.ok("GET", f"/v1/programs/{program['id']}/funnel")
    assert funnel["total"] == {
        "applied": 36, "accepted": 33, "invited": 33, "confirmed": 30, "trained": 30, "completed": 0, "withdrawn": 0,
    }  # fmt: skip
    by_role = {r["role"]: r["stages"] for r in funnel["by_role"]}
    assert (by_role["mentor"]["confirmed"], by_role["mentee"]["confirmed"]) == (16, 14)
    assert (by_role["mentor"]["trained"], by_role["mentee"]["trained"]) == (16, 14)
    assert funnel["by_status"]["rejected"] == 3 and funnel["by_status"]["expired"] == 3
    stats = coordinator.ok("GET", f"/v1/programs/{program['id']}/training-stats")
    assert (stats["members"], stats["trained"], stats["completion_rate"], stats["required_modules"]) == (30, 30, 1.0, 9)
    assert abs(stats["days_to_completion"]["median"] - 56) <= 5
    assert 51 <= stats["days_to_completion"]["min"] and stats["days_to_completion"]["max"] <= 61

    # Another institution's coordinator sees none of it.
    other = admin.ok("POST", "/v1/institutions", 201, json={"name": "Otra", "slug": f"otra-{tag}", "country": "PE", "timezone": "America/Lima"})
    other_email = f"coord-otra-{tag}@otra.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={"email": other_email, "password": PASSWORD, "roles": ["coordinator"], "institution_id": other["id"]})
    stranger = Client(http, login(http, other_email, PASSWORD))
    for path in (f"/v1/programs/{program['id']}", f"/v1/programs/{program['id']}/funnel",
                 f"/v1/programs/{program['id']}/applications", f"/v1/participants/{members[0][1]}"):  # fmt: skip
        assert stranger.get(path).status_code == 404, path
