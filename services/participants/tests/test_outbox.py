"""Institution events in the outbox, served by GET /internal/events."""

from typing import Any

from services.participants.tests.conftest import Caller, World, institution_body, snapshot


def _events(caller: Caller, after: str | None = None) -> dict[str, Any]:
    response = caller.get("/internal/events", params={"after": after} if after else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_institution_created_is_on_the_feed(admin: Caller, events_client: Caller) -> None:
    created = admin.post("/v1/institutions", json=institution_body("uat")).json()

    feed = _events(events_client)

    assert [e["type"] for e in feed["items"]] == ["institution.created"]
    event = feed["items"][0]
    assert event["subject"] == created["id"]
    assert event["tenant_id"] == created["id"]
    assert event["payload"] == created
    assert feed["next_cursor"] == event["cursor"]
    assert _events(events_client, after=feed["next_cursor"])["items"] == []


def test_institution_updated_names_what_changed(admin: Caller, events_client: Caller, world: World) -> None:
    after = _events(events_client)["next_cursor"]
    url = f"/v1/institutions/{world.a['id']}"

    admin.patch(url, json={"name": "UAEH", "country": "MX"})  # country is unchanged
    admin.patch(url, json={"name": "UAEH"})  # nothing changes: no event

    items = _events(events_client, after=after)["items"]
    assert [e["type"] for e in items] == ["institution.updated"]
    assert items[0]["payload"]["changed"] == ["name"]
    assert items[0]["payload"]["institution"]["name"] == "UAEH"
    assert items[0]["tenant_id"] == world.a["id"]


def test_a_refused_creation_emits_nothing(admin: Caller, events_client: Caller, world: World, engine: Any) -> None:
    after = _events(events_client)["next_cursor"]
    before = snapshot(engine)
    assert admin.post("/v1/institutions", json=institution_body(world.a["slug"])).status_code == 409
    assert _events(events_client, after=after)["items"] == []
    assert snapshot(engine) == before


def test_the_feed_needs_the_events_scope(admin: Caller, reader: Caller, anonymous: Caller) -> None:
    admin.post("/v1/institutions", json=institution_body("uat"))
    for caller, status in ((admin, 403), (reader, 403), (anonymous, 401)):
        response = caller.get("/internal/events")
        assert response.status_code == status
        assert "items" not in response.json()


def test_lifecycle_events_are_on_the_feed_without_personal_data(
    cohort: Any, events_client: Caller, world: World
) -> None:
    after = _events(events_client)["next_cursor"]
    person = cohort.person("ana-feed")
    application = cohort.confirmed(person, "mentee", 1, full_name="Ana Feed Nombre", email="ana.feed@uaeh.edu.mx")

    items = _events(events_client, after=after)["items"]

    assert [e["type"] for e in items] == [
        "application.submitted", "application.decided", "application.invited", "participant.confirmed"
    ]  # fmt: skip
    assert {e["tenant_id"] for e in items} == {world.a["id"]}
    assert {e["payload"]["application_id"] for e in items} == {application["id"]}
    assert {e["payload"]["account_id"] for e in items} == {"ana-feed"}
    text = str([e["payload"] for e in items])
    assert "Ana Feed Nombre" not in text and "ana.feed@uaeh.edu.mx" not in text


def test_a_refused_transition_emits_nothing(cohort: Any, events_client: Caller, engine: Any) -> None:
    person = cohort.person("ana-draft")
    draft = cohort.draft(person)
    after = _events(events_client)["next_cursor"]
    before = snapshot(engine)
    assert person.post(f"/v1/applications/{draft['id']}/confirm").status_code == 409
    assert cohort.coordinator.post(f"/v1/programs/{cohort.id}/transitions", json={"to": "closed"}).status_code == 409
    assert _events(events_client, after=after)["items"] == []
    assert snapshot(engine) == before
