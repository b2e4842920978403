"""Academic units: faculties, schools, departments and programs of one institution."""

from typing import Any

from services.participants.tests.conftest import Caller, World, snapshot


def _units(world: World) -> str:
    return f"/v1/institutions/{world.a['id']}/academic-units"


def test_coordinator_manages_academic_units(coordinator: Caller, mentee: Caller, world: World) -> None:
    created = coordinator.post(
        _units(world),
        json={"name": "Ingeniería en Computación", "kind": "program", "campus_id": world.campus_a["id"], "code": "IC-01"},
    )
    assert created.status_code == 201, created.text
    unit = created.json()
    url = f"{_units(world)}/{unit['id']}"
    assert created.headers["location"] == url
    assert (unit["institution_id"], unit["campus_id"], unit["kind"], unit["code"]) == (
        world.a["id"],
        world.campus_a["id"],
        "program",
        "IC-01",
    )
    assert mentee.get(url).json() == unit
    assert [u["id"] for u in mentee.get(_units(world)).json()["items"]] == [world.unit_a["id"], unit["id"]]

    patched = coordinator.patch(url, json={"campus_id": None, "code": "IC-01", "kind": "department"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["campus_id"], patched.json()["code"], patched.json()["kind"]) == (None, "IC-01", "department")

    assert coordinator.delete(url).status_code == 204
    assert coordinator.get(url).status_code == 404


def test_unit_codes_are_unique_within_an_institution_only(coordinator: Caller, world: World, engine: Any) -> None:
    # Both institutions of the world already have a unit coded "ING".
    assert world.unit_a["code"] == world.unit_b["code"] == "ING"
    other = coordinator.post(_units(world), json={"name": "Química", "kind": "school", "code": "QUI"}).json()
    before = snapshot(engine)

    duplicate = coordinator.post(_units(world), json={"name": "Otra", "kind": "school", "code": "ING"})
    recoded = coordinator.patch(f"{_units(world)}/{other['id']}", json={"code": "ING"})

    for response in (duplicate, recoded):
        assert response.status_code == 409, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.code"]
    assert snapshot(engine) == before


def test_units_without_a_code_do_not_clash(coordinator: Caller, world: World) -> None:
    for name in ("Biología", "Física"):
        assert coordinator.post(_units(world), json={"name": name, "kind": "department"}).status_code == 201
