"""Issue 7 over real HTTP, through the gateway, with the gateway's own tokens:
a roster import (a CSV upload streamed through the proxy, a dry run, a commit
polled to the end), two women who sign up with the roster's e-mails and whose
roster profiles become theirs when they confirm, and an LMS (an integration
client with scope training:write) reporting their training as xAPI statements
and as a plain webhook."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.participants.tests.conftest import CONSENTS, form, program_body
from tests.test_e2e_intake import PASSWORD, Client, login
from tools.stack import Stack

HOME = "https://moodle.e2e.example"


def wait_for(coordinator: Client, url: str) -> dict:
    deadline = time.monotonic() + 60
    while (job := coordinator.ok("GET", url))["status"] in ("validating", "committing"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_roster_and_xapi_through_the_gateway(stack: Stack, http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token)
    tag = uuid.uuid4().hex[:6]
    uni = admin.ok("POST", "/v1/institutions", 201, json={
        "name": "Universidad LMS", "slug": f"lms-{tag}", "country": "MX", "timezone": "America/Mexico_City",
    })  # fmt: skip
    base = f"/v1/institutions/{uni['id']}"
    admin.ok("POST", f"{base}/campuses", 201, json={"name": "Campus Centro", "city": "Pachuca"})
    admin.ok("POST", f"{base}/academic-units", 201, json={"name": "Ciencias", "kind": "faculty", "code": "CIE"})
    email = f"coordinacion-{tag}@lms.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": email, "password": PASSWORD, "roles": ["coordinator"], "institution_id": uni["id"],
    })  # fmt: skip
    coordinator = Client(http, login(http, email, PASSWORD))

    # The roster: two students, and a row the dry run reports.
    emails = [f"alumna{i}-{tag}@lms.example" for i in range(2)]
    text = (
        "external_id;email;given_name;family_name;campus;academic_unit;lms_id\r\n"
        f"S1;{emails[0]};Ana;López;Campus Centro;CIE;moodle-{tag}-0\r\n"
        f"S2;{emails[1]};Bea;Ríos;Campus Centro;CIE;moodle-{tag}-1\r\n"
        "S3;no-es-correo;Eva;Sol;;;\r\n"
    )
    uploaded = http.post(f"{base}/roster-imports", params={"id_kind": "sis"}, content=text.encode(),
                         headers={**coordinator.headers, "content-type": "text/csv"})  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    url = f"{base}/roster-imports/{job['id']}"
    coordinator.ok("POST", f"{url}/dry-run", 202)
    dry = wait_for(coordinator, url)
    assert (dry["status"], dry["counts"]) == ("validated", {"created": 2, "updated": 0, "unchanged": 0, "invalid": 1})
    assert [(e["row"], e["field"]) for e in coordinator.ok("GET", f"{url}/errors")["items"]] == [(4, "email")]
    coordinator.ok("POST", f"{url}/commit", 202, json={"mode": "skip_invalid"})
    assert wait_for(coordinator, url)["status"] == "committed"
    assert len(coordinator.ok("GET", f"{base}/participants", params={"account": "unlinked"})["items"]) == 2

    # They sign up with those e-mails, apply, and confirm: the roster profiles become theirs.
    program = coordinator.ok("POST", f"{base}/programs", 201, json=program_body())
    coordinator.ok("POST", f"/v1/programs/{program['id']}/transitions", json={"to": "call_open"})
    anonymous = Client(http, None)
    members = []
    for n, address in enumerate(emails, start=1):
        anonymous.ok("POST", "/v1/auth/signup", 202, json={"email": address, "password": PASSWORD, "institution_id": uni["id"]})
        person = Client(http, login(http, address, PASSWORD))
        body = {"program_id": program["id"], "role": "mentee", **form("mentee", n, email=address), "consents": CONSENTS}
        draft = person.ok("POST", "/v1/applications", 201, json=body)
        person.ok("POST", f"/v1/applications/{draft['id']}/submit")
        coordinator.ok("PUT", f"/v1/applications/{draft['id']}/eligibility/overrides/expectations",
                       json={"passed": True, "reason": "Fits."})  # fmt: skip
        coordinator.ok("POST", f"/v1/applications/{draft['id']}/decision", json={"decision": "accepted", "reason": "Fits."})
        coordinator.ok("POST", f"/v1/applications/{draft['id']}/invitation", json={})
        person.ok("POST", f"/v1/applications/{draft['id']}/confirm")
        me = person.ok("GET", "/v1/participants/me")
        assert (me["sis_id"], me["lms_id"]) == (f"S{n}", f"moodle-{tag}-{n - 1}")
        members.append(me)

    # The LMS: settings, a module with its activity IRI, an integration client.
    coordinator.ok("PUT", f"{base}/xapi-settings", json={"home_page": HOME})
    activity = f"{HOME}/mod/scorm/view.php?id={tag}"
    module = coordinator.ok("POST", f"/v1/programs/{program['id']}/training-modules", 201,
                            json={"title": "Módulo 1", "kind": "online_module", "expected_minutes": 60, "lms_activity_id": activity})  # fmt: skip
    client = admin.ok("POST", "/v1/admin/clients", 201, json={
        "name": f"Moodle {tag}", "scopes": ["training:write"], "institution_id": uni["id"],
    })  # fmt: skip
    token = http.post("/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"],
        "scope": "training:write",
    })  # fmt: skip
    assert token.status_code == 200, token.text
    lms = Client(http, token.json()["access_token"])
    when = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": f"moodle-{tag}-0"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": when,
    }
    version = {"X-Experience-API-Version": "1.0.3"}
    stored = http.post("/v1/xapi/statements", json=[statement], headers={**lms.headers, **version})
    assert (stored.status_code, stored.json()) == (200, [statement["id"]]), stored.text
    again = http.post("/v1/xapi/statements", json=[statement], headers={**lms.headers, **version})
    assert (again.status_code, again.json(), again.headers.get("idempotent-replayed")) == (200, [statement["id"]], "true")
    unknown = http.post("/v1/xapi/statements", json=[{**statement, "id": str(uuid.uuid4()),
                       "actor": {"account": {"homePage": HOME, "name": "nadie"}}}], headers={**lms.headers, **version})  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.0.actor.account.name"
    lms.ok("POST", "/v1/xapi/completions", 201, json={"external_id": f"moodle-{tag}-1", "module": activity, "completed_at": when})
    done = coordinator.ok("GET", f"/v1/training-modules/{module['id']}/completions")["items"]
    assert sorted(c["participant_id"] for c in done) == sorted(m["id"] for m in members)
    assert all(c["trained"] for c in done)
