"""Bad input to programs, applications, participants and training: a 422
problem naming the field, and nothing written.

None of these requests writes, so the scene is built once for the module
(and every case still proves the database unchanged)."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from servicekit.testing import Mint

from services.participants.tests.conftest import Caller, clean, institution_body, open_cohort, snapshot
from services.participants.tests.test_validation import _fill


@pytest.fixture(scope="module")
def scene(http: TestClient, mint: Mint, engine: Engine) -> Iterator[dict[str, Any]]:
    """A program with an open call, a draft of the applicant's, a member, a module; and institution B's campus."""
    admin = Caller(http, mint(sub="admin-1", roles=["admin"]), "admin")
    a = admin.post("/v1/institutions", json=institution_body("uaeh")).json()
    b = admin.post("/v1/institutions", json=institution_body("upch", country="PE", timezone="America/Lima")).json()
    campus_b = admin.post(f"/v1/institutions/{b['id']}/campuses", json={"name": "Campus", "city": "Lima"}).json()
    coordinator = Caller(http, mint(sub="coord-a", tid=a["id"], roles=["coordinator"]), "coordinator")
    cohort = open_cohort(coordinator, http, mint, a["id"])
    applicant = cohort.person("applicant-1")
    draft = cohort.draft(applicant, "mentee", 1)
    member = cohort.person("member-1", ["mentee"])
    cohort.confirmed(member, "mentee", 2)
    me = member.get("/v1/participants/me").json()
    module = coordinator.post(
        f"/v1/programs/{cohort.id}/training-modules", json={"title": "Módulo 1", "kind": "online_module", "expected_minutes": 60}
    ).json()
    ids = {
        "a": a["id"], "p": cohort.id, "app": draft["id"], "participant": me["id"],
        "membership": me["memberships"][0]["id"], "module": module["id"], "campus_b": campus_b["id"],
    }  # fmt: skip
    yield {"ids": ids, "callers": {"coordinator": coordinator, "applicant": applicant, "member": member}}
    clean(engine)


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Overrides the suite's cleaner: these requests write nothing, the scene stays."""
    yield


