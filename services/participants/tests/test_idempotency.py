"""Idempotency-Key on creating POSTs: a retry returns the first result and creates nothing."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.participants.models import AcademicUnit, Campus, Institution, OutboxEvent
from services.participants.tests.conftest import Caller, World, institution_body, snapshot


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_retried_institution_creation_returns_the_first_result(admin: Caller, engine: Engine) -> None:
    key = {"Idempotency-Key": "create-uaq-1"}
    body = institution_body("uaq")

    first = admin.post("/v1/institutions", json=body, headers=key)
    retry = admin.post("/v1/institutions", json=body, headers=key)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(engine, Institution) == 1
    assert _count(engine, OutboxEvent) == 1


@pytest.mark.parametrize(
    ("kind", "model", "body"),
    [
        ("campuses", Campus, {"name": "Campus Sur", "city": "Tula"}),
        ("academic-units", AcademicUnit, {"name": "Física", "kind": "department"}),
    ],
)
def test_a_retried_creation_under_an_institution_returns_the_first_result(
    kind: str, model: Any, body: dict[str, Any], coordinator: Caller, world: World, engine: Engine
) -> None:
    url = f"/v1/institutions/{world.a['id']}/{kind}"
    key = {"Idempotency-Key": f"create-{kind}"}
    count = _count(engine, model)

    first = coordinator.post(url, json=body, headers=key)
    retry = coordinator.post(url, json=body, headers=key)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"] == f"{url}/{first.json()['id']}"
    assert _count(engine, model) == count + 1


def test_a_key_reused_for_another_body_is_refused(admin: Caller, engine: Engine) -> None:
    key = {"Idempotency-Key": "create-once"}
    assert admin.post("/v1/institutions", json=institution_body("first"), headers=key).status_code == 201
    before = snapshot(engine)

    reused = admin.post("/v1/institutions", json=institution_body("second"), headers=key)

    assert reused.status_code == 422
    assert [e["field"] for e in reused.json()["errors"]] == ["header.idempotency-key"]
    assert snapshot(engine) == before


def test_keys_belong_to_the_caller(admin: Caller, coordinator: Caller, world: World, engine: Engine) -> None:
    url = f"/v1/institutions/{world.a['id']}/campuses"
    key = {"Idempotency-Key": "same-key"}
    first = coordinator.post(url, json={"name": "Campus Sur", "city": "Tula"}, headers=key)
    other = admin.post(url, json={"name": "Campus Este", "city": "Tula"}, headers=key)
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]


def test_a_failed_creation_is_not_remembered(admin: Caller, world: World, engine: Engine) -> None:
    key = {"Idempotency-Key": "retry-after-fix"}
    clash = admin.post("/v1/institutions", json=institution_body(world.a["slug"]), headers=key)
    assert clash.status_code == 409
    # The same key with the corrected body now creates.
    fixed = admin.post("/v1/institutions", json=institution_body("uaeh-2"), headers=key)
    assert fixed.status_code == 201, fixed.text


@pytest.mark.parametrize("kind", ["program", "application", "training_module"])
def test_retried_creations_of_programs_applications_and_modules_create_once(
    kind: str, coordinator: Caller, cohort: Any, world: World, engine: Engine
) -> None:
    from services.participants.models import Application, Program, TrainingModule
    from services.participants.tests.conftest import CONSENTS, form, program_body

    if kind == "program":
        caller, url, body, model = coordinator, f"/v1/institutions/{world.a['id']}/programs", program_body(), Program
    elif kind == "application":
        caller, url, model = cohort.person("retrying"), "/v1/applications", Application
        body = {"program_id": cohort.id, "role": "mentee", **form("mentee"), "consents": CONSENTS}
    else:
        caller, url, model = coordinator, f"/v1/programs/{cohort.id}/training-modules", TrainingModule
        body = {"title": "Módulo 1", "kind": "online_module", "expected_minutes": 60}
    count = _count(engine, model)
    key = {"Idempotency-Key": f"create-{kind}"}

    first = caller.post(url, json=body, headers=key)
    retry = caller.post(url, json=body, headers=key)

    assert first.status_code == retry.status_code == 201, first.text
    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert _count(engine, model) == count + 1
