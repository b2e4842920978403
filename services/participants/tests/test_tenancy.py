"""Tenant isolation beyond the matrix: ids from another institution never resolve."""

from typing import Any

import pytest

from services.participants.tests.conftest import Caller, World, snapshot


def test_a_coordinator_lists_only_her_own_institution(other_coordinator: Caller, world: World) -> None:
    base = f"/v1/institutions/{world.b['id']}"
    assert other_coordinator.get(base).json() == world.b
    assert [c["id"] for c in other_coordinator.get(f"{base}/campuses").json()["items"]] == [world.campus_b["id"]]
    assert [u["id"] for u in other_coordinator.get(f"{base}/academic-units").json()["items"]] == [world.unit_b["id"]]


@pytest.mark.parametrize("caller_name", ["other_coordinator", "admin"])
@pytest.mark.parametrize(
    ("method", "kind", "body"),
    [
        ("GET", "campuses", None),
        ("PATCH", "campuses", {"city": "Robada"}),
        ("DELETE", "campuses", None),
        ("GET", "academic-units", None),
        ("PATCH", "academic-units", {"name": "Robada"}),
        ("DELETE", "academic-units", None),
    ],
)
def test_a_record_of_a_is_not_found_under_bs_path(
    caller_name: str, method: str, kind: str, body: Any, as_role: Any, world: World, engine: Any
) -> None:
    caller = as_role(caller_name)
    record = world.campus_a if kind == "campuses" else world.unit_a
    before = snapshot(engine)

    response = caller.request(method, f"/v1/institutions/{world.b['id']}/{kind}/{record['id']}", json=body)

    assert response.status_code == 404, response.text
    assert snapshot(engine) == before


def test_a_unit_cannot_point_to_another_institutions_campus(
    other_coordinator: Caller, world: World, engine: Any
) -> None:
    units = f"/v1/institutions/{world.b['id']}/academic-units"
    before = snapshot(engine)

    created = other_coordinator.post(units, json={"name": "X", "kind": "school", "campus_id": world.campus_a["id"]})
    moved = other_coordinator.patch(f"{units}/{world.unit_b['id']}", json={"campus_id": world.campus_a["id"]})

    for response in (created, moved):
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.campus_id"]
    assert snapshot(engine) == before


def test_the_institution_comes_from_the_path_never_the_body(coordinator: Caller, world: World, engine: Any) -> None:
    before = snapshot(engine)
    response = coordinator.post(
        f"/v1/institutions/{world.a['id']}/campuses",
        json={"name": "Infiltrado", "city": "X", "institution_id": world.b["id"]},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.institution_id"]
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("roles", "tid_of"),
    [
        (["coordinator"], None),  # no institution in the token
        (["applicant"], "a"),  # not (yet) a member
        ([], "a"),  # no role at all
    ],
)
def test_a_token_without_a_member_role_in_the_institution_sees_nothing(
    roles: list[str], tid_of: str | None, http: Any, mint: Any, world: World
) -> None:
    tid = world.a["id"] if tid_of else None
    caller = Caller(http, mint(sub="someone", tid=tid, roles=roles), "someone")
    base = f"/v1/institutions/{world.a['id']}"
    for url in (base, f"{base}/campuses", f"{base}/campuses/{world.campus_a['id']}", f"{base}/academic-units"):
        assert caller.get(url).status_code == 404, url
    assert caller.post(f"{base}/campuses", json={"name": "X", "city": "Y"}).status_code == 404


def test_a_person_of_another_institution_is_unknown_under_this_one(
    cohort: Any, other_coordinator: Caller, admin: Caller, world: World
) -> None:
    person = cohort.person("ana-a")
    application = cohort.confirmed(person)
    me = person.get("/v1/participants/me").json()
    # The same account id under institution B holds nothing, even for an admin.
    assert admin.get(f"/v1/institutions/{world.b['id']}/data-subjects/ana-a/export").status_code == 404
    assert other_coordinator.get(f"/v1/institutions/{world.a['id']}/data-subjects/ana-a/export").status_code == 404
    for url in (f"/v1/applications/{application['id']}", f"/v1/participants/{me['id']}", f"/v1/programs/{cohort.id}/funnel"):
        assert other_coordinator.get(url).status_code == 404, url
    assert other_coordinator.get(f"/v1/institutions/{world.b['id']}/participants").json()["items"] == []


def test_a_token_naming_the_institution_without_data_sees_no_program(cohort: Any, http: Any, mint: Any, world: World) -> None:
    """Roles alone open nothing: a mentee token without a membership."""
    member_by_role_only = Caller(http, mint(sub="who", tid=world.a["id"], roles=["mentor", "mentee"]), "who")
    assert member_by_role_only.get(f"/v1/programs/{cohort.id}").status_code == 404
    assert member_by_role_only.get(f"/v1/institutions/{world.a['id']}/programs").json()["items"] == []
