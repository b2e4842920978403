"""Bad input: a 422 problem naming the field, and nothing written."""

from typing import Any

import pytest

from services.participants.tests.conftest import World, institution_body, snapshot

INSTITUTIONS = "/v1/institutions"
INSTITUTION = "/v1/institutions/{a}"
CAMPUSES = "/v1/institutions/{a}/campuses"
CAMPUS = "/v1/institutions/{a}/campuses/{campus_a}"
UNITS = "/v1/institutions/{a}/academic-units"
UNIT = "/v1/institutions/{a}/academic-units/{unit_a}"

_no_name = institution_body("sin-nombre")
del _no_name["name"]

# (caller, method, path, body, field named in the problem)
CASES: list[tuple[str, str, str, Any, str]] = [
    ("admin", "POST", INSTITUTIONS, _no_name, "body.name"),
    ("admin", "POST", INSTITUTIONS, institution_body("padded", name=" Padded "), "body.name"),
    ("admin", "POST", INSTITUTIONS, institution_body("nul", name="Uni\x00versidad"), "body.name"),
    ("admin", "POST", INSTITUTIONS, institution_body("x" * 64), "body.slug"),
    ("admin", "POST", INSTITUTIONS, institution_body("Bad Slug"), "body.slug"),
    ("admin", "POST", INSTITUTIONS, institution_body("zz-country", country="ZZ"), "body.country"),
    ("admin", "POST", INSTITUTIONS, institution_body("lower-country", country="mx"), "body.country"),
    ("admin", "POST", INSTITUTIONS, institution_body("mars", timezone="Mars/Olympus_Mons"), "body.timezone"),
    ("admin", "POST", INSTITUTIONS, institution_body("no-langs", default_languages=[]), "body.default_languages"),
    ("admin", "POST", INSTITUTIONS, institution_body("twice", default_languages=["es", "es"]), "body.default_languages"),
    ("admin", "POST", INSTITUTIONS, institution_body("spanish", default_languages=["spanish"]), "body.default_languages.0"),
    ("admin", "POST", INSTITUTIONS, {**institution_body("extra"), "owner": "me"}, "body.owner"),
    ("admin", "POST", INSTITUTIONS, ["not", "an", "object"], "body"),
    ("admin", "PATCH", INSTITUTION, {}, "body"),
    ("admin", "PATCH", INSTITUTION, {"name": None}, "body.name"),
    ("admin", "PATCH", INSTITUTION, {"id": "01a20255-0000-7000-8000-000000000000"}, "body.id"),
    ("admin", "PATCH", INSTITUTION, {"timezone": "Europe/Atlantis"}, "body.timezone"),
    ("coordinator", "POST", CAMPUSES, {"name": "Campus Sur"}, "body.city"),
    ("coordinator", "POST", CAMPUSES, {"name": "Campus Sur", "city": "Tula", "timezone": "Nowhere"}, "body.timezone"),
    ("coordinator", "POST", CAMPUSES, {"name": "", "city": "Tula"}, "body.name"),
    ("coordinator", "PATCH", CAMPUS, {}, "body"),
    ("coordinator", "PATCH", CAMPUS, {"city": None}, "body.city"),
    ("coordinator", "POST", UNITS, {"name": "Física", "kind": "institute"}, "body.kind"),
    ("coordinator", "POST", UNITS, {"name": "Física", "kind": "school", "campus_id": "not-a-uuid"}, "body.campus_id"),
    ("coordinator", "POST", UNITS, {"name": "Física", "kind": "school", "code": "has space"}, "body.code"),
    ("coordinator", "POST", UNITS, {"name": "Física", "kind": "school", "campus_id": "{campus_b}"}, "body.campus_id"),
    ("coordinator", "PATCH", UNIT, {"kind": None}, "body.kind"),
    ("coordinator", "PATCH", UNIT, {"campus_id": "{campus_b}"}, "body.campus_id"),
    ("coordinator", "GET", CAMPUSES + "?limit=0", None, "query.limit"),
    ("coordinator", "GET", UNITS + "?limit=201", None, "query.limit"),
    ("coordinator", "GET", "/v1/institutions/not-a-uuid/campuses", None, "path.institution_id"),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if value.startswith("{") or "{a}" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("caller_name", "method", "path", "body", "field"), CASES)
def test_bad_input_names_the_field_and_writes_nothing(
    caller_name: str, method: str, path: str, body: Any, field: str, as_role: Any, world: World, engine: Any
) -> None:
    ids = {"a": world.a["id"], "campus_a": world.campus_a["id"], "campus_b": world.campus_b["id"], "unit_a": world.unit_a["id"]}
    before = snapshot(engine)

    response = as_role(caller_name).request(method, _fill(path, ids), json=_fill(body, ids))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    # an id of another institution's record is an unknown reference (servicekit.references); the rest is invalid input
    expected = "unknown-reference" if "{campus_b}" in str(body) else "validation-error"
    assert problem["type"] == f"urn:aliada:problem:{expected}"
    assert field in [e["field"] for e in problem["errors"]], problem
    assert field in problem["detail"]
    assert snapshot(engine) == before


def test_a_body_that_is_not_json_is_a_400(admin: Any, engine: Any) -> None:
    before = snapshot(engine)
    response = admin.post("/v1/institutions", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert snapshot(engine) == before

