"""Campuses: managed by the institution's coordinators, read by its members."""

from typing import Any

from services.participants.tests.conftest import Caller, World, snapshot


def _campuses(world: World) -> str:
    return f"/v1/institutions/{world.a['id']}/campuses"


def test_coordinator_manages_her_institutions_campuses(coordinator: Caller, mentee: Caller, world: World) -> None:
    created = coordinator.post(
        _campuses(world), json={"name": "Ciudad Sahagún", "city": "Tepeapulco", "timezone": "America/Mexico_City"}
    )
    assert created.status_code == 201, created.text
    campus = created.json()
    url = f"{_campuses(world)}/{campus['id']}"
    assert created.headers["location"] == url
    assert campus["institution_id"] == world.a["id"]
    assert campus["timezone"] == "America/Mexico_City"

    assert mentee.get(url).json() == campus
    listed = mentee.get(_campuses(world)).json()
    assert [c["name"] for c in listed["items"]] == ["Campus Norte", "Ciudad Sahagún"]

    patched = coordinator.patch(url, json={"timezone": None, "city": "Sahagún"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["timezone"], patched.json()["city"], patched.json()["name"]) == (None, "Sahagún", "Ciudad Sahagún")

    deleted = coordinator.delete(url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert coordinator.get(url).status_code == 404


def test_campus_names_are_unique_within_an_institution_only(coordinator: Caller, world: World, engine: Any) -> None:
    # The world already has a "Campus Norte" in both institutions.
    assert world.campus_a["name"] == world.campus_b["name"]
    other = coordinator.post(_campuses(world), json={"name": "Campus Sur", "city": "Tula"}).json()
    before = snapshot(engine)

    duplicate = coordinator.post(_campuses(world), json={"name": "Campus Norte", "city": "Otra"})
    renamed = coordinator.patch(f"{_campuses(world)}/{other['id']}", json={"name": "Campus Norte"})

    for response in (duplicate, renamed):
        assert response.status_code == 409, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.name"]
    assert snapshot(engine) == before


def test_a_campus_an_academic_unit_refers_to_cannot_be_deleted(coordinator: Caller, world: World, engine: Any) -> None:
    campus_url = f"{_campuses(world)}/{world.campus_a['id']}"
    unit = coordinator.post(
        f"/v1/institutions/{world.a['id']}/academic-units",
        json={"name": "Matemáticas", "kind": "department", "campus_id": world.campus_a["id"]},
    ).json()
    before = snapshot(engine)

    refused = coordinator.delete(campus_url)

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "referenced by 1 academic unit" in refused.json()["detail"]
    assert snapshot(engine) == before

    assert coordinator.delete(f"/v1/institutions/{world.a['id']}/academic-units/{unit['id']}").status_code == 204
    assert coordinator.delete(campus_url).status_code == 204


def test_campuses_are_listed_page_by_page(coordinator: Caller, world: World) -> None:
    for n in range(4):
        assert coordinator.post(_campuses(world), json={"name": f"Campus {n}", "city": "Pachuca"}).status_code == 201
    first = coordinator.get(_campuses(world), params={"limit": 3}).json()
    second = coordinator.get(_campuses(world), params={"limit": 3, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 3 and first["next_cursor"]
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 5
    assert {c["institution_id"] for c in first["items"] + second["items"]} == {world.a["id"]}


def test_a_tampered_cursor_is_a_400_naming_it(coordinator: Caller, world: World) -> None:
    # garbage, a well-formed cursor holding a number, and one holding a string
    for cursor in ("not-a-cursor!", "MTIz", "ImFiYyI"):
        response = coordinator.get(_campuses(world), params={"cursor": cursor})
        assert response.status_code == 400, (cursor, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]
