"""Instruments over HTTP: the library, copies, versions that never change."""

from __future__ import annotations

from servicekit.testing import bearer

from services.evaluation.domain import BUILTIN


def test_library_readable_by_anyone_authenticated(world):
    mentee, _, _ = world.person("mentee")
    r = world.http.get("/v1/instruments", params={"builtin": "true"}, headers=mentee)
    assert r.status_code == 200
    keys = {i["key"] for i in r.json()["items"]}
    assert keys == set(BUILTIN)
    one = r.json()["items"][0]
    assert world.http.get(f"/v1/instruments/{one['id']}", headers=mentee).json()["definition"]["key"] == one["key"]
    assert world.http.get("/v1/instruments", params={"builtin": "true"}).status_code == 401


def test_copy_then_edit_makes_new_versions(world, other_world):
    source = world.builtin_id("soft-skills")
    r = world.http.post(f"/v1/instruments/{source}/copies", json={"key": "skills-2026"},
                        headers={**world.coordinator, "Idempotency-Key": "copy-1"})
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["key"], v1["version"], v1["copied_from"], v1["builtin"]) == ("skills-2026", 1, "soft-skills@1", False)
    again = world.http.post(f"/v1/instruments/{source}/copies", json={"key": "skills-2026"},
                            headers={**world.coordinator, "Idempotency-Key": "copy-1"})
    assert again.json()["id"] == v1["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert world.http.post(f"/v1/instruments/{source}/copies", json={"key": "skills-2026"}, headers=world.coordinator).status_code == 409

    r = world.http.patch(f"/v1/instruments/{v1['id']}", json={"title": {"es": "Habilidades", "en": "Skills"}}, headers=world.coordinator)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["id"] != v1["id"] and v2["title"]["en"] == "Skills"
    # v1 is unchanged and no longer editable
    old = world.http.get(f"/v1/instruments/{v1['id']}", headers=world.coordinator).json()
    assert old["title"] == v1["title"] and old["latest"] is False
    assert world.http.patch(f"/v1/instruments/{v1['id']}", json={"title": {"es": "x", "en": "x"}}, headers=world.coordinator).status_code == 409

    # an administration pins the version it uses
    adm = world.administer(instrument_id=v2["id"])
    assert adm["instrument_version"] == 2
    assert world.http.get(f"/v1/instruments/{v2['id']}", headers=world.coordinator).json()["in_use"] is True

    # an invalid revision names the problem and writes nothing
    definition = v2["definition"]
    bad = {"title": definition["title"], "description": definition["description"], "sections": definition["sections"],
           "subscales": [{"id": "x", "label": {"es": "x", "en": "x"}, "items": ["nope"]}]}
    r = world.http.put(f"/v1/instruments/{v2['id']}", json=bad, headers=world.coordinator)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    r = world.http.put(f"/v1/instruments/{v2['id']}", json={**bad, "extra": 1}, headers=world.coordinator)
    assert r.status_code == 422 and any(e["field"] == "body.extra" for e in r.json()["errors"])
    mine = world.http.get("/v1/instruments", headers=world.coordinator).json()["items"]
    assert sorted(i["version"] for i in mine) == [1, 2]

    # other institutions: 404; mentors: 403; built-ins cannot be edited
    assert other_world.http.get(f"/v1/instruments/{v2['id']}", headers=other_world.coordinator).status_code == 404
    assert other_world.http.get("/v1/instruments", headers=other_world.coordinator).json()["items"] == []
    mentor, _, _ = world.person("mentor")
    assert world.http.post(f"/v1/instruments/{source}/copies", json={"key": "mine"}, headers=mentor).status_code == 403
    assert world.http.patch(f"/v1/instruments/{source}", json={"title": {"es": "x", "en": "x"}}, headers=world.coordinator).status_code == 409


def test_key_filter_refuses_what_no_key_can_be(world):
    # Found by schemathesis on PostgreSQL: a NUL in the filter reached the
    # database and failed there (500). The filter now has the key's own pattern.
    for bad in ("\x00", "soft skills", "Soft-Skills"):
        r = world.http.get("/v1/instruments", params={"key": bad}, headers=world.coordinator)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == "query.key"
    r = world.http.get("/v1/instruments", params={"key": "soft-skills", "builtin": "true"}, headers=world.coordinator)
    assert [i["key"] for i in r.json()["items"]] == ["soft-skills"]


def test_api_clients_read_no_instrument_whatever_their_scopes(world, mint):
    """Finding 9 (issue 14): a client without scope read an institution's copy.
    Instruments declare no client scope, so every client token gets 403
    insufficient-scope (servicekit.auth gate_clients): a platform client, one of
    the copy's institution, one with the admin role in its token, one holding
    every other scope; the coordinator still reads it."""
    source = world.builtin_id("soft-skills")
    copy = world.http.post(f"/v1/instruments/{source}/copies", json={"key": "client-gate"}, headers=world.coordinator).json()
    tid = str(world.institution_id)
    clients = [
        mint(sub="cli-a", scope="", client_id="cli-a"),
        mint(sub="cli-b", tid=tid, scope="", client_id="cli-b"),
        mint(sub="cli-c", tid=tid, roles=["admin"], scope="", client_id="cli-c"),
        mint(sub="cli-d", tid=tid, scope="reports:read research:read training:write events:read", client_id="cli-d"),
    ]
    for token in clients:
        for url in (f"/v1/instruments/{copy['id']}", f"/v1/instruments/{source}", "/v1/instruments"):
            r = world.http.get(url, headers=bearer(token))
            assert r.status_code == 403 and r.json()["type"].endswith("insufficient-scope"), (url, r.text)
    assert world.http.get(f"/v1/instruments/{copy['id']}", headers=world.coordinator).status_code == 200
