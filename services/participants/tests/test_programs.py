"""Programs: settings, dated phases, criteria, privacy notice, the status machine and the public call."""

from datetime import date, timedelta
from typing import Any

import pytest

from services.participants.tests.conftest import (
    MEXICO_CRITERIA,
    PRIVACY_NOTICE,
    Caller,
    Cohort,
    World,
    events,
    phases,
    program_body,
    snapshot,
)

STATUSES = ["draft", "call_open", "selection", "training", "matching", "mentoring", "evaluation", "closed"]


def _programs(world: World) -> str:
    return f"/v1/institutions/{world.a['id']}/programs"


def test_a_coordinator_creates_a_program_as_a_draft(coordinator: Caller, world: World) -> None:
    created = coordinator.post(_programs(world), json=program_body(max_mentees_per_mentor=2))

    assert created.status_code == 201, created.text
    program = created.json()
    assert created.headers["location"] == f"/v1/programs/{program['id']}"
    assert program["status"] == "draft" and program["institution_id"] == world.a["id"]
    assert (program["meetings_count"], program["meeting_cadence"], program["feedback_deadline_hours"]) == (12, "weekly", 48)
    assert program["max_mentees_per_mentor"] == 2 and program["roles"] == ["mentor", "mentee"]
    assert [p["kind"] for p in program["phases"]] == ["call", "selection", "training", "matching", "mentoring", "evaluation"]
    assert program["privacy_notice"] == PRIVACY_NOTICE
    rules = {r["id"]: r["expression"] for r in program["criteria"]}
    assert rules["funding"] == "for mentor: funding_experience is true"
    assert rules["university_member"].startswith("affiliation in [full_time_faculty, part_time_faculty")
    assert rules["expectations"] == "expectations is reviewed by a coordinator"
    call_ends = date.fromisoformat(program["phases"][0]["ends_on"])
    # The end of the call's last day in Mexico City (UTC-6), in UTC.
    assert program["applications_close_at"] == f"{(call_ends + timedelta(days=1)).isoformat()}T06:00:00Z"
    assert coordinator.get(f"/v1/programs/{program['id']}").json() == program


def test_peer_programs_take_peer_mentors(coordinator: Caller, world: World) -> None:
    program = coordinator.post(_programs(world), json=program_body(mode="peer")).json()
    assert program["roles"] == ["peer_mentor", "mentee"]


def test_phases_given_in_any_order_are_stored_in_order(coordinator: Caller, world: World) -> None:
    shuffled = list(reversed(phases(date(2027, 1, 10))))
    program = coordinator.post(_programs(world), json=program_body(phases=shuffled)).json()
    assert [p["kind"] for p in program["phases"]] == ["call", "selection", "training", "matching", "mentoring", "evaluation"]


