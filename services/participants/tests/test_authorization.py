"""Every endpoint against every kind of caller.

Design: whoever may not know a record exists gets 404 for it (never 403);
whoever may see it but not do this gets 403; a missing token gets 401 (an
expired or forged one too, see the last test). Authorization rests on the
token's institution and account and on the data: an applicant's application
is hers by account id, a participant sees a program through her membership
rows, a token's role alone ("mentee" without a membership) opens nothing.
A refused request writes nothing, and no answer carries another
institution's records. API clients meet the deny-by-default gate first
(servicekit.auth ``gate_clients``): on a route that declares none of a client's
scopes the answer is 403 ``insufficient-scope`` whatever the table says
(``expected``); the table's client columns hold where a declared scope lets it in.

The world (two institutions; in A, programs with applications in every
state the endpoints need, two members of the main program, one of another,
a module, a completion, an erasure record) is built once through the API and
restored from its saved rows whenever a request changed it.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from servicekit.auth import declared_client_scopes
from servicekit.testing import Mint

from services.participants.tests.conftest import (
    CONSENTS,
    Caller,
    Cohort,
    clean,
    form,
    institution_body,
    open_cohort,
    restore,
    rows,
    snapshot,
)

ROLES = (
    "admin", "coordinator", "other_coordinator", "applicant", "other_applicant", "participant",
    "other_participant", "mentee", "lms_client", "matching_client", "scopeless_client", "reader",
    "events_client", "anonymous",
)  # fmt: skip


@dataclass
class MatrixWorld:
    ids: dict[str, str]
    callers: dict[str, Caller]
    saved: dict[str, list[dict[str, Any]]]


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _build(http: TestClient, mint: Mint, engine: Engine) -> MatrixWorld:
    admin = Caller(http, mint(sub="admin-1", roles=["admin"]), "admin")
    a = _created(admin.post("/v1/institutions", json=institution_body("uaeh")))
    b = _created(admin.post("/v1/institutions", json=institution_body("upch", country="PE", timezone="America/Lima")))
    base_a = f"/v1/institutions/{a['id']}"
    campus = _created(admin.post(f"{base_a}/campuses", json={"name": "Campus Norte", "city": "Pachuca"}))
    unit = _created(admin.post(f"{base_a}/academic-units", json={"name": "Ingeniería", "kind": "faculty"}))
    _created(admin.post(f"/v1/institutions/{b['id']}/campuses", json={"name": "Campus Norte", "city": "Lima"}))

    tid = a["id"]
    coordinator = Caller(http, mint(sub="coord-a", tid=tid, roles=["coordinator"]), "coordinator")

    def cohort(name: str) -> Cohort:
        return open_cohort(coordinator, http, mint, tid, name=name)

    main, second, third, fourth, other, fresh = (
        cohort(n) for n in ("Principal", "Segundo", "Tercero", "Cuarto", "Otro", "Nuevo")
    )
    applicant = main.person("applicant-1")
    other_applicant = main.person("applicant-2")
    participant = main.person("participant-p", ["mentee"])
    peer = main.person("participant-peer", ["mentor"])
    other_participant = main.person("participant-q", ["mentor"])

    identity_consents = {**CONSENTS, "purposes": ["program", "research", "matching_identity"]}
    identity = {"gender_identity": "mujer", "first_generation": True}
    hers = main.submitted(applicant, "mentee", 1, consents=identity_consents, identity=identity)
    hers_draft = second.draft(applicant, "mentee", 1)
    hers_accepted = third.accepted(applicant, "mentee", 1)
    hers_invited = fourth.invited(applicant, "mentee", 1)
    main.draft(other_applicant, "mentee", 2)
    participant_app = main.confirmed(participant, "mentee", 3, consents=identity_consents, identity=identity)
    peer_app = main.confirmed(peer, "mentor", 4)
    other.confirmed(other_participant, "mentor", 5)
    gone = second.person("gone-1")
    second.draft(gone, "mentee", 6)
    erasure = _created(coordinator.post(f"{base_a}/data-subjects/gone-1/erasure"))

    memberships = coordinator.get(f"/v1/programs/{main.id}/memberships").json()["items"]
    peer_membership = next(m for m in memberships if m["id"] == peer_app["membership_id"])
    participant_membership = next(m for m in memberships if m["application_id"] == participant_app["id"])
    module = _created(
        coordinator.post(
            f"/v1/programs/{main.id}/training-modules",
            json={"title": "Módulo 1", "kind": "online_module", "expected_minutes": 120, "lms_activity_id": ACTIVITY},
        )
    )
    # xAPI: the institution's LMS, and the member's LMS id.
    _created(coordinator.request("PUT", f"{base_a}/xapi-settings", json={"home_page": LMS_HOME}))
    _created(coordinator.patch(f"/v1/participants/{participant_membership['participant_id']}", json={"lms_id": "lms-p"}))
    # A roster import, committed (so that dry-run and commit answer 409 to those allowed).
    roster_import = _created(
        coordinator.post(
            f"{base_a}/roster-imports", params={"id_kind": "sis"}, content=ROSTER_CSV.encode(), headers={"content-type": "text/csv"}
        )
    )
    started = coordinator.post(f"{base_a}/roster-imports/{roster_import['id']}/commit", json={"mode": "skip_invalid"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while coordinator.get(f"{base_a}/roster-imports/{roster_import['id']}").json()["status"] != "committed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    completion = _created(
        coordinator.post(
            f"/v1/training-modules/{module['id']}/completions",
            json={"participant_id": participant_membership["participant_id"], "completed_at": datetime.now(UTC).isoformat()},
        )
    )

    callers = {
        "admin": admin,
        "coordinator": coordinator,
        "other_coordinator": Caller(http, mint(sub="coord-b", tid=b["id"], roles=["coordinator"]), "other_coordinator"),
        "applicant": applicant,
        "other_applicant": other_applicant,
        "participant": participant,
        "other_participant": other_participant,
        "mentee": Caller(http, mint(sub="mentee-a", tid=tid, roles=["mentee"]), "mentee"),
        "lms_client": Caller(http, mint(sub="client-lms", tid=tid, scope="training:write", client_id="lms"), "lms_client"),
        "matching_client": Caller(
            http, mint(sub="client-matching", scope="identity:read events:read", client_id="matching"), "matching_client"
        ),
        "scopeless_client": Caller(http, mint(sub="client-sis", tid=tid, client_id="sis"), "scopeless_client"),
        "reader": Caller(http, mint(sub="client-gateway", scope="institutions:read", client_id="gateway"), "reader"),
        "events_client": Caller(http, mint(sub="client-sessions", scope="events:read", client_id="sessions"), "events_client"),
        "anonymous": Caller(http, None, "anonymous"),
    }
    ids = {
        "a": a["id"],
        "b": b["id"],
        "campus_a": campus["id"],
        "unit_a": unit["id"],
        "p": main.id,
        "fresh": fresh.id,
        "app": hers["id"],
        "app_draft": hers_draft["id"],
        "app_accepted": hers_accepted["id"],
        "app_invited": hers_invited["id"],
        "peer": peer_membership["participant_id"],
        "peer_membership": peer_membership["id"],
        "module": module["id"],
        "completion": completion["id"],
        "erasure": erasure["id"],
        "roster": roster_import["id"],
    }
    return MatrixWorld(ids=ids, callers=callers, saved=rows(engine))


_state = {"dirty": False}


@pytest.fixture(scope="module")
def matrix_world(http: TestClient, mint: Mint, engine: Engine) -> Iterator[MatrixWorld]:
    world = _build(http, mint, engine)
    yield world
    clean(engine)


@pytest.fixture(autouse=True)
def _clean_tables(matrix_world: MatrixWorld, engine: Engine) -> Iterator[None]:
    """Overrides the suite's cleaner: restore the world only after a change."""
    if _state["dirty"]:
        restore(engine, matrix_world.saved)
        _state["dirty"] = False
    yield


