"""Data-subject rights: export everything held about a person; erase it,
keeping only pseudonymised rows the aggregates need, and prove nothing
personal is left anywhere in the database."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from servicekit.outbox import utcnow

from services.participants.tests.conftest import CONSENTS, Caller, Cohort, World, events, form, open_cohort, rows

SUB = "acct-7f3a9c51"
PERSONAL = {
    "full_name": "Ximena Quetzalli Anaya",
    "email": "ximena.quetzalli@uaeh.edu.mx",
    "interest": "Interés singular de Ximena en catálisis verde",
    "evidence": ["https://cv.example.org/ximena-quetzalli"],
}
IDENTITY = {"gender_identity": "mujer xq-identidad", "ethnicity": "xq-etnia"}
EXTERNAL = {"lms_id": "moodle-xq-991", "hr_id": "RH-XQ-7", "sis_id": "SIS-XQ-3"}
BIO = "Bio irrepetible de Ximena"
COMPLETION_ID = "moodle:completion:xq-1"
DECISION_REASON = "Aceptada: Ximena encaja"
OVERRIDE_REASON = "Revisé el CV de Ximena Quetzalli"


def _traces() -> list[str]:
    return [SUB, *[v for v in PERSONAL.values() if isinstance(v, str)], *PERSONAL["evidence"], *IDENTITY.values(),
            *EXTERNAL.values(), BIO, COMPLETION_ID, DECISION_REASON, OVERRIDE_REASON]  # fmt: skip


def _found_anywhere(engine: Engine, needles: list[str]) -> dict[str, list[str]]:
    """Which of ``needles`` appear in which table (every column of every row)."""
    found: dict[str, list[str]] = {}
    for table, table_rows in rows(engine).items():
        text = repr(table_rows)
        hits = [n for n in needles if n in text or n.encode("unicode_escape").decode() in text]
        if hits:
            found[table] = hits
    return found


@pytest.fixture
def ximena(cohort: Cohort, coordinator: Caller, http: Any, mint: Any, world: World) -> dict[str, Any]:
    """A member of one program who also applied to another, with everything a person can leave behind."""
    person = cohort.person(SUB, ["mentee"])
    body = {
        "program_id": cohort.id, "role": "mentee", **form("mentee"), **PERSONAL,
        "consents": {**CONSENTS, "purposes": ["program", "research", "matching_identity"]}, "identity": IDENTITY,
    }  # fmt: skip
    created = person.post("/v1/applications", json=body, headers={"Idempotency-Key": "apply-1"})
    assert created.status_code == 201, created.text
    application = created.json()
    person.post(f"/v1/applications/{application['id']}/submit")
    coordinator.request(
        "PUT", f"/v1/applications/{application['id']}/eligibility/overrides/expectations",
        json={"passed": True, "reason": OVERRIDE_REASON},
    )  # fmt: skip
    coordinator.post(f"/v1/applications/{application['id']}/decision", json={"decision": "accepted", "reason": DECISION_REASON})
    coordinator.post(f"/v1/applications/{application['id']}/invitation", json={})
    person.post(f"/v1/applications/{application['id']}/confirm")
    me = person.get("/v1/participants/me").json()
    assert coordinator.patch(f"/v1/participants/{me['id']}", json={**EXTERNAL, "bio": BIO}).status_code == 200
    module = coordinator.post(
        f"/v1/programs/{cohort.id}/training-modules", json={"title": "Módulo 1", "kind": "online_module", "expected_minutes": 60}
    ).json()
    lms = Caller(http, mint(sub="client-lms", tid=world.a["id"], scope="training:write", client_id="lms"), "lms")
    completed = lms.post(
        f"/v1/training-modules/{module['id']}/completions",
        json={"lms_id": EXTERNAL["lms_id"], "completed_at": (utcnow() - timedelta(days=1)).isoformat(), "external_id": COMPLETION_ID},
        headers={"Idempotency-Key": "lms-push-1"},  # the LMS's stored answer names her completion
    )
    assert completed.status_code == 201, completed.text

    second = open_cohort(coordinator, http, mint, world.a["id"], name="Segunda")
    other_application = second.submitted(person, "mentee", 1, **PERSONAL)

    bea = cohort.person("bea", ["mentee"])
    cohort.confirmed(bea, "mentee", 2)
    return {"person": person, "participant": me, "applications": [application, other_application], "bea": bea,
            "module": module, "second": second}  # fmt: skip


def _export_url(world: World, sub: str = SUB) -> str:
    return f"/v1/institutions/{world.a['id']}/data-subjects/{sub}/export"


def test_export_holds_everything_about_her(ximena: dict[str, Any], world: World, coordinator: Caller) -> None:
    exported = ximena["person"].get(_export_url(world))
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert coordinator.get(_export_url(world)).json()["applications"] == data["applications"]
    assert (data["subject_id"], data["institution_id"]) == (SUB, world.a["id"])
    first, second = data["applications"]
    assert first["application"]["full_name"] == PERSONAL["full_name"] and first["application"]["status"] == "confirmed"
    assert {c["purpose"] for c in first["consents"]} == {"program", "research", "matching_identity"}
    assert {k: first["identity"][k] for k in IDENTITY} == IDENTITY
    assert first["eligibility_overrides"]["expectations"]["reason"] == OVERRIDE_REASON
    assert second["application"]["status"] == "submitted" and second["identity"] is None
    participant = data["participant"]
    assert (participant["bio"], participant["lms_id"]) == (BIO, EXTERNAL["lms_id"])
    assert [m["role"] for m in participant["memberships"]] == ["mentee"]
    assert [c["external_id"] for c in data["training_completions"]] == [COMPLETION_ID]
    exported_text = exported.text
    assert all(trace in exported_text for trace in [SUB, PERSONAL["email"], BIO, IDENTITY["ethnicity"], COMPLETION_ID])


def test_erasure_leaves_nothing_personal_and_keeps_the_aggregates(
    ximena: dict[str, Any], world: World, cohort: Cohort, engine: Engine
) -> None:
    assert set(_found_anywhere(engine, _traces())) >= {"applications", "participants", "identity_data", "outbox_events", "idempotency_records"}
    funnel_before = cohort.coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()
    bea_before = ximena["bea"].get(_export_url(world, "bea")).json()

    erased = ximena["person"].post(f"/v1/institutions/{world.a['id']}/data-subjects/{SUB}/erasure")

    assert erased.status_code == 201, erased.text
    record = erased.json()
    assert erased.headers["location"] == f"/v1/institutions/{world.a['id']}/erasure-requests/{record['id']}"
    assert (record["requested_by_role"], record["requested_by"]) == ("data_subject", None)
    assert record["summary"] == {
        "applications_pseudonymised": 2, "participants_pseudonymised": 1, "memberships_withdrawn": 1,
        "consents_deleted": 5, "identity_records_deleted": 1, "overrides_deleted": 1, "completions_kept": 1,
        "events_scrubbed": record["summary"]["events_scrubbed"], "idempotency_records_deleted": 2,
        "xapi_statements_deleted": 0, "roster_uploads_deleted": 0,
    }  # fmt: skip
    assert record["summary"]["events_scrubbed"] >= 5

    # Nothing personal remains, in any column of any table.
    assert _found_anywhere(engine, _traces()) == {}

    # What the aggregates need is still there.
    funnel_after = cohort.coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()
    for stage in ("applied", "accepted", "invited", "confirmed", "trained"):
        assert funnel_after["total"][stage] == funnel_before["total"][stage], stage
    assert funnel_after["total"]["withdrawn"] == funnel_before["total"]["withdrawn"] + 1
    completions = cohort.coordinator.get(f"/v1/training-modules/{ximena['module']['id']}/completions").json()["items"]
    assert [(c["participant_id"], c["external_id"]) for c in completions] == [(ximena["participant"]["id"], None)]
    kept = cohort.coordinator.get(f"/v1/participants/{ximena['participant']['id']}").json()
    assert kept["display_name"] == "[erased]" and kept["account_id"].startswith("erased-")
    assert [m["status"] for m in kept["memberships"]] == ["withdrawn"]

    # Nobody else was touched, and she is gone for good.
    assert ximena["bea"].get(_export_url(world, "bea")).json()["participant"] == bea_before["participant"]
    assert ximena["person"].get(_export_url(world)).status_code == 404
    assert cohort.coordinator.post(f"/v1/institutions/{world.a['id']}/data-subjects/{SUB}/erasure").status_code == 404
    assert ximena["person"].get("/v1/participants/me").status_code == 404

    (erasure_event,) = events(engine, "data_subject.erased")
    assert erasure_event["payload"]["participant_id"] == ximena["participant"]["id"]
    assert sorted(erasure_event["payload"]["application_ids"]) == sorted(a["id"] for a in ximena["applications"])
    listed = cohort.coordinator.get(f"/v1/institutions/{world.a['id']}/erasure-requests").json()["items"]
    assert [r["id"] for r in listed] == [record["id"]]


def test_a_coordinators_erasure_is_recorded_and_safe_to_retry(
    ximena: dict[str, Any], world: World, coordinator: Caller, engine: Engine
) -> None:
    url = f"/v1/institutions/{world.a['id']}/data-subjects/{SUB}/erasure"
    first = coordinator.post(url, headers={"Idempotency-Key": "erase-xq"})
    retry = coordinator.post(url, headers={"Idempotency-Key": "erase-xq"})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert (first.json()["requested_by_role"], first.json()["requested_by"]) == ("coordinator", "coord-a")
    assert _found_anywhere(engine, _traces()) == {}
    assert len(events(engine, "data_subject.erased")) == 1


def test_an_applicant_who_never_took_part_is_erased_too(cohort: Cohort, world: World, engine: Engine) -> None:
    person = cohort.person("solo-applicant")
    cohort.draft(person, full_name="Renata Solís Única", email="renata.solis.unica@uaeh.edu.mx")
    erased = person.post(f"/v1/institutions/{world.a['id']}/data-subjects/solo-applicant/erasure").json()
    assert (erased["summary"]["applications_pseudonymised"], erased["summary"]["participants_pseudonymised"]) == (1, 0)
    assert _found_anywhere(engine, ["solo-applicant", "Renata Solís Única", "renata.solis.unica"]) == {}
    assert cohort.coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()["by_status"]["withdrawn"] == 1


def test_nothing_held_is_a_404(world: World, coordinator: Caller) -> None:
    assert coordinator.get(_export_url(world, "nobody")).status_code == 404
    assert coordinator.post(f"/v1/institutions/{world.a['id']}/data-subjects/nobody/erasure").status_code == 404


# ---------------------------------------------------------------------------
# The internal endpoints the gateway's orchestrator calls (servicekit.data_rights)

from servicekit import data_rights as kit  # noqa: E402

from services.participants import data_rights  # noqa: E402


def _gateway(http: Any, mint: Any) -> Caller:
    return Caller(http, mint(sub=kit.GATEWAY_SUBJECT, scope=kit.DATA_RIGHTS_SCOPE, client_id="gateway"), "gateway")


def _ref(world: World, participant_ids: list[str], sub: str = SUB) -> dict[str, Any]:
    return {"institution_id": world.a["id"], "account_id": sub, "participant_ids": participant_ids}


def test_internal_export_and_erasure(ximena: dict[str, Any], world: World, http: Any, mint: Any, engine: Engine) -> None:
    gateway = _gateway(http, mint)
    resolved = gateway.post(kit.RESOLVE_PATH, json={"institution_id": world.a["id"], "account_id": SUB})
    assert resolved.json() == {"participant_ids": [ximena["participant"]["id"]]}
    ids = resolved.json()["participant_ids"]

    exported = gateway.post(kit.EXPORT_PATH, json=_ref(world, ids))
    assert exported.status_code == 200, exported.text
    tables = exported.json()["tables"]
    assert set(tables) == set(data_rights.PERSONAL)
    for table in ("applications", "consents", "identity_data", "eligibility_overrides", "participants", "memberships",
                  "training_completions", "outbox_events", "idempotency_records"):  # fmt: skip
        assert tables[table], table
    assert all(trace in exported.text for trace in _traces())

    erased = gateway.post(kit.ERASURE_PATH, json=_ref(world, ids))
    assert erased.status_code == 200, erased.text
    counts = erased.json()["tables"]
    assert set(counts) == set(data_rights.PERSONAL)
    assert (counts["applications"], counts["participants"], counts["identity_data"]) == (2, 1, 1)
    assert _found_anywhere(engine, _traces()) == {}
    assert len(events(engine, "data_subject.erased")) == 1
    # Idempotent: nothing of her is left, zero rows and no second event.
    again = gateway.post(kit.ERASURE_PATH, json=_ref(world, ids))
    assert again.status_code == 200 and set(again.json()["tables"].values()) == {0}
    assert len(events(engine, "data_subject.erased")) == 1
    assert gateway.post(kit.EXPORT_PATH, json=_ref(world, ids)).json()["tables"]["participants"] == []


def test_internal_endpoints_refuse_everyone_but_the_gateway(
    ximena: dict[str, Any], world: World, http: Any, mint: Any, coordinator: Caller, engine: Engine
) -> None:
    body = _ref(world, [ximena["participant"]["id"]])
    callers = [
        coordinator,
        ximena["person"],
        Caller(http, mint(sub="admin-1", roles=["admin"]), "admin"),
        Caller(http, mint(sub="cli_x", tid=world.a["id"], scope=kit.DATA_RIGHTS_SCOPE, client_id="cli_x"), "client"),
        Caller(http, mint(sub=kit.GATEWAY_SUBJECT, scope="events:read", client_id="gateway"), "gateway-events"),
    ]
    for caller in callers:
        for path in (kit.EXPORT_PATH, kit.ERASURE_PATH):
            assert caller.post(path, json=body).status_code == 403, (caller, path)
    assert Caller(http, None, "anonymous").post(kit.ERASURE_PATH, json=body).status_code == 401
    expired = mint(sub=kit.GATEWAY_SUBJECT, scope=kit.DATA_RIGHTS_SCOPE, client_id="gateway", ttl=-120)
    assert Caller(http, expired, "expired").post(kit.ERASURE_PATH, json=body).status_code == 401
    assert set(_found_anywhere(engine, _traces())) >= {"applications", "participants"}
