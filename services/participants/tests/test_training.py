"""Training modules, idempotent completions, "trained", and cohort statistics."""

import statistics
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.participants.tests.conftest import Caller, Clock, Cohort, World, events, snapshot

MEXICO = ZoneInfo("America/Mexico_City")


@pytest.fixture
def lms(http: Any, mint: Any, world: World) -> Caller:
    return Caller(http, mint(sub="client-lms", tid=world.a["id"], scope="training:write", client_id="lms"), "lms")


def _module(cohort: Cohort, title: str, required: bool = True, kind: str = "online_module") -> dict[str, Any]:
    created = cohort.coordinator.post(
        f"/v1/programs/{cohort.id}/training-modules",
        json={"title": title, "kind": kind, "expected_minutes": 90, "required": required},
    )
    assert created.status_code == 201, created.text
    return created.json()


def _members(cohort: Cohort, count: int) -> list[dict[str, Any]]:
    found = []
    for n in range(count):
        person = cohort.person(f"member-{n}", ["mentee"])
        cohort.confirmed(person, "mentee", n)
        me = person.get("/v1/participants/me").json()
        cohort.coordinator.patch(f"/v1/participants/{me['id']}", json={"lms_id": f"lms-{n}"})
        found.append(me)
    return found


def _complete(caller: Caller, module: dict[str, Any], when: datetime, **who: Any) -> Any:
    return caller.post(f"/v1/training-modules/{module['id']}/completions", json={**who, "completed_at": when.isoformat()})


def _training_start(cohort: Cohort) -> date:
    program = cohort.coordinator.get(f"/v1/programs/{cohort.id}").json()
    return date.fromisoformat(next(p for p in program["phases"] if p["kind"] == "training")["starts_on"])


def _on_day(start: date, day: int) -> datetime:
    return datetime.combine(start + timedelta(days=day), time(18, 30), tzinfo=MEXICO)


def test_modules_are_managed_by_coordinators_and_read_by_members(cohort: Cohort, lms: Caller) -> None:
    (member,) = _members(cohort, 1)
    module = _module(cohort, "Sesión 1", kind="accompaniment_session")
    assert (module["kind"], module["expected_minutes"], module["required"]) == ("accompaniment_session", 90, True)
    person = cohort.person("member-0")
    assert person.get(f"/v1/training-modules/{module['id']}").json() == module
    assert [m["id"] for m in lms.get(f"/v1/programs/{cohort.id}/training-modules").json()["items"]] == [module["id"]]
    changed = cohort.coordinator.patch(f"/v1/training-modules/{module['id']}", json={"title": "Sesión inicial"})
    assert changed.json()["title"] == "Sesión inicial"
    assert person.patch(f"/v1/training-modules/{module['id']}", json={"title": "X"}).status_code == 403
    # A required module nobody completed: nobody is trained.
    assert cohort.coordinator.get(f"/v1/participants/{member['id']}").json()["memberships"][0]["trained"] is False


def test_a_completion_is_recorded_once_whoever_retries(cohort: Cohort, lms: Caller, clock: Clock, engine: Any) -> None:
    members = _members(cohort, 2)
    module = _module(cohort, "Módulo 1")
    when = clock.now() - timedelta(days=1)

    first = _complete(lms, module, when, lms_id="lms-0", external_id="moodle:1")
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/training-modules/{module['id']}/completions/{first.json()['id']}"
    assert (first.json()["participant_id"], first.json()["recorded_by"], first.json()["trained"]) == (
        members[0]["id"], "client-lms", True
    )  # fmt: skip
    retried = _complete(lms, module, when, lms_id="lms-0", external_id="moodle:1")
    by_coordinator = _complete(cohort.coordinator, module, when + timedelta(hours=1), participant_id=members[0]["id"])
    for again in (retried, by_coordinator):
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
    key = {"Idempotency-Key": "push-7"}
    url, body = f"/v1/training-modules/{module['id']}/completions", {"lms_id": "lms-1", "completed_at": when.isoformat()}
    one, two = lms.post(url, json=body, headers=key), lms.post(url, json=body, headers=key)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert "idempotent-replayed" not in one.headers and two.headers["idempotent-replayed"] == "true"

    before = snapshot(engine)
    other_id = _complete(lms, module, when, lms_id="lms-0", external_id="moodle:2")
    assert other_id.status_code == 409 and [e["field"] for e in other_id.json()["errors"]] == ["body.external_id"]
    stolen_id = _complete(lms, module, when, lms_id="lms-1", external_id="moodle:1")
    assert stolen_id.status_code == 409 and [e["field"] for e in stolen_id.json()["errors"]] == ["body.external_id"]
    stranger = _complete(lms, module, when, lms_id="lms-404")
    assert stranger.status_code == 422 and [e["field"] for e in stranger.json()["errors"]] == ["body.lms_id"]
    future = _complete(lms, module, clock.now() + timedelta(days=1), lms_id="lms-0")
    assert future.status_code == 422 and [e["field"] for e in future.json()["errors"]] == ["body.completed_at"]
    assert snapshot(engine) == before

    assert len(events(engine, "training.completed")) == 2
    listed = cohort.coordinator.get(f"/v1/training-modules/{module['id']}/completions").json()["items"]
    assert sorted(c["participant_id"] for c in listed) == sorted(m["id"] for m in members)