NOW = datetime.now(UTC).isoformat()
FORM = {"program_id": "{fresh}", "role": "mentee", **form("mentee", 9), "consents": CONSENTS}
LMS_HOME = "https://lms.uaeh.edu.mx"
ACTIVITY = f"{LMS_HOME}/mod/scorm/view.php?id=1"
ROSTER_CSV = "external_id,email,display_name\r\nR0000001,roster1@uaeh.edu.mx,Persona del Padrón\r\n"
STATEMENT = {
    "id": "4a8a3d62-7c3e-4b4f-9f59-2f0e6a1d2c11",
    "actor": {"account": {"homePage": LMS_HOME, "name": "lms-p"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": ACTIVITY},
    "timestamp": NOW,
}


@dataclass(frozen=True)
class Send:
    """A request that is not a plain JSON body: raw content, or extra headers."""

    content: str | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _request(caller: Caller, method: str, url: str, body: Any, ids: dict[str, str]) -> Any:
    if isinstance(body, Send):
        content = body.content.encode() if body.content is not None else None
        return caller.request(method, url, content=content, json=_fill(body.json, ids), headers=body.headers)
    return caller.request(method, url, json=_fill(body, ids))


# operation id -> (method, path template, body)
ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "create_institution": ("POST", "/v1/institutions", institution_body("uady", timezone="America/Merida")),
    "list_institutions": ("GET", "/v1/institutions", None),
    "get_institution": ("GET", "/v1/institutions/{a}", None),
    "update_institution": ("PATCH", "/v1/institutions/{a}", {"name": "Universidad Renombrada"}),
    "create_campus": ("POST", "/v1/institutions/{a}/campuses", {"name": "Campus Sur", "city": "Tula"}),
    "list_campuses": ("GET", "/v1/institutions/{a}/campuses", None),
    "get_campus": ("GET", "/v1/institutions/{a}/campuses/{campus_a}", None),
    "update_campus": ("PATCH", "/v1/institutions/{a}/campuses/{campus_a}", {"city": "Tulancingo"}),
    "delete_campus": ("DELETE", "/v1/institutions/{a}/campuses/{campus_a}", None),
    "create_academic_unit": ("POST", "/v1/institutions/{a}/academic-units", {"name": "Física", "kind": "department"}),
    "list_academic_units": ("GET", "/v1/institutions/{a}/academic-units", None),
    "get_academic_unit": ("GET", "/v1/institutions/{a}/academic-units/{unit_a}", None),
    "update_academic_unit": ("PATCH", "/v1/institutions/{a}/academic-units/{unit_a}", {"kind": "school"}),
    "delete_academic_unit": ("DELETE", "/v1/institutions/{a}/academic-units/{unit_a}", None),
    "list_internal_events": ("GET", "/internal/events", None),
    # data-subject rights for the gateway's orchestrator only (servicekit.data_rights): nobody here may call them
    "export_data_subject_internal": ("POST", "/internal/data-subjects/export", {"institution_id": "{a}", "account_id": "participant-p"}),
    "erase_data_subject_internal": ("POST", "/internal/data-subjects/erasure", {"institution_id": "{a}", "account_id": "participant-p"}),
    "resolve_data_subject_internal": ("POST", "/internal/data-subjects/resolve", {"institution_id": "{a}", "account_id": "participant-p"}),
    # programs and calls
    "create_program": ("POST", "/v1/institutions/{a}/programs", {"name": "Nuevo", "description": "Otro programa."}),
    "list_programs": ("GET", "/v1/institutions/{a}/programs", None),
    "get_program": ("GET", "/v1/programs/{p}", None),
    "update_program": ("PATCH", "/v1/programs/{p}", {"meetings_count": 10}),
    "transition_program": ("POST", "/v1/programs/{p}/transitions", {"to": "selection"}),
    "list_calls": ("GET", "/v1/calls", None),
    "get_call": ("GET", "/v1/calls/{p}", None),
    # applications
    "create_application": ("POST", "/v1/applications", FORM),
    "list_my_applications": ("GET", "/v1/applications", None),
    "get_application": ("GET", "/v1/applications/{app}", None),
    "update_application": ("PATCH", "/v1/applications/{app_draft}", {"experience": "Tres años."}),
    "submit_application": ("POST", "/v1/applications/{app_draft}/submit", None),
    "decide_application": ("POST", "/v1/applications/{app}/decision", {"decision": "waitlisted", "reason": "Cupo lleno."}),
    "invite_application": ("POST", "/v1/applications/{app_accepted}/invitation", {}),
    "confirm_application": ("POST", "/v1/applications/{app_invited}/confirm", None),
    "decline_application": ("POST", "/v1/applications/{app_invited}/decline", None),
    "withdraw_application": ("POST", "/v1/applications/{app}/withdraw", {"reason": "Cambio de planes."}),
    "list_program_applications": ("GET", "/v1/programs/{p}/applications", None),
    "decide_applications": (
        "POST", "/v1/programs/{p}/decisions",
        {"decisions": [{"application_id": "{app}", "decision": "waitlisted", "reason": "Cupo lleno."}]},
    ),  # fmt: skip
    "invite_applications": ("POST", "/v1/programs/{p}/invitations", {}),
    "expire_invitations": ("POST", "/v1/programs/{p}/invitations/expire", None),
    "get_funnel": ("GET", "/v1/programs/{p}/funnel", None),
    "get_eligibility": ("GET", "/v1/applications/{app}/eligibility", None),
    "override_eligibility": (
        "PUT", "/v1/applications/{app}/eligibility/overrides/expectations", {"passed": True, "reason": "Encaja."}
    ),  # fmt: skip
    "list_consents": ("GET", "/v1/applications/{app}/consents", None),
    "grant_consent": ("PUT", "/v1/applications/{app}/consents/research", {"privacy_notice_version": "2026-1"}),
    "withdraw_consent": ("POST", "/v1/applications/{app}/consents/research/withdrawal", None),
    "get_identity": ("GET", "/v1/applications/{app}/identity", None),
    "put_identity": ("PUT", "/v1/applications/{app}/identity", {"ethnicity": "otomí"}),
    "delete_identity": ("DELETE", "/v1/applications/{app}/identity", None),
    "list_matching_identity": ("GET", "/v1/programs/{p}/matching-identity", None),
    "list_research_roster": ("GET", "/v1/programs/{p}/research-roster", None),
    # participants and memberships
    "get_my_participant": ("GET", "/v1/participants/me", None),
    "update_my_participant": ("PATCH", "/v1/participants/me", {"pronouns": "ella"}),
    "list_participants": ("GET", "/v1/institutions/{a}/participants", None),
    "get_participant": ("GET", "/v1/participants/{peer}", None),
    "update_participant": ("PATCH", "/v1/participants/{peer}", {"bio": "Física de partículas."}),
    "get_public_profile": ("GET", "/v1/participants/{peer}/public-profile", None),
    "list_memberships": ("GET", "/v1/programs/{p}/memberships", None),
    "update_membership": ("PATCH", "/v1/programs/{p}/memberships/{peer_membership}", {"status": "substitute"}),
    # data subjects
    "export_data_subject": ("GET", "/v1/institutions/{a}/data-subjects/applicant-1/export", None),
    "erase_data_subject": ("POST", "/v1/institutions/{a}/data-subjects/applicant-1/erasure", None),
    "list_erasure_requests": ("GET", "/v1/institutions/{a}/erasure-requests", None),
    "get_erasure_request": ("GET", "/v1/institutions/{a}/erasure-requests/{erasure}", None),
    # training
    "create_training_module": (
        "POST", "/v1/programs/{p}/training-modules", {"title": "Sesión 1", "kind": "accompaniment_session", "expected_minutes": 90}
    ),  # fmt: skip
    "list_training_modules": ("GET", "/v1/programs/{p}/training-modules", None),
    "get_training_module": ("GET", "/v1/training-modules/{module}", None),
    "update_training_module": ("PATCH", "/v1/training-modules/{module}", {"expected_minutes": 100}),
    "record_completion": ("POST", "/v1/training-modules/{module}/completions", {"participant_id": "{peer}", "completed_at": NOW}),
    "list_completions": ("GET", "/v1/training-modules/{module}/completions", None),
    "get_completion": ("GET", "/v1/training-modules/{module}/completions/{completion}", None),
    "get_training_stats": ("GET", "/v1/programs/{p}/training-stats", None),
    # roster imports
    "create_roster_import": (
        "POST", "/v1/institutions/{a}/roster-imports?id_kind=sis", Send(content=ROSTER_CSV, headers={"content-type": "text/csv"})
    ),  # fmt: skip
    "list_roster_imports": ("GET", "/v1/institutions/{a}/roster-imports", None),
    "get_roster_import": ("GET", "/v1/institutions/{a}/roster-imports/{roster}", None),
    "list_roster_import_errors": ("GET", "/v1/institutions/{a}/roster-imports/{roster}/errors", None),
    "dry_run_roster_import": ("POST", "/v1/institutions/{a}/roster-imports/{roster}/dry-run", None),
    "commit_roster_import": ("POST", "/v1/institutions/{a}/roster-imports/{roster}/commit", {"mode": "skip_invalid"}),
    # xAPI
    "store_xapi_statements": ("POST", "/v1/xapi/statements", Send(json=STATEMENT, headers={"X-Experience-API-Version": "1.0.3"})),
    "get_xapi_about": ("GET", "/v1/xapi/about", None),
    "record_lms_completion": (
        "POST", "/v1/xapi/completions", {"external_id": "lms-p", "module": ACTIVITY, "completed_at": NOW, "institution_id": "{a}"}
    ),  # fmt: skip
    "put_xapi_settings": ("PUT", "/v1/institutions/{a}/xapi-settings", {"home_page": LMS_HOME}),
    "get_xapi_settings": ("GET", "/v1/institutions/{a}/xapi-settings", None),
    # SCIM provisioning (the gateway, forwarding its SCIM client's token): no role here has scope scim.
    "provision_participant": ("PUT", "/internal/institutions/{a}/provisioned-participants/acct-new", {"display_name": "Nueva"}),
    "delete_provisioned_participant": ("DELETE", "/internal/institutions/{a}/provisioned-participants/participant-p", None),
    "get_contact_internal": ("GET", "/internal/institutions/{a}/contacts/participant-p", None),
}

# Columns, in this order (anonymous always gets 401 unless the route is public):
#   admin, coordinator (A), other_coordinator (B), applicant (A, owner of the applications),
#   other_applicant (A), participant (member of the main program), other_participant
#   (member of another program of A), mentee (A, the role without any membership),
#   lms_client (A, training:write), matching_client (platform, identity:read),
#   scopeless_client (A), reader (platform, institutions:read), events_client (events:read)
_C = ("admin", "coordinator", "other_coordinator", "applicant", "other_applicant", "participant",
      "other_participant", "mentee", "lms_client", "matching_client", "scopeless_client", "reader", "events_client")  # fmt: skip


def _row(*codes: int) -> tuple[int, ...]:
    assert len(codes) == len(_C)
    return codes


# Common shapes.
RUN_READ = _row(200, 200, 404, 404, 404, 403, 404, 404, 403, 403, 404, 404, 404)  # coordinators; members and clients who see the program: 403
RUN_WRITE = _row(200, 200, 404, 404, 404, 403, 404, 404, 403, 403, 404, 404, 404)
OWNER_ONLY = _row(403, 403, 404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404)
OWNER_OR_RUN = _row(200, 200, 404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404)
RUN_ON_APPLICATION = _row(200, 200, 404, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404)
CAMPUS_READ = _row(200, 200, 404, 404, 404, 200, 200, 200, 404, 404, 404, 404, 404)
CAMPUS_WRITE = _row(200, 200, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404)
INSTITUTION_RUN = CAMPUS_WRITE
DATA_SUBJECT = _row(200, 200, 404, 200, 403, 403, 403, 403, 404, 404, 404, 404, 404)
ADMIN_ONLY = _row(200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403)
PUBLIC = _row(*(200,) * 13)

_TABLE: dict[str, tuple[int, ...]] = {
    "create_institution": _row(201, *(403,) * 12),
    "list_institutions": _row(200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "get_institution": _row(200, 200, 404, 404, 404, 200, 200, 200, 404, 404, 404, 200, 404),
    "update_institution": ADMIN_ONLY,
    "create_campus": _row(201, 201, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_campuses": CAMPUS_READ,
    "get_campus": CAMPUS_READ,
    "update_campus": CAMPUS_WRITE,
    "delete_campus": _row(204, 204, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "create_academic_unit": _row(201, 201, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_academic_units": CAMPUS_READ,
    "get_academic_unit": CAMPUS_READ,
    "update_academic_unit": CAMPUS_WRITE,
    "delete_academic_unit": _row(204, 204, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_internal_events": _row(403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 200),
    "export_data_subject_internal": _row(*(403,) * 13),
    "erase_data_subject_internal": _row(*(403,) * 13),
    "resolve_data_subject_internal": _row(*(403,) * 13),
    "create_program": _row(201, 201, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_programs": _row(200, 200, 404, 200, 200, 200, 200, 200, 200, 404, 404, 404, 404),
    "get_program": _row(200, 200, 404, 404, 404, 200, 404, 404, 403, 403, 404, 404, 404),
    "update_program": RUN_WRITE,
    "transition_program": RUN_WRITE,
    "list_calls": PUBLIC,
    "get_call": PUBLIC,
    "create_application": _row(403, 403, 403, 201, 201, 201, 201, 201, 403, 403, 403, 403, 403),
    "list_my_applications": _row(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403),
    "get_application": OWNER_OR_RUN,
    "update_application": OWNER_ONLY,
    "submit_application": OWNER_ONLY,
    "decide_application": RUN_ON_APPLICATION,
    "invite_application": RUN_ON_APPLICATION,
    "confirm_application": OWNER_ONLY,
    "decline_application": OWNER_ONLY,
    "withdraw_application": OWNER_ONLY,
    "list_program_applications": RUN_READ,
    "decide_applications": RUN_WRITE,
    "invite_applications": RUN_WRITE,
    "expire_invitations": RUN_WRITE,
    "get_funnel": RUN_READ,
    "get_eligibility": OWNER_OR_RUN,
    "override_eligibility": RUN_ON_APPLICATION,
    "list_consents": OWNER_OR_RUN,
    "grant_consent": OWNER_ONLY,
    "withdraw_consent": OWNER_ONLY,
    "get_identity": OWNER_ONLY,
    "put_identity": OWNER_ONLY,
    "delete_identity": _row(403, 403, 404, 204, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "list_matching_identity": _row(403, 403, 404, 404, 404, 403, 404, 404, 403, 200, 404, 404, 404),
    "list_research_roster": RUN_READ,
    "get_my_participant": _row(404, 404, 404, 404, 404, 200, 200, 404, 404, 404, 404, 404, 404),
    "update_my_participant": _row(404, 404, 404, 404, 404, 200, 200, 404, 404, 404, 404, 404, 404),
    "list_participants": INSTITUTION_RUN,
    "get_participant": _row(200, 200, 404, 404, 404, 403, 404, 404, 404, 404, 404, 404, 404),
    "update_participant": _row(200, 200, 404, 404, 404, 403, 404, 404, 404, 404, 404, 404, 404),
    "get_public_profile": _row(200, 200, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404),
    "list_memberships": RUN_READ,
    "update_membership": RUN_WRITE,
    "export_data_subject": DATA_SUBJECT,
    "erase_data_subject": _row(201, 201, 404, 201, 403, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_erasure_requests": INSTITUTION_RUN,
    "get_erasure_request": INSTITUTION_RUN,
    "create_training_module": _row(201, 201, 404, 404, 404, 403, 404, 404, 403, 403, 404, 404, 404),
    "list_training_modules": _row(200, 200, 404, 404, 404, 200, 404, 404, 200, 403, 404, 404, 404),
    "get_training_module": _row(200, 200, 404, 404, 404, 200, 404, 404, 200, 403, 404, 404, 404),
    "update_training_module": RUN_WRITE,
    "record_completion": _row(201, 201, 404, 404, 404, 403, 404, 404, 201, 403, 404, 404, 404),
    "list_completions": _row(200, 200, 404, 404, 404, 403, 404, 404, 200, 403, 404, 404, 404),
    "get_completion": _row(200, 200, 404, 404, 404, 403, 404, 404, 200, 403, 404, 404, 404),
    "get_training_stats": RUN_READ,
    "create_roster_import": _row(201, 201, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "list_roster_imports": INSTITUTION_RUN,
    "get_roster_import": INSTITUTION_RUN,
    "list_roster_import_errors": INSTITUTION_RUN,
    # Committed: final for those who may act on it.
    "dry_run_roster_import": _row(409, 409, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    "commit_roster_import": _row(409, 409, 404, 404, 404, 403, 403, 403, 404, 404, 404, 404, 404),
    # Institution B has no LMS settings: its coordinator's statement names a home page it does not have.
    "store_xapi_statements": _row(200, 200, 422, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403),
    "get_xapi_about": _row(*(200,) * 13),
    "record_lms_completion": _row(201, 201, 404, 403, 403, 403, 403, 403, 201, 403, 403, 403, 403),
    "put_xapi_settings": INSTITUTION_RUN,
    "get_xapi_settings": _row(200, 200, 404, 403, 403, 403, 403, 403, 200, 404, 404, 404, 404),
    # Only admins (and clients with scope scim, tested in test_provisioning.py); she has memberships: 409.
    "provision_participant": _row(201, *(403,) * 12),
    "delete_provisioned_participant": _row(409, *(403,) * 12),
    # Only a service client with contacts:read (none of these columns; test_contacts.py has her).
    "get_contact_internal": _row(*(403,) * 13),
}
PUBLIC_OPERATIONS = {"list_calls", "get_call"}
EXPECTED = {
    op: {**dict(zip(_C, row, strict=True)), "anonymous": 200 if op in PUBLIC_OPERATIONS else 401}
    for op, row in _TABLE.items()
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id", "errors", "current_status"}
# The scopes of each client column.
CLIENT_SCOPES = {
    "lms_client": {"training:write"}, "matching_client": {"identity:read", "events:read"}, "scopeless_client": set(),
    "reader": {"institutions:read"}, "events_client": {"events:read"},
}


@cache
def declared() -> dict[str, frozenset[str]]:
    """operationId -> the scopes the route declares for API clients."""
    from services.participants.config import Settings
    from services.participants.main import create_app

    app = create_app(Settings(database_url="sqlite://", log_level="WARNING"))
    return {
        context.original_route.operation_id or context.original_route.name: declared_client_scopes(context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    }


def gated(operation: str, scopes: set[str], code: int) -> int:
    """What a client holding ``scopes`` gets: 403 from the gate unless the route declares one of them
    (public routes authenticate no one: no gate)."""
    return code if operation in PUBLIC_OPERATIONS or declared()[operation] & scopes else 403


def expected(operation: str, role: str) -> int:
    code = EXPECTED[operation][role]
    return gated(operation, CLIENT_SCOPES[role], code) if role in CLIENT_SCOPES else code


def test_the_matrix_covers_every_route_and_role(app: Any) -> None:
    paths = app.openapi()["paths"]
    routed = {op["operationId"] for item in paths.values() for op in item.values()} - {"healthz", "readyz", "metrics"}
    assert routed == set(ENDPOINTS) == set(EXPECTED)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _institutions_in(data: Any) -> set[str]:
    """Every ``institution_id`` anywhere in an answer."""
    if isinstance(data, dict):
        found = {data["institution_id"]} if isinstance(data.get("institution_id"), str) else set()
        return found.union(*(_institutions_in(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_institutions_in(v) for v in data))
    return set()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(ENDPOINTS))
def test_authorization_matrix(operation: str, role: str, matrix_world: MatrixWorld, engine: Engine) -> None:
    method, template, body = ENDPOINTS[operation]
    caller = matrix_world.callers[role]
    ids = matrix_world.ids
    writes = method != "GET"
    before = snapshot(engine) if writes else None

    response = _request(caller, method, _fill(template, ids), body, ids)

    code = expected(operation, role)
    if writes and response.status_code < 400:
        _state["dirty"] = True
    assert response.status_code == code, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert set(response.json()) <= PROBLEM_KEYS, "a refusal carries no records"
        if writes:
            assert snapshot(engine) == before, "a refused request wrote something"
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        return
    if response.status_code == 204:
        return
    assert _institutions_in(response.json()) <= {ids["a"]}, "another institution's data"


@pytest.mark.parametrize("token", ["expired", "forged"])
def test_a_bad_token_opens_nothing(token: str, matrix_world: MatrixWorld, http: TestClient, mint: Mint, impostor_key: Any) -> None:
    from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER
    from servicekit.tokens import access_claims

    if token == "expired":
        caller = Caller(http, mint(sub="admin-1", roles=["admin"], ttl=-3600), token)
    else:
        claims = access_claims(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="admin-1", tenant_id=None, roles=["admin"])
        caller = Caller(http, impostor_key.sign(claims), token)
    for operation, (method, template, body) in ENDPOINTS.items():
        response = _request(caller, method, _fill(template, matrix_world.ids), body, matrix_world.ids)
        assert response.status_code == (200 if operation in PUBLIC_OPERATIONS else 401), operation


def test_lists_show_each_caller_only_what_is_hers(matrix_world: MatrixWorld) -> None:
    c, ids = matrix_world.callers, matrix_world.ids
    mine = c["applicant"].get("/v1/applications", params={"limit": 200}).json()["items"]
    assert {a["applicant_id"] for a in mine} == {"applicant-1"} and len(mine) == 4
    assert c["other_applicant"].get("/v1/applications").json()["items"][0]["applicant_id"] == "applicant-2"
    assert c["coordinator"].get("/v1/applications").json()["items"] == []
    programs_of = {
        role: [p["name"] for p in c[role].get(f"/v1/institutions/{ids['a']}/programs").json()["items"]]
        for role in ("participant", "other_participant", "applicant", "mentee")
    }
    assert programs_of == {"participant": ["Principal"], "other_participant": ["Otro"], "applicant": [], "mentee": []}
    assert len(c["coordinator"].get(f"/v1/institutions/{ids['a']}/programs").json()["items"]) == 6
    identity = c["matching_client"].get(f"/v1/programs/{ids['p']}/matching-identity").json()["items"]
    assert [(i["role"], i["gender_identity"]) for i in identity] == [("mentee", "mujer")]