@pytest.mark.parametrize(
    ("phases_given", "message"),
    [
        ([{"kind": "call", "starts_on": "2027-02-10", "ends_on": "2027-02-01"}], "cannot end before it starts"),
        (
            [
                {"kind": "call", "starts_on": "2027-02-01", "ends_on": "2027-02-28"},
                {"kind": "selection", "starts_on": "2027-02-28", "ends_on": "2027-03-10"},
            ],
            "must start after phase call ends",
        ),
        (
            [
                {"kind": "training", "starts_on": "2027-01-01", "ends_on": "2027-01-31"},
                {"kind": "call", "starts_on": "2027-02-01", "ends_on": "2027-02-28"},
            ],
            "must start after phase call ends",
        ),
        (
            [
                {"kind": "call", "starts_on": "2027-02-01", "ends_on": "2027-02-10"},
                {"kind": "call", "starts_on": "2027-03-01", "ends_on": "2027-03-10"},
            ],
            "only once",
        ),
    ],
)
def test_phases_are_ordered_and_do_not_overlap(
    phases_given: list[dict[str, str]], message: str, coordinator: Caller, world: World, engine: Any
) -> None:
    before = snapshot(engine)
    response = coordinator.post(_programs(world), json=program_body(phases=phases_given))
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith("body.phases") and message in e["message"] for e in response.json()["errors"])
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"id": "x", "field": "stem_field", "op": "is_true", "description": "d"}, "op"),
        ({"id": "x", "field": "stem_field", "op": "in", "value": ["astrology"], "description": "d"}, "value"),
        ({"id": "x", "field": "stem_field", "op": "in", "value": [], "description": "d"}, "value"),
        ({"id": "x", "field": "stem_field", "op": "in", "value": [{}], "description": "d"}, "value"),
        ({"id": "x", "field": "stem_field", "op": "equals", "value": ["biology"], "description": "d"}, "value"),
        ({"id": "x", "field": "years_of_experience", "op": "gte", "value": 2.5, "description": "d"}, "value"),
        ({"id": "x", "field": "willing_to_train", "op": "is_true", "value": True, "description": "d"}, "value"),
        ({"id": "x", "field": "years_of_experience", "op": "gte", "value": "five", "description": "d"}, "value"),
        ({"id": "x", "field": "expectations", "op": "equals", "value": "a", "description": "d"}, "op"),
        ({"id": "x", "field": "salary", "op": "gte", "value": 1, "description": "d"}, "field"),
        ({"id": "X y", "field": "role", "op": "equals", "value": "mentor", "description": "d"}, "id"),
        ({"id": "x", "field": "role", "op": "equals", "value": "mentor", "roles": ["boss"], "description": "d"}, "roles.0"),
    ],
)
def test_malformed_rules_are_refused_naming_the_part(
    rule: dict[str, Any], field: str, coordinator: Caller, world: World, engine: Any
) -> None:
    before = snapshot(engine)
    response = coordinator.post(_programs(world), json=program_body(criteria=[rule]))
    assert response.status_code == 422, response.text
    assert f"body.criteria.0.{field}" in [e["field"] for e in response.json()["errors"]]
    assert snapshot(engine) == before


def test_rule_ids_are_unique(coordinator: Caller, world: World) -> None:
    response = coordinator.post(_programs(world), json=program_body(criteria=[MEXICO_CRITERIA[0], MEXICO_CRITERIA[0]]))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.criteria"]


def test_the_status_moves_forward_one_step_at_a_time(coordinator: Caller, world: World, engine: Any) -> None:
    program = coordinator.post(_programs(world), json=program_body()).json()
    for before, after in zip(STATUSES, STATUSES[1:], strict=False):
        moved = coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": after})
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == after
    changes = [(e["payload"]["from"], e["payload"]["to"]) for e in events(engine, "program.status_changed")]
    assert changes == list(zip(STATUSES, STATUSES[1:], strict=False))
    assert {e["subject"] for e in events(engine, "program.status_changed")} == {program["id"]}


def _program_in(coordinator: Caller, world: World, status: str) -> dict[str, Any]:
    program = coordinator.post(_programs(world), json=program_body()).json()
    for step in STATUSES[1 : STATUSES.index(status) + 1]:
        program = coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": step}).json()
    assert program["status"] == status
    return program


@pytest.mark.parametrize("current", STATUSES)
def test_every_other_move_is_a_409_that_says_why(current: str, coordinator: Caller, world: World, engine: Any) -> None:
    program = _program_in(coordinator, world, current)
    allowed = STATUSES[STATUSES.index(current) + 1] if current != "closed" else None
    before = snapshot(engine)
    for target in STATUSES:
        if target == allowed:
            continue
        refused = coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": target})
        assert refused.status_code == 409, (current, target)
        detail = refused.json()["detail"]
        assert current in detail, detail
        if current == "closed":
            assert "closed" in detail
        elif target == current:
            assert "already" in detail
        else:
            assert f"can only move to {allowed}" in detail
    assert snapshot(engine) == before


def test_the_call_opens_only_with_a_notice_and_a_call_phase_not_over(coordinator: Caller, world: World, engine: Any) -> None:
    bare = program_body(phases=[], privacy_notice=None)
    program = coordinator.post(_programs(world), json=bare).json()
    before = snapshot(engine)
    refused = coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": "call_open"})
    assert refused.status_code == 409
    assert {e["field"] for e in refused.json()["errors"]} == {"privacy_notice", "phases"}
    past = [{"kind": "call", "starts_on": "2020-01-01", "ends_on": "2020-01-31"}]
    coordinator.patch(f"/v1/programs/{program['id']}", json={"phases": past, "privacy_notice": PRIVACY_NOTICE})
    ended = coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": "call_open"})
    assert ended.status_code == 409 and "ended" in ended.json()["detail"]
    assert len(events(engine, "program.status_changed")) == 0
    assert snapshot(engine)["programs"] != before["programs"]  # the PATCH did apply