PROGRAMS = "/v1/institutions/{a}/programs"
PROGRAM = "/v1/programs/{p}"
APP = "/v1/applications/{app}"
GOOD_PROGRAM = {"name": "Programa", "description": "Descripción."}
GOOD_FORM = {"program_id": "{p}", "role": "mentee"}
NEW_CASES: list[tuple[str, str, str, Any, str]] = [
    ("coordinator", "POST", PROGRAMS, {"description": "Sin nombre."}, "body.name"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "description": "Con\x07campana"}, "body.description"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "mode": "mentoring"}, "body.mode"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "max_mentees_per_mentor": 0}, "body.max_mentees_per_mentor"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "meetings_count": 100}, "body.meetings_count"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "languages": []}, "body.languages"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "status": "call_open"}, "body.status"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "privacy_notice": {"version": "v 1", "text": "Aviso."}}, "body.privacy_notice.version"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "phases": [{"kind": "kickoff", "starts_on": "2027-01-01", "ends_on": "2027-01-02"}]}, "body.phases.0.kind"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "phases": [{"kind": "call", "starts_on": "2027-02-30", "ends_on": "2027-03-02"}]}, "body.phases.0.starts_on"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "criteria": [{"id": "r", "field": "role", "op": "equals", "value": "mentor"}]}, "body.criteria.0.description"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "phases": [{"kind": "call", "starts_on": "2027-01-01", "ends_on": "9999-12-31"}]}, "body.phases.0.ends_on"),
    ("coordinator", "POST", PROGRAMS, {**GOOD_PROGRAM, "criteria": [{"id": "r", "field": "stem_field", "op": "in", "value": [{}], "description": "d"}]}, "body.criteria.0.value"),
    ("coordinator", "PATCH", PROGRAM, {}, "body"),
    ("coordinator", "PATCH", PROGRAM, {"name": None}, "body.name"),
    ("coordinator", "PATCH", PROGRAM, {"status": "closed"}, "body.status"),
    ("coordinator", "POST", PROGRAM + "/transitions", {"to": "launched"}, "body.to"),
    ("coordinator", "POST", PROGRAM + "/transitions", {}, "body.to"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "program_id": "x"}, "body.program_id"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "role": "boss"}, "body.role"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "email": "not-an-email"}, "body.email"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "evidence": ["http://cv.example.org"]}, "body.evidence.0"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "years_of_experience": -1}, "body.years_of_experience"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "stem_field": "alchemy"}, "body.stem_field"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "identity": {}}, "body.identity"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "consents": {"privacy_notice_version": "2026-1", "purposes": ["marketing"]}}, "body.consents.purposes.0"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "salary": 1}, "body.salary"),
    ("applicant", "POST", "/v1/applications", {**GOOD_FORM, "campus_id": "{campus_b}"}, "body.campus_id"),
    ("applicant", "PATCH", APP, {}, "body"),
    ("applicant", "PATCH", APP, {"role": None}, "body.role"),
    ("applicant", "PATCH", APP, {"interest": "  con espacios  "}, "body.interest"),
    ("coordinator", "POST", APP + "/decision", {"decision": "maybe", "reason": "x"}, "body.decision"),
    ("coordinator", "POST", APP + "/decision", {"decision": "accepted"}, "body.reason"),
    ("coordinator", "POST", PROGRAM + "/decisions", {"decisions": []}, "body.decisions"),
    ("coordinator", "POST", APP + "/invitation", {"confirm_by": "2027-01-01T00:00:00"}, "body.confirm_by"),
    ("coordinator", "PUT", APP + "/eligibility/overrides/expectations", {"passed": "perhaps", "reason": "x"}, "body.passed"),
    ("coordinator", "PUT", APP + "/eligibility/overrides/Bad Rule", {"passed": True, "reason": "x"}, "path.rule_id"),
    ("applicant", "PUT", APP + "/consents/marketing", {"privacy_notice_version": "2026-1"}, "path.purpose"),
    ("applicant", "PUT", APP + "/consents/research", {}, "body.privacy_notice_version"),
    ("applicant", "PUT", APP + "/consents/research", {"privacy_notice_version": "2026\u0000"}, "body.privacy_notice_version"),
    ("applicant", "PUT", APP + "/identity", {"gender_identity": " mujer"}, "body.gender_identity"),
    ("applicant", "PUT", APP + "/identity", {}, "body"),
    ("member", "PATCH", "/v1/participants/{participant}", {"timezone": "Mars/Base"}, "body.timezone"),
    ("coordinator", "PATCH", "/v1/participants/{participant}", {"lms_id": "has space"}, "body.lms_id"),
    ("member", "PATCH", "/v1/participants/{participant}", {"display_name": None}, "body.display_name"),
    ("member", "PATCH", "/v1/participants/{participant}", {"stem_fields": ["chemistry", "chemistry"]}, "body.stem_fields"),
    ("coordinator", "PATCH", PROGRAM + "/memberships/{membership}", {"status": "paused"}, "body.status"),
    ("coordinator", "PATCH", PROGRAM + "/memberships/{membership}", {"reason": "x"}, "body.status"),
    ("coordinator", "POST", PROGRAM + "/training-modules", {"title": "M", "kind": "video", "expected_minutes": 10}, "body.kind"),
    ("coordinator", "POST", PROGRAM + "/training-modules", {"title": "M", "kind": "online_module", "expected_minutes": 0}, "body.expected_minutes"),
    ("coordinator", "POST", "/v1/training-modules/{module}/completions", {"completed_at": "2026-01-01T00:00:00Z"}, "body.lms_id"),
    ("coordinator", "POST", "/v1/training-modules/{module}/completions", {"participant_id": "{participant}", "lms_id": "x", "completed_at": "2026-01-01T00:00:00Z"}, "body.lms_id"),
    ("coordinator", "POST", "/v1/training-modules/{module}/completions", {"participant_id": "{participant}", "completed_at": "2026-01-01T00:00:00"}, "body.completed_at"),
    ("coordinator", "POST", "/v1/training-modules/{module}/completions", {"participant_id": "{participant}", "completed_at": "1990-01-01T00:00:00Z"}, "body.completed_at"),
    ("coordinator", "POST", APP + "/invitation", {"confirm_by": "9999-01-01T00:00:00Z"}, "body.confirm_by"),
    ("coordinator", "GET", PROGRAM + "/applications?status=pending", None, "query.status"),
    ("coordinator", "GET", PROGRAM + "/memberships?limit=0", None, "query.limit"),
    ("coordinator", "GET", "/v1/institutions/{a}/data-subjects/a b/export", None, "path.subject_id"),
    ("coordinator", "POST", "/v1/institutions/{a}/data-subjects/applicant-1/erasure", {"confirm": True}, "body.confirm"),
    ("coordinator", "GET", "/v1/calls?institution_id=nope", None, "query.institution_id"),
]  # fmt: skip


@pytest.mark.parametrize(("caller_name", "method", "path", "body", "field"), NEW_CASES)
def test_bad_input_names_the_field_and_writes_nothing(
    caller_name: str, method: str, path: str, body: Any, field: str, scene: dict[str, Any], engine: Engine
) -> None:
    ids = scene["ids"]
    before = snapshot(engine)

    response = scene["callers"][caller_name].request(method, path.format(**ids), json=_fill(body, ids))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    assert snapshot(engine) == before


def test_a_lone_surrogate_is_refused_not_stored(scene: dict[str, Any], engine: Engine) -> None:
    """JSON may carry "\\ud800", which UTF-8 cannot store: a 422, never a 500."""
    before = snapshot(engine)
    url = PROGRAMS.format(**scene["ids"])
    raw = b'{"name": "Mentoras \\ud800", "description": "Descripcion."}'
    response = scene["callers"]["coordinator"].post(url, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.name"]
    assert snapshot(engine) == before
