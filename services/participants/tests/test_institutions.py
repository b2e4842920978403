"""Institutions: created, read, listed and changed by admins."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.participants.tests.conftest import Caller, World, institution_body, snapshot


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def test_admin_creates_an_institution(admin: Caller) -> None:
    response = admin.post("/v1/institutions", json=institution_body("unam", name="UNAM"))

    assert response.status_code == 201, response.text
    created = response.json()
    assert uuid.UUID(created["id"]).version == 7
    assert response.headers["location"] == f"/v1/institutions/{created['id']}"
    assert {k: created[k] for k in ("name", "slug", "country", "timezone", "default_languages")} == {
        "name": "UNAM",
        "slug": "unam",
        "country": "MX",
        "timezone": "America/Mexico_City",
        "default_languages": ["es", "en"],
    }
    assert _utc(created["created_at"]) == _utc(created["updated_at"])
    assert admin.get(response.headers["location"]).json() == created


def test_default_languages_default_to_spanish_and_english(admin: Caller) -> None:
    body = institution_body("itesm")
    del body["default_languages"]
    assert admin.post("/v1/institutions", json=body).json()["default_languages"] == ["es", "en"]


def test_admin_updates_only_the_fields_sent(admin: Caller, world: World) -> None:
    url = f"/v1/institutions/{world.a['id']}"

    response = admin.patch(url, json={"name": "Universidad Autónoma", "default_languages": ["es"]})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Universidad Autónoma"
    assert updated["default_languages"] == ["es"]
    unchanged = ("id", "slug", "country", "timezone", "created_at")
    assert {k: updated[k] for k in unchanged} == {k: world.a[k] for k in unchanged}
    assert _utc(updated["updated_at"]) > _utc(world.a["updated_at"])
    assert admin.get(url).json() == updated


def test_keeping_its_own_slug_is_not_a_clash(admin: Caller, world: World) -> None:
    response = admin.patch(f"/v1/institutions/{world.a['id']}", json={"slug": world.a["slug"], "country": "PE"})
    assert response.status_code == 200, response.text
    assert response.json()["country"] == "PE"


def test_a_taken_slug_is_a_conflict_naming_the_field(admin: Caller, world: World, engine: Any) -> None:
    before = snapshot(engine)

    created = admin.post("/v1/institutions", json=institution_body(world.a["slug"]))
    renamed = admin.patch(f"/v1/institutions/{world.b['id']}", json={"slug": world.a["slug"]})

    for response in (created, renamed):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["body.slug"]
    assert snapshot(engine) == before


def test_an_unknown_institution_is_not_found(admin: Caller, reader: Caller) -> None:
    url = f"/v1/institutions/{uuid.uuid4()}"
    assert admin.get(url).status_code == 404
    assert admin.patch(url, json={"name": "X"}).status_code == 404
    assert reader.get(url).status_code == 404
    assert admin.get(f"{url}/campuses").status_code == 404
    assert admin.post(f"{url}/campuses", json={"name": "C", "city": "X"}).status_code == 404
    assert admin.post(f"{url}/academic-units", json={"name": "U", "kind": "school"}).status_code == 404


def test_the_gateway_client_lists_and_reads_institutions(reader: Caller, world: World) -> None:
    listed = reader.get("/v1/institutions")
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"]] == [world.a["id"], world.b["id"]]
    assert reader.get(f"/v1/institutions/{world.b['id']}").json() == world.b


def test_institutions_are_listed_page_by_page(admin: Caller, world: World) -> None:
    for slug in ("c-one", "c-two", "c-three"):
        admin.post("/v1/institutions", json=institution_body(slug))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/v1/institutions", params=params).json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, key=uuid.UUID)