def test_what_may_change_depends_on_the_status(cohort: Cohort, engine: Any) -> None:
    url = f"/v1/programs/{cohort.id}"
    before = snapshot(engine)
    mode = cohort.coordinator.patch(url, json={"mode": "peer"})
    assert mode.status_code == 409 and [e["field"] for e in mode.json()["errors"]] == ["body.mode"]
    no_call = cohort.coordinator.patch(url, json={"phases": phases(date.today())[1:]})
    assert no_call.status_code == 409 and [e["field"] for e in no_call.json()["errors"]] == ["body.phases"]
    same_version = cohort.coordinator.patch(url, json={"privacy_notice": {**PRIVACY_NOTICE, "text": "Otro texto."}})
    assert same_version.status_code == 422
    assert [e["field"] for e in same_version.json()["errors"]] == ["body.privacy_notice.version"]
    assert snapshot(engine) == before

    changed = cohort.coordinator.patch(
        url, json={"privacy_notice": {"version": "2026-2", "text": "Otro texto."}, "criteria": MEXICO_CRITERIA[:2]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["privacy_notice"]["version"] == "2026-2" and len(changed.json()["criteria"]) == 2
    for step in ("selection", "training"):
        cohort.move(step)
    late = cohort.coordinator.patch(url, json={"criteria": []})
    assert late.status_code == 409 and [e["field"] for e in late.json()["errors"]] == ["body.criteria"]
    assert cohort.coordinator.patch(url, json={"meetings_count": 10}).json()["meetings_count"] == 10


def test_the_call_is_public_once_it_leaves_draft(coordinator: Caller, anonymous: Caller, world: World) -> None:
    program = coordinator.post(_programs(world), json=program_body()).json()
    assert anonymous.get(f"/v1/calls/{program['id']}").status_code == 404
    assert anonymous.get("/v1/calls").json()["items"] == []

    coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": "call_open"})
    call = anonymous.get(f"/v1/calls/{program['id']}")

    assert call.status_code == 200
    shown = call.json()
    assert shown["accepting_applications"] is True
    assert shown["institution_name"] == world.a["name"]
    assert shown["privacy_notice"] == PRIVACY_NOTICE
    assert [r["id"] for r in shown["criteria"]] == [r["id"] for r in MEXICO_CRITERIA]
    assert shown["applications_close_at"] == program["applications_close_at"]
    assert {"status", "max_mentees_per_mentor", "feedback_deadline_hours"}.isdisjoint(shown)
    assert [c["program_id"] for c in anonymous.get("/v1/calls", params={"institution_id": world.a["id"]}).json()["items"]] == [
        program["id"]
    ]
    assert anonymous.get("/v1/calls", params={"institution_id": world.b["id"]}).json()["items"] == []

    coordinator.post(f"/v1/programs/{program['id']}/transitions", json={"to": "selection"})
    closed = anonymous.get(f"/v1/calls/{program['id']}").json()
    assert closed["accepting_applications"] is False
    assert anonymous.get("/v1/calls").json()["items"] == []


def test_the_call_stops_accepting_after_its_last_day(cohort: Cohort, anonymous: Caller, clock: Any) -> None:
    clock.advance(days=16)
    assert anonymous.get(f"/v1/calls/{cohort.id}").json()["accepting_applications"] is False
    refused = cohort.person("late-1").post("/v1/applications", json={"program_id": cohort.id, "role": "mentee"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]


def test_programs_are_listed_page_by_page_and_by_status(coordinator: Caller, world: World) -> None:
    for n in range(3):
        coordinator.post(_programs(world), json=program_body(name=f"Cohorte {n}"))
    first = coordinator.get(_programs(world), params={"limit": 2}).json()
    second = coordinator.get(_programs(world), params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [len(first["items"]), len(second["items"]), second["next_cursor"]] == [2, 1, None]
    assert coordinator.get(_programs(world), params={"status": "call_open"}).json()["items"] == []