def test_trained_once_every_required_module_is_complete(cohort: Cohort, lms: Caller, clock: Clock) -> None:
    (member,) = _members(cohort, 1)
    required = [_module(cohort, f"Módulo {n}") for n in range(2)]
    optional = _module(cohort, "Lectura", required=False)
    when = clock.now() - timedelta(days=2)

    def membership() -> dict[str, Any]:
        return cohort.coordinator.get(f"/v1/participants/{member['id']}").json()["memberships"][0]

    assert _complete(lms, optional, when, lms_id="lms-0").json()["trained"] is False
    assert _complete(lms, required[0], when, lms_id="lms-0").json()["trained"] is False
    last = _complete(lms, required[1], when + timedelta(hours=3), lms_id="lms-0").json()
    assert last["trained"] is True
    assert (membership()["trained"], membership()["trained_at"]) == (True, last["completed_at"])

    # A new required module un-trains her until she completes it; making it optional trains her again.
    extra = _module(cohort, "Módulo 3")
    assert membership()["trained"] is False
    cohort.coordinator.patch(f"/v1/training-modules/{extra['id']}", json={"required": False})
    assert membership()["trained"] is True
    cohort.coordinator.patch(f"/v1/training-modules/{optional['id']}", json={"required": True})
    assert membership()["trained"] is True  # she had completed it already


def test_cohort_statistics(cohort: Cohort, lms: Caller, clock: Clock) -> None:
    members = _members(cohort, 5)
    modules = [_module(cohort, "Módulo 1"), _module(cohort, "Sesión 1", kind="accompaniment_session"), _module(cohort, "Extra", required=False)]
    start = _training_start(cohort)
    clock.advance(days=120)
    days = [50, 54, 56, 58]  # the fifth member never finishes the second module
    for member_days, n in zip(days, range(4), strict=True):
        _complete(lms, modules[0], _on_day(start, 10), lms_id=f"lms-{n}")
        _complete(cohort.coordinator, modules[1], _on_day(start, member_days), participant_id=members[n]["id"])
    _complete(lms, modules[0], _on_day(start, 12), lms_id="lms-4")
    # A withdrawn member does not count.
    withdrawn = members[4]["memberships"][0]
    stats_url = f"/v1/programs/{cohort.id}/training-stats"
    before_withdrawal = cohort.coordinator.get(stats_url).json()
    assert (before_withdrawal["members"], before_withdrawal["trained"], before_withdrawal["completion_rate"]) == (5, 4, 0.8)

    cohort.coordinator.patch(f"/v1/programs/{cohort.id}/memberships/{withdrawn['id']}", json={"status": "withdrawn"})
    stats = cohort.coordinator.get(stats_url).json()

    q1, _, q3 = statistics.quantiles(days, n=4, method="inclusive")
    assert stats["training_starts_on"] == start.isoformat()
    assert (stats["members"], stats["trained"], stats["completion_rate"], stats["required_modules"]) == (4, 4, 1.0, 2)
    assert stats["days_to_completion"] == {
        "count": 4, "median": 55.0, "q1": q1, "q3": q3, "iqr": q3 - q1, "min": 50, "max": 58
    }  # fmt: skip
    assert [(m["title"], m["completed"], m["completion_rate"]) for m in stats["modules"]] == [
        ("Módulo 1", 4, 1.0), ("Sesión 1", 4, 1.0), ("Extra", 0, 0.0)
    ]  # fmt: skip


def test_statistics_without_a_training_phase_or_members(coordinator: Caller, world: World) -> None:
    program = coordinator.post(
        f"/v1/institutions/{world.a['id']}/programs", json={"name": "Sin fases", "description": "Borrador."}
    ).json()
    stats = coordinator.get(f"/v1/programs/{program['id']}/training-stats").json()
    assert stats == {
        "program_id": program["id"], "training_starts_on": None, "members": 0, "trained": 0,
        "completion_rate": 0.0, "required_modules": 0, "days_to_completion": None, "modules": [],
    }  # fmt: skip
