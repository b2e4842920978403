"""xAPI statements and the plain completion webhook: mapping onto training
completions, idempotency by statement id, problems that name the unknown actor
or activity, all-or-nothing requests, and who may send them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.participants.models import TrainingCompletion, XapiStatement
from services.participants.tests.conftest import Caller, Cohort, World, events, snapshot

HOME = "https://moodle.uaeh.edu.mx"
ACTIVITY = f"{HOME}/mod/scorm/view.php?id=42"
SESSION = f"{HOME}/mod/attendance/view.php?id=7"
VERB = "http://adlnet.gov/expapi/verbs/"
V = {"X-Experience-API-Version": "1.0.3"}


@dataclass
class Lms:
    client: Caller
    members: list[dict[str, Any]]
    module: dict[str, Any]
    session_module: dict[str, Any]


def statement(actor: str, activity: str = ACTIVITY, verb: str = "completed", **over: Any) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Alumna", "account": {"homePage": HOME, "name": actor}},
        "verb": {"id": VERB + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity, "definition": {"name": {"es": "Módulo 1"}}},
        "timestamp": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "context": {"platform": "Moodle"},
    }
    body.update(over)
    return body


def send(caller: Caller, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return caller.post("/v1/xapi/statements", json=body, headers=V if headers is None else headers)


def fields(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


@pytest.fixture
def lms(cohort: Cohort, coordinator: Caller, http: Any, mint: Any, world: World) -> Lms:
    members = []
    for n in range(3):
        person = cohort.person(f"member-{n}", ["mentee"])
        cohort.confirmed(person, "mentee", n)
        me = person.get("/v1/participants/me").json()
        changed = coordinator.patch(f"/v1/participants/{me['id']}", json={"lms_id": f"moodle-{n}", "sis_id": f"S{n}"})
        assert changed.status_code == 200, changed.text
        members.append(changed.json())
    modules = []
    for title, kind, activity in (("Módulo 1", "online_module", ACTIVITY), ("Sesión 1", "accompaniment_session", SESSION)):
        made = coordinator.post(
            f"/v1/programs/{cohort.id}/training-modules",
            json={"title": title, "kind": kind, "expected_minutes": 60, "lms_activity_id": activity},
        )
        assert made.status_code == 201, made.text
        modules.append(made.json())
    put = coordinator.request("PUT", f"/v1/institutions/{world.a['id']}/xapi-settings", json={"home_page": HOME + "/"})
    assert put.status_code == 200, put.text
    assert (put.json()["home_page"], put.json()["actor_id"]) == (HOME, "lms_id")
    client = Caller(http, mint(sub="client-lms", tid=world.a["id"], scope="training:write", client_id="lms"), "lms")
    return Lms(client, members, modules[0], modules[1])


def completions(caller: Caller, module: dict[str, Any]) -> list[dict[str, Any]]:
    return caller.get(f"/v1/training-modules/{module['id']}/completions").json()["items"]


def test_statements_record_completions_once(lms: Lms, engine: Engine) -> None:
    batch = [statement("moodle-0"), statement("moodle-1")]
    first = send(lms.client, batch)
    assert first.status_code == 200, first.text
    assert first.json() == [s["id"] for s in batch]
    assert first.headers["x-experience-api-version"] == "1.0.3" and "idempotent-replayed" not in first.headers
    done = completions(lms.client, lms.module)
    assert sorted(c["participant_id"] for c in done) == sorted(m["id"] for m in lms.members[:2])
    assert {c["recorded_by"] for c in done} == {"client-lms"}
    assert done[0]["completed_at"][:19] == batch[0]["timestamp"][:19] or done[1]["completed_at"][:19] == batch[0]["timestamp"][:19]
    assert len(events(engine, "training.completed")) == 2

    # The same statements again: the same answer, nothing new.
    again = send(lms.client, batch)
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (200, first.json(), "true")
    assert len(completions(lms.client, lms.module)) == 2 and len(events(engine, "training.completed")) == 2

    # passed after completed: stored, pointing at the same completion. One statement alone is accepted too.
    passed = statement("moodle-0", verb="passed", result={"success": True, "score": {"scaled": 0.9}})
    single = send(lms.client, passed)
    assert (single.status_code, single.json()) == (200, [passed["id"]])
    assert len(completions(lms.client, lms.module)) == 2 and count(engine, XapiStatement) == 3

    # Another statement under a stored id is a conflict, and nothing of the request is written.
    clash = send(lms.client, [statement("moodle-2"), {**batch[1], "timestamp": datetime.now(UTC).isoformat()}])
    assert clash.status_code == 409 and fields(clash) == [("body.1.id", "already_exists")]
    assert count(engine, XapiStatement) == 3 and len(completions(lms.client, lms.module)) == 2

    # attended: a session. The member is trained once both required modules are complete.
    attended = send(lms.client, [statement("moodle-0", SESSION, "attended"), statement("moodle-1", SESSION, "attended")])
    assert attended.status_code == 200, attended.text
    trained = {c["participant_id"]: c["trained"] for c in completions(lms.client, lms.session_module)}
    assert trained == {lms.members[0]["id"]: True, lms.members[1]["id"]: True}


def test_problems_name_the_unknown_actor_and_activity_and_nothing_is_written(lms: Lms, engine: Engine) -> None:
    before = snapshot(engine)
    batch = [
        statement("moodle-0"),
        statement("moodle-404"),
        statement("moodle-1", f"{HOME}/mod/page/view.php?id=999"),
        statement("moodle-2", verb="attended"),
        statement("moodle-2", SESSION, timestamp=(datetime.now(UTC) + timedelta(days=1)).isoformat()),
        statement("moodle-2", verb="passed", result={"success": False}),
    ]
    refused = send(lms.client, batch)
    assert refused.status_code == 422, refused.text
    assert fields(refused) == [
        ("body.1.actor.account.name", "unknown_actor"),
        ("body.2.object.id", "unknown_activity"),
        ("body.3.verb.id", "verb_not_applicable"),
        ("body.4.timestamp", "in_the_future"),
        ("body.5.result", "not_a_completion"),
    ]
    assert "moodle-404" in refused.json()["errors"][0]["message"]
    assert snapshot(engine) == before, "all or nothing: the valid statement is not written either"

    one = send(lms.client, statement("moodle-404"))
    assert fields(one) == [("body.actor.account.name", "unknown_actor")], "a single statement: body.<field>"
    repeated = statement("moodle-0")
    assert fields(send(lms.client, [repeated, repeated])) == [("body.1.id", "duplicate")]

    # Shape problems are named by their place in the body too.
    bad = statement("moodle-0", verb="failed")
    del bad["id"]
    bad["actor"] = {"mbox": "mailto:ana@uaeh.edu.mx"}
    shape = send(lms.client, [statement("moodle-0"), bad])
    assert shape.status_code == 422
    assert sorted(fields(shape)) == [
        ("body.1.actor.account", "missing"),
        ("body.1.actor.mbox", "extra_forbidden"),
        ("body.1.id", "missing"),
        ("body.1.verb.id", "literal_error"),
    ]
    assert send(lms.client, []).status_code == 422
    assert snapshot(engine) == before


def test_version_home_page_and_actor_ids(lms: Lms, coordinator: Caller, world: World, http: Any, mint: Any, engine: Engine) -> None:
    missing = send(lms.client, [statement("moodle-0")], headers={})
    assert missing.status_code == 400 and fields(missing) == [("header.X-Experience-API-Version", "xapi_version")]
    assert send(lms.client, [statement("moodle-0")], headers={"X-Experience-API-Version": "0.95"}).status_code == 400
    assert send(lms.client, [statement("moodle-0")], headers={"X-Experience-API-Version": "2.0.0"}).status_code == 200

    elsewhere = statement("moodle-1")
    elsewhere["actor"]["account"]["homePage"] = "https://canvas.example.edu"
    assert fields(send(lms.client, elsewhere)) == [("body.actor.account.homePage", "unknown_home_page")]
    slash = statement("moodle-1")
    slash["actor"]["account"]["homePage"] = HOME + "/"
    assert send(lms.client, slash).status_code == 200

    # A platform client (no institution) is routed by the home page.
    platform = Caller(http, mint(sub="client-lrs", scope="training:write", client_id="lrs"), "lrs")
    assert send(platform, statement("moodle-2")).status_code == 200
    # Names may be SIS ids, if the institution says so.
    by_sis = {"home_page": HOME, "actor_id": "sis_id"}
    assert coordinator.request("PUT", f"/v1/institutions/{world.a['id']}/xapi-settings", json=by_sis).status_code == 200
    assert send(lms.client, statement("S0", SESSION, "attended")).status_code == 200
    assert fields(send(lms.client, statement("moodle-0", SESSION, "attended"))) == [("body.actor.account.name", "unknown_actor")]
    assert lms.client.get(f"/v1/institutions/{world.a['id']}/xapi-settings").json()["actor_id"] == "sis_id"
    # The pattern's printable characters must also parse as a URL (schemathesis sent "http://[", which
    # came back in every later answer and broke the clients that read it).
    for bad in ("http://[", "https://host:port"):
        refused = coordinator.request("PUT", f"/v1/institutions/{world.a['id']}/xapi-settings", json={"home_page": bad})
        assert refused.status_code == 422 and fields(refused)[0][0] == "body.home_page", refused.text
    about = lms.client.get("/v1/xapi/about")
    assert about.json() == {"version": ["1.0.3", "2.0.0"]}

    # Activity ids are unique within the institution.
    taken = coordinator.post(
        f"/v1/programs/{lms.module['program_id']}/training-modules",
        json={"title": "Copia", "kind": "online_module", "expected_minutes": 60, "lms_activity_id": ACTIVITY},
    )
    assert taken.status_code == 409 and fields(taken) == [("body.lms_activity_id", "already_exists")]


def test_the_plain_webhook(lms: Lms, admin: Caller, world: World, engine: Engine) -> None:
    body = {"external_id": "moodle-1", "module": ACTIVITY, "completed_at": datetime.now(UTC).isoformat(), "verb": "completed"}
    first = lms.client.post("/v1/xapi/completions", json=body)
    assert first.status_code == 201, first.text
    done = first.json()
    assert (done["participant_id"], done["module_id"], done["recorded_by"]) == (lms.members[1]["id"], lms.module["id"], "client-lms")
    assert first.headers["location"] == f"/v1/training-modules/{lms.module['id']}/completions/{done['id']}"
    again = lms.client.post("/v1/xapi/completions", json={**body, "verb": "passed"})
    assert (again.status_code, again.json()["id"], again.headers["idempotent-replayed"]) == (201, done["id"], "true")
    assert count(engine, TrainingCompletion) == 1

    unknown = lms.client.post("/v1/xapi/completions", json={**body, "external_id": "nadie", "module": HOME + "/x"})
    assert unknown.status_code == 422
    assert fields(unknown) == [("body.external_id", "unknown_actor"), ("body.module", "unknown_activity")]
    no_place = admin.post("/v1/xapi/completions", json=body)
    assert no_place.status_code == 422 and fields(no_place) == [("body.institution_id", "missing")]
    by_admin = admin.post("/v1/xapi/completions", json={**body, "external_id": "moodle-2", "institution_id": world.a["id"]})
    assert by_admin.status_code == 201, by_admin.text


def test_who_may_send(
    lms: Lms, other_coordinator: Caller, scopeless_client: Caller, anonymous: Caller, expired: Caller, forged: Caller,
    mentee: Caller, coordinator: Caller, cohort: Cohort, world: World, engine: Engine, http: Any, mint: Any,
) -> None:  # fmt: skip
    mentor = Caller(http, mint(sub="mentor-a", tid=world.a["id"], roles=["mentor"]), "mentor")
    member = cohort.person("member-0", ["mentee"])  # a member herself may not report her own training
    webhook = {"external_id": "moodle-0", "module": ACTIVITY, "completed_at": datetime.now(UTC).isoformat(),
               "institution_id": world.a["id"]}  # fmt: skip
    settings = f"/v1/institutions/{world.a['id']}/xapi-settings"
    before = snapshot(engine)
    for caller, code in {mentor: 403, mentee: 403, member: 403, scopeless_client: 403, anonymous: 401, expired: 401, forged: 401}.items():
        assert send(caller, [statement("moodle-0")]).status_code == code, caller
        assert caller.post("/v1/xapi/completions", json=webhook).status_code == code, caller
        assert caller.request("PUT", settings, json={"home_page": HOME}).status_code == code, caller
    # Another institution's coordinator: her statements are checked against her own institution.
    other = send(other_coordinator, [statement("moodle-0")])
    assert other.status_code == 422 and fields(other) == [("body.0.actor.account.homePage", "xapi_not_configured")]
    assert other_coordinator.post("/v1/xapi/completions", json=webhook).status_code == 404
    assert other_coordinator.get(settings).status_code == 404
    assert other_coordinator.request("PUT", settings, json={"home_page": HOME}).status_code == 404
    assert mentor.get(settings).status_code == 403 and scopeless_client.get(settings).status_code == 403
    assert snapshot(engine) == before
    # The institution's coordinator may send them herself.
    assert send(coordinator, [statement("moodle-0")]).status_code == 200


def test_erasure_removes_her_statements_and_uploads_naming_her(lms: Lms, coordinator: Caller, world: World, engine: Engine) -> None:
    assert send(lms.client, [statement("moodle-0"), statement("moodle-1")]).status_code == 200
    upload = coordinator.post(
        f"/v1/institutions/{world.a['id']}/roster-imports",
        params={"id_kind": "sis"},
        content=f"external_id,email,display_name\nS0,{lms.members[0]['email']},Ana\n".encode(),
        headers={"content-type": "text/csv"},
    )
    assert upload.status_code == 201, upload.text
    erased = coordinator.post(f"/v1/institutions/{world.a['id']}/data-subjects/member-0/erasure")
    assert erased.status_code == 201, erased.text
    with engine.connect() as conn:
        left = conn.execute(select(XapiStatement.__table__.c.participant_id)).scalars().all()  # type: ignore[attr-defined]
    assert [str(p) for p in left] == [lms.members[1]["id"]]
    job = coordinator.get(f"/v1/institutions/{world.a['id']}/roster-imports/{upload.json()['id']}").json()
    assert (job["file_available"], job["failure"]) == (False, "The upload was deleted by an erasure request")
    assert fields(send(lms.client, statement("moodle-0"))) == [("body.actor.account.name", "unknown_actor")]
