"""Provisioned profiles (/internal/.../provisioned-participants/{account_id}):
what the gateway's SCIM endpoints call with the SCIM client's own token."""

from __future__ import annotations

from servicekit.testing import Mint

from services.participants.tests.conftest import Caller, World


def path(institution_id: str, account_id: str = "0190f1c2-aaaa-7000-8000-000000000001") -> str:
    return f"/internal/institutions/{institution_id}/provisioned-participants/{account_id}"


def scim_client(http, mint: Mint, tid: str | None, scope: str = "scim") -> Caller:
    return Caller(http, mint(sub="cli_idp", tid=tid, scope=scope, client_id="cli_idp"), "scim")


def test_a_scim_client_creates_updates_and_deletes_a_profile(http, mint: Mint, world: World, coordinator: Caller) -> None:
    idp = scim_client(http, mint, world.a["id"])
    created = idp.request("PUT", path(world.a["id"]), json={"display_name": "Ana López", "hr_id": "emp-1", "sis_id": "A001"})
    assert created.status_code == 201, created.text
    profile = created.json()
    assert (profile["display_name"], profile["hr_id"], profile["sis_id"], profile["lms_id"]) == ("Ana López", "emp-1", "A001", None)
    assert profile["account_id"] == "0190f1c2-aaaa-7000-8000-000000000001" and profile["memberships"] == []

    # The same call again is a no-op (the gateway may retry it); an absent id is kept, null clears.
    again = idp.request("PUT", path(world.a["id"]), json={"display_name": "Ana López", "hr_id": "emp-1", "sis_id": "A001"})
    assert again.status_code == 200 and again.json()["id"] == profile["id"]
    updated = idp.request("PUT", path(world.a["id"]), json={"display_name": "Ana L.", "sis_id": None, "lms_id": "m-9"})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["display_name"], updated.json()["hr_id"], updated.json()["sis_id"], updated.json()["lms_id"]) == (
        "Ana L.", "emp-1", None, "m-9",
    )
    # The coordinators see the profile like any other.
    listed = coordinator.get(f"/v1/institutions/{world.a['id']}/participants")
    assert [p["display_name"] for p in listed.json()["items"]] == ["Ana L."]

    # Another participant may not take her HR id: 409 naming the field, nothing written.
    clash = idp.request("PUT", path(world.a["id"], "another-account"), json={"display_name": "Berta", "hr_id": "emp-1"})
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "body.hr_id"
    assert len(coordinator.get(f"/v1/institutions/{world.a['id']}/participants").json()["items"]) == 1

    assert idp.delete(path(world.a["id"])).status_code == 204
    assert idp.delete(path(world.a["id"])).status_code == 404
    assert coordinator.get(f"/v1/institutions/{world.a['id']}/participants").json()["items"] == []


def test_only_scim_clients_of_the_institution_and_admins_provision(
    http, mint: Mint, world: World, as_role, admin: Caller
) -> None:
    body = {"display_name": "Carla"}
    other = scim_client(http, mint, world.b["id"])
    assert other.request("PUT", path(world.a["id"]), json=body).status_code == 404
    assert scim_client(http, mint, None).request("PUT", path(world.a["id"]), json=body).status_code == 404
    assert scim_client(http, mint, world.a["id"], scope="training:write").request("PUT", path(world.a["id"]), json=body).status_code == 403
    for role in ("coordinator", "mentee", "reader", "events_client"):
        assert as_role(role).request("PUT", path(world.a["id"]), json=body).status_code == 403, role
    for role in ("anonymous", "expired", "forged"):
        assert as_role(role).request("PUT", path(world.a["id"]), json=body).status_code == 401, role
        assert as_role(role).delete(path(world.a["id"])).status_code == 401, role
    assert as_role("coordinator").get(f"/v1/institutions/{world.a['id']}/participants").json()["items"] == []

    assert admin.request("PUT", path(world.a["id"]), json=body).status_code == 201
    assert other.delete(path(world.a["id"])).status_code == 404
    assert admin.delete(path(world.a["id"])).status_code == 204


def test_bad_profiles_are_refused_naming_the_field(http, mint: Mint, world: World) -> None:
    idp = scim_client(http, mint, world.a["id"])
    for body, field in (
        ({}, "body.display_name"),
        ({"display_name": " padded "}, "body.display_name"),
        ({"display_name": "Dora", "hr_id": "has space"}, "body.hr_id"),
        ({"display_name": "Dora", "password": "x"}, "body.password"),
    ):
        r = idp.request("PUT", path(world.a["id"]), json=body)
        assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}, (body, r.text)
    assert idp.request("PUT", path(world.a["id"], "bad id"), json={"display_name": "Dora"}).status_code == 422
    missing = "0190f1c2-0000-7000-8000-0000000000ff"
    assert scim_client(http, mint, missing).request("PUT", path(missing), json={"display_name": "Dora"}).status_code == 404
