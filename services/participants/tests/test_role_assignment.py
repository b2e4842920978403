"""Staff assign the roles (selection): the role an applicant seeks is
a preference; the coordinators fix her role when they accept her, singly or in
bulk, against that role's eligibility rules. Her membership, the funnel, the
program's application list and the events follow the assigned role; a decided
application's role does not change; nobody else may assign one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from servicekit.db import make_engine
from servicekit.migrations import alembic_config
from servicekit.outbox import utcnow
from servicekit.testing import Mint

from services.participants.db import SERVICE_DIR
from services.participants.domain.eligibility import evaluate_rule
from services.participants.eligibility import applicant
from services.participants.models import Application, Institution, Program
from services.participants.tests.conftest import (
    Caller,
    Cohort,
    World,
    events,
    form,
    open_cohort,
    snapshot,
)


def _decide(cohort: Cohort, application_id: str, body: dict[str, Any]) -> Any:
    return cohort.coordinator.post(f"/v1/applications/{application_id}/decision", json=body)


def _reviewed(cohort: Cohort, sub: str, role: str, n: int, **overrides: Any) -> dict[str, Any]:
    application = cohort.submitted(cohort.person(sub), role, n, **overrides)
    cohort.review(application["id"])
    return application


def _override(cohort: Cohort, application_id: str, rule: str, reason: str) -> None:
    response = cohort.coordinator.request(
        "PUT",
        f"/v1/applications/{application_id}/eligibility/overrides/{rule}",
        json={"passed": True, "reason": reason},
    )
    assert response.status_code == 200, response.text


def _members(cohort: Cohort) -> dict[str, str]:
    """application id -> the role of the membership."""
    items = cohort.coordinator.get(f"/v1/programs/{cohort.id}/memberships", params={"limit": 100}).json()["items"]
    return {m["application_id"]: m["role"] for m in items}


def _confirm(cohort: Cohort, sub: str, application_id: str) -> dict[str, Any]:
    invited = cohort.coordinator.post(f"/v1/applications/{application_id}/invitation", json={})
    assert invited.status_code == 200, invited.text
    confirmed = cohort.person(sub).post(f"/v1/applications/{application_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


def test_staff_assign_the_role_when_accepting_and_her_membership_takes_it(cohort: Cohort, engine: Engine) -> None:
    # Ana asked to be a mentee; her funding record makes her a mentor. Bea asked to mentor; she will be
    # a mentee. Carla's decision names no role: she keeps the one she sought.
    ana = _reviewed(cohort, "ana", "mentee", 1, funding_experience=True, has_recognition=True)
    bea = _reviewed(cohort, "bea", "mentor", 2)
    carla = _reviewed(cohort, "carla", "mentee", 3)
    assert {a["assigned_role"] for a in (ana, bea, carla)} == {None}

    as_mentor = _decide(cohort, ana["id"], {"decision": "accepted", "reason": "Dos proyectos financiados", "role": "mentor"})
    assert as_mentor.status_code == 200, as_mentor.text
    assert (as_mentor.json()["role"], as_mentor.json()["assigned_role"]) == ("mentee", "mentor")
    bulk = cohort.coordinator.post(f"/v1/programs/{cohort.id}/decisions", json={"decisions": [
        {"application_id": bea["id"], "decision": "accepted", "reason": "Aún en formación", "role": "mentee"},
        {"application_id": carla["id"], "decision": "accepted", "reason": "Cumple los criterios"},
    ]})  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    assert [(a["role"], a["assigned_role"]) for a in bulk.json()["items"]] == [("mentor", "mentee"), ("mentee", "mentee")]

    decided = {e["payload"]["application_id"]: e["payload"] for e in events(engine, "application.decided")}
    assert {k: (v["role"], v["assigned_role"]) for k, v in decided.items()} == {
        ana["id"]: ("mentee", "mentor"), bea["id"]: ("mentor", "mentee"), carla["id"]: ("mentee", "mentee"),
    }  # fmt: skip

    for sub, application in (("ana", ana), ("bea", bea), ("carla", carla)):
        _confirm(cohort, sub, application["id"])
    assert _members(cohort) == {ana["id"]: "mentor", bea["id"]: "mentee", carla["id"]: "mentee"}
    confirmed = {e["payload"]["application_id"]: e["payload"]["role"] for e in events(engine, "participant.confirmed")}
    assert confirmed == {ana["id"]: "mentor", bea["id"]: "mentee", carla["id"]: "mentee"}
    # She sees the role she was given.
    mine = cohort.person("ana").get(f"/v1/applications/{ana['id']}").json()
    assert (mine["role"], mine["assigned_role"], mine["status"]) == ("mentee", "mentor", "confirmed")


def test_the_funnel_and_the_list_count_by_the_assigned_role_once_assigned(cohort: Cohort) -> None:
    ana = _reviewed(cohort, "ana", "mentee", 1, funding_experience=True, has_recognition=True)
    bea = _reviewed(cohort, "bea", "mentor", 2)
    _reviewed(cohort, "dora", "mentee", 4)

    def by_role() -> dict[str, tuple[int, int]]:
        funnel = cohort.coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()
        return {r["role"]: (r["stages"]["applied"], r["stages"]["accepted"]) for r in funnel["by_role"]}

    def listed(role: str) -> set[str]:
        page = cohort.coordinator.get(f"/v1/programs/{cohort.id}/applications", params={"role": role}).json()
        return {a["id"] for a in page["items"]}

    assert by_role() == {"mentor": (1, 0), "mentee": (2, 0)}  # before any decision: the roles sought
    assert bea["id"] in listed("mentor") and ana["id"] in listed("mentee")
    for application, role in ((ana, "mentor"), (bea, "mentee")):
        response = _decide(cohort, application["id"], {"decision": "accepted", "reason": "Comité", "role": role})
        assert response.status_code == 200, response.text
    assert by_role() == {"mentor": (1, 1), "mentee": (2, 1)}
    assert ana["id"] in listed("mentor") and ana["id"] not in listed("mentee")
    assert bea["id"] in listed("mentee") and bea["id"] not in listed("mentor")


def test_a_mentor_is_judged_by_the_mentor_rules_even_if_she_sought_to_be_a_mentee(cohort: Cohort, engine: Engine) -> None:
    # She applied as a mentee and left the mentors' questions unanswered.
    elena = _reviewed(cohort, "elena", "mentee", 5)
    before = snapshot(engine)
    refused = _decide(cohort, elena["id"], {"decision": "accepted", "reason": "Comité", "role": "mentor"})
    assert refused.status_code == 409, refused.text
    assert "as mentor" in refused.json()["detail"]
    assert sorted(e["field"] for e in refused.json()["errors"]) == ["criteria.funding", "criteria.recognition"]
    assert snapshot(engine) == before
    # Her CV shows both: the coordinator records why, and may then accept her as a mentor.
    _override(cohort, elena["id"], "funding", "Su CV muestra dos convocatorias ganadas")
    _override(cohort, elena["id"], "recognition", "Miembro del SNII nivel I")
    accepted = _decide(cohort, elena["id"], {"decision": "accepted", "reason": "Comité", "role": "mentor"})
    assert accepted.status_code == 200 and accepted.json()["assigned_role"] == "mentor"
    rules = {r["rule_id"]: r for r in cohort.coordinator.get(f"/v1/applications/{elena['id']}/eligibility").json()["rules"]}
    assert rules["funding"]["final"] == "passed" and rules["funding"]["outcome"] == "failed"


def test_the_rule_of_another_role_says_which_role_she_is_judged_for() -> None:
    sought = applicant(Application(role="mentee", status="submitted", applicant_id="x", **form("mentee")))
    rule = {"id": "funding", "field": "funding_experience", "op": "is_true", "roles": ["mentor"], "description": "d"}
    assert evaluate_rule(rule, sought) == ("not_applicable", "Applies to mentor applicants; this one seeks mentee")
    assert evaluate_rule(rule, sought, "mentor") == ("failed", "funding_experience is not answered")
    row = Application(role="mentor", assigned_role="mentee", status="accepted", applicant_id="y", **form("mentor"))
    assigned = applicant(row)
    assert evaluate_rule(rule, assigned) == ("not_applicable", "Applies to mentor applicants; this one was assigned mentee")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "waitlisted", "reason": "Cupo", "role": "mentor"}, "body.role"),
        ({"decision": "rejected", "reason": "No", "role": "mentee"}, "body.role"),
        ({"decision": "accepted", "reason": "Sí", "role": "chair"}, "body.role"),
        ({"decision": "accepted", "reason": "Sí", "role": "peer_mentor"}, "body.role"),  # not offered one to one
    ],
)
def test_a_bad_role_is_a_422_naming_the_field_and_writes_nothing(
    body: dict[str, Any], field: str, cohort: Cohort, engine: Engine
) -> None:
    application = _reviewed(cohort, "fer", "mentee", 6)
    before = snapshot(engine)
    refused = _decide(cohort, application["id"], body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert snapshot(engine) == before


def test_bulk_role_errors_name_each_decision_and_nothing_is_decided(cohort: Cohort, engine: Engine) -> None:
    ready = [_reviewed(cohort, f"g{n}", "mentee", 10 + n) for n in range(3)]
    url = f"/v1/programs/{cohort.id}/decisions"
    before = snapshot(engine)
    not_offered = cohort.coordinator.post(url, json={"decisions": [
        {"application_id": ready[0]["id"], "decision": "accepted", "reason": "Sí", "role": "mentee"},
        {"application_id": ready[1]["id"], "decision": "accepted", "reason": "Sí", "role": "peer_mentor"},
        {"application_id": ready[2]["id"], "decision": "accepted", "reason": "Sí", "role": "peer_mentor"},
    ]})  # fmt: skip
    assert not_offered.status_code == 422
    assert [e["field"] for e in not_offered.json()["errors"]] == ["body.decisions.1.role", "body.decisions.2.role"]
    waitlisted = cohort.coordinator.post(url, json={"decisions": [
        {"application_id": ready[0]["id"], "decision": "waitlisted", "reason": "Cupo", "role": "mentor"},
    ]})  # fmt: skip
    assert waitlisted.status_code == 422 and [e["field"] for e in waitlisted.json()["errors"]] == ["body.decisions.0.role"]
    # Accepting a mentee applicant as a mentor without the mentor rules passing: a 409 for that index.
    mixed = cohort.coordinator.post(url, json={"decisions": [
        {"application_id": ready[0]["id"], "decision": "accepted", "reason": "Sí", "role": "mentee"},
        {"application_id": ready[1]["id"], "decision": "accepted", "reason": "Sí", "role": "mentor"},
    ]})  # fmt: skip
    assert mixed.status_code == 409 and [e["field"] for e in mixed.json()["errors"]] == ["body.decisions.1.decision"]
    assert snapshot(engine) == before


def test_a_decided_role_does_not_change(cohort: Cohort, engine: Engine) -> None:
    application = _reviewed(cohort, "hilda", "mentor", 7)
    assert _decide(cohort, application["id"], {"decision": "accepted", "reason": "Sí", "role": "mentee"}).status_code == 200
    before = snapshot(engine)
    for body in (
        {"decision": "accepted", "reason": "Mejor mentora", "role": "mentor"},
        {"decision": "accepted", "reason": "Otra vez"},
    ):
        again = _decide(cohort, application["id"], body)
        assert again.status_code == 409, again.text
    bulk = cohort.coordinator.post(f"/v1/programs/{cohort.id}/decisions", json={"decisions": [
        {"application_id": application["id"], "decision": "accepted", "reason": "Mejor mentora", "role": "mentor"},
    ]})  # fmt: skip
    assert bulk.status_code == 409 and [e["field"] for e in bulk.json()["errors"]] == ["body.decisions.0.decision"]
    assert snapshot(engine) == before
    shown = cohort.coordinator.get(f"/v1/applications/{application['id']}").json()
    assert (shown["role"], shown["assigned_role"]) == ("mentor", "mentee")


def test_waitlisted_then_accepted_with_a_role(cohort: Cohort) -> None:
    application = _reviewed(cohort, "irene", "mentor", 8)
    waitlisted = _decide(cohort, application["id"], {"decision": "waitlisted", "reason": "Cupo lleno"})
    assert waitlisted.status_code == 200 and waitlisted.json()["assigned_role"] is None
    accepted = _decide(cohort, application["id"], {"decision": "accepted", "reason": "Se liberó un lugar", "role": "mentee"})
    assert accepted.status_code == 200 and accepted.json()["assigned_role"] == "mentee"


# ---------------------------------------------------------------------------
# Who may assign a role


@pytest.fixture
def candidate(cohort: Cohort) -> dict[str, Any]:
    return _reviewed(cohort, "julia", "mentee", 9, funding_experience=True, has_recognition=True)


def _callers(http: TestClient, mint: Mint, world: World, impostor_key: Any, cohort: Cohort) -> dict[str, Caller]:
    from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER
    from servicekit.tokens import access_claims

    forged = access_claims(
        issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="coord-a", tenant_id=world.a["id"], roles=["coordinator"]
    )
    return {
        "other_coordinator": Caller(http, mint(sub="coord-b", tid=world.b["id"], roles=["coordinator"]), "other"),
        "applicant": cohort.person("julia"),
        "mentee": Caller(http, mint(sub="mentee-a", tid=world.a["id"], roles=["mentee"]), "mentee"),
        "scopeless_client": Caller(http, mint(sub="client-lms", tid=world.a["id"], client_id="lms"), "client"),
        "expired": Caller(
            http, mint(sub="coord-a", tid=world.a["id"], roles=["coordinator"], ttl=-3600), "expired"
        ),
        "forged": Caller(http, impostor_key.sign(forged), "forged"),
        "anonymous": Caller(http, None, "anonymous"),
    }


REFUSED = {
    "other_coordinator": 404,  # another institution's: the application does not exist for her
    "applicant": 403,  # her own application: she sees it but may not decide it
    "mentee": 404,
    "scopeless_client": 403,  # the client gate: no client scope is declared for deciding (servicekit.auth)
    "expired": 401,
    "forged": 401,
    "anonymous": 401,
}


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_only_the_institutions_coordinators_assign_roles(
    who: str,
    candidate: dict[str, Any],
    cohort: Cohort,
    http: TestClient,
    mint: Mint,
    world: World,
    impostor_key: Any,
    engine: Engine,
) -> None:
    caller = _callers(http, mint, world, impostor_key, cohort)[who]
    body = {"decision": "accepted", "reason": "Quiero ser mentora", "role": "mentor"}
    before = snapshot(engine)
    single = caller.post(f"/v1/applications/{candidate['id']}/decision", json=body)
    bulk = caller.post(
        f"/v1/programs/{cohort.id}/decisions", json={"decisions": [{"application_id": candidate["id"], **body}]}
    )
    # she cannot see the program's selection at all; a client is refused by the gate before
    expected_bulk = 404 if REFUSED[who] == 403 and who != "scopeless_client" else REFUSED[who]
    assert (single.status_code, bulk.status_code) == (REFUSED[who], expected_bulk), (single.text, bulk.text)
    for response in (single, bulk):
        assert response.headers["content-type"] == "application/problem+json"
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(engine) == before


def test_an_id_of_another_institution_in_the_bulk_body_is_unknown(
    cohort: Cohort, coordinator: Caller, http: TestClient, mint: Mint, world: World, engine: Engine
) -> None:
    other_coordinator = Caller(http, mint(sub="coord-b", tid=world.b["id"], roles=["coordinator"]), "other")
    theirs = open_cohort(other_coordinator, http, mint, world.b["id"])
    foreign = theirs.submitted(theirs.person("kim"), "mentee", 20)
    theirs.review(foreign["id"])
    before = snapshot(engine)
    refused = coordinator.post(f"/v1/programs/{cohort.id}/decisions", json={"decisions": [
        {"application_id": foreign["id"], "decision": "accepted", "reason": "Sí", "role": "mentor"},
    ]})  # fmt: skip
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["body.decisions.0.application_id"]
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------
# The migration


def test_applications_accepted_before_the_migration_keep_the_role_they_sought(database_factory: Any) -> None:
    url = database_factory.new("participants_assigned_role")
    config = alembic_config(SERVICE_DIR, url)
    command.upgrade(config, "roster0001")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    now = utcnow()
    iid, pid = uuid.uuid4(), uuid.uuid4()
    decided = {uuid.uuid4(): ("mentor", "confirmed", "accepted"), uuid.uuid4(): ("mentee", "invited", "accepted"),
               uuid.uuid4(): ("mentee", "rejected", "rejected"), uuid.uuid4(): ("mentee", "submitted", None)}  # fmt: skip
    try:
        with engine.begin() as conn:
            conn.execute(insert(Institution.__table__).values(  # type: ignore[attr-defined]
                id=iid, name="UJAT", slug=f"ujat-{iid.hex[:8]}", country="MX", timezone="America/Mexico_City",
                default_languages=["es"], created_at=now, updated_at=now))
            conn.execute(insert(Program.__table__).values(  # type: ignore[attr-defined]
                id=pid, institution_id=iid, name="P", description="D", languages=["es"], mode="one_to_one",
                delivery="hybrid", max_mentees_per_mentor=1, meetings_count=12, meeting_cadence="weekly",
                feedback_deadline_hours=48, confirmation_days=7, status="selection", status_changed_at=now,
                criteria=[], created_at=now, updated_at=now))  # fmt: skip
            for n, (aid, (role, status, decision)) in enumerate(decided.items()):
                values = {"id": aid, "institution_id": iid, "program_id": pid, "applicant_id": f"a{n}", "role": role,
                          "status": status, "decision": decision, "evidence": [], "created_at": now, "updated_at": now}  # fmt: skip
                conn.execute(insert(Application.__table__).values(values))  # type: ignore[attr-defined]
        engine.dispose()

        command.upgrade(config, "heads")
        with engine.connect() as conn:
            found = dict(conn.execute(text("SELECT id, assigned_role FROM applications")).all())
        found = {uuid.UUID(str(k)): v for k, v in found.items()}
        assert found == {aid: (role if decision == "accepted" else None) for aid, (role, _, decision) in decided.items()}
        with engine.begin() as conn, pytest.raises(IntegrityError):  # the CHECK holds
            conn.execute(text("UPDATE applications SET assigned_role = 'chair'"))
        engine.dispose()

        command.downgrade(config, "roster0001")
        assert "assigned_role" not in {c["name"] for c in inspect(engine).get_columns("applications")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM applications")).scalar_one() == 4
        engine.dispose()
        command.upgrade(config, "heads")
    finally:
        engine.dispose()
