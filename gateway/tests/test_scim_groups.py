"""SCIM Groups (/scim/v2/Groups): members, the Aliada role a group grants
(never admin), filters, versions, and tenant isolation."""

from __future__ import annotations

import uuid

from gateway.tests.conftest import PASSWORD, Gateway
from gateway.tests.scim_support import (  # noqa: F401  (fixtures)
    ALIADA_GROUP,
    GROUP,
    INSTITUTION_A,
    INSTITUTION_B,
    Scim,
    idp_a,
    idp_b,
    participants,
    scim_admin,
    scim_error,
    scim_gw,
)


def new_group(idp: Scim, name: str, members: list[str], role: str | None = None) -> dict:
    body: dict = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    if role:
        body["schemas"].append(ALIADA_GROUP)
        body[ALIADA_GROUP] = {"role": role}
    r = idp.post("/Groups", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def roles(gw: Gateway, admin: dict[str, str], account_id: str) -> list[str]:
    return gw.client.get(f"/v1/admin/accounts/{account_id}", headers=admin).json()["roles"]


def test_groups_grant_roles_to_their_members(scim_gw: Gateway, scim_admin: dict[str, str], idp_a: Scim) -> None:
    mentee = scim_gw.create_account(scim_admin, ["mentee"], INSTITUTION_A)  # a role given by an admin
    token = {"Authorization": f"Bearer {scim_gw.token(mentee['email'], PASSWORD)['access_token']}"}
    provisioned = idp_a.create_user(displayName="Gina")
    group = new_group(idp_a, f"Mentoras {uuid.uuid4().hex[:6]}", [mentee["id"], provisioned["id"]], role="mentor")
    assert group[ALIADA_GROUP] == {"role": "mentor"}
    assert [(m["value"], m["type"]) for m in group["members"]] == [(mentee["id"], "User"), (provisioned["id"], "User")]
    assert group["members"][0]["$ref"].endswith(f"/scim/v2/Users/{mentee['id']}")
    assert roles(scim_gw, scim_admin, mentee["id"]) == ["mentee", "mentor"]
    assert roles(scim_gw, scim_admin, provisioned["id"]) == ["mentor"]
    # Her roles changed: her current token is refused, her next one carries them.
    assert scim_gw.client.get("/v1/auth/me", headers=token).status_code == 401
    assert scim_gw.client.get("/v1/auth/me", headers=scim_gw.bearer(mentee["email"], PASSWORD)).json()["roles"] == ["mentee", "mentor"]
    user = idp_a.get(f"/Users/{provisioned['id']}").json()
    assert user["groups"] == [{"value": group["id"], "$ref": group["meta"]["location"], "display": group["displayName"]}]
    assert user["urn:aliada:params:scim:schemas:extension:aliada:2.0:User"]["roles"] == ["mentor"]

    # Leaving the group takes away only what the group gave.
    path = f"/Groups/{group['id']}"
    left = idp_a.patch(path, [{"op": "remove", "path": f'members[value eq "{mentee["id"]}"]'}])
    assert left.status_code == 200 and [m["value"] for m in left.json()["members"]] == [provisioned["id"]]
    assert roles(scim_gw, scim_admin, mentee["id"]) == ["mentee"]
    # Another role: every member's roles follow.
    changed = idp_a.patch(path, [{"op": "replace", "path": f"{ALIADA_GROUP}:role", "value": "evaluator"}])
    assert changed.status_code == 200 and changed.json()[ALIADA_GROUP] == {"role": "evaluator"}
    assert roles(scim_gw, scim_admin, provisioned["id"]) == ["evaluator"]
    back = idp_a.patch(path, [{"op": "add", "path": "members", "value": [{"value": mentee["id"]}]}])
    assert {m["value"] for m in back.json()["members"]} == {mentee["id"], provisioned["id"]}
    assert roles(scim_gw, scim_admin, mentee["id"]) == ["mentee", "evaluator"]

    # Never admin, only known roles, only users of the institution.
    scim_error(idp_a.patch(path, [{"op": "replace", "path": f"{ALIADA_GROUP}:role", "value": "admin"}]), 400, "invalidValue")
    scim_error(idp_a.patch(path, [{"op": "replace", "path": f"{ALIADA_GROUP}:role", "value": "superuser"}]), 400, "invalidValue")
    stranger = scim_gw.create_account(scim_admin, ["mentee"], INSTITUTION_B)
    admin_id = scim_gw.client.get("/v1/auth/me", headers=scim_admin).json()["subject"]
    for member in ({"value": stranger["id"]}, {"value": admin_id}, {"value": str(uuid.uuid4())}, {"value": "not-an-id"}):
        scim_error(idp_a.patch(path, [{"op": "add", "path": "members", "value": [member]}]), 400, "invalidValue")
    scim_error(idp_a.patch(path, [{"op": "add", "path": "members", "value": [{"value": provisioned["id"], "type": "Group"}]}]), 400)
    assert roles(scim_gw, scim_admin, stranger["id"]) == ["mentee"]
    scim_error(idp_a.post("/Groups", json={"schemas": [GROUP], "displayName": group["displayName"].upper()}), 409, "uniqueness")

    # Deleting the group takes its role away.
    assert idp_a.delete(path).status_code == 204
    assert roles(scim_gw, scim_admin, mentee["id"]) == ["mentee"] and roles(scim_gw, scim_admin, provisioned["id"]) == []
    scim_error(idp_a.get(path), 404)


def test_group_queries_versions_and_deleted_members(idp_a: Scim) -> None:
    tag = "g" + uuid.uuid4().hex[:6]
    ana, bea = idp_a.create_user(displayName="Ana"), idp_a.create_user(displayName="Bea")
    new_group(idp_a, f"{tag} mentors", [ana["id"]], role="mentor")
    mentees = new_group(idp_a, f"{tag} mentees", [ana["id"], bea["id"]], role="mentee")
    plain = new_group(idp_a, f"{tag} all", [])

    def names(filter: str, **params) -> list[str]:
        r = idp_a.get("/Groups", params={"filter": filter, **params})
        assert r.status_code == 200, r.text
        return [g["displayName"] for g in r.json().get("Resources", [])]

    ours = f'displayName sw "{tag}"'
    assert names(ours, sortBy="displayName") == [f"{tag} all", f"{tag} mentees", f"{tag} mentors"]
    assert names(f'{ours} and members.value eq "{bea["id"]}"') == [f"{tag} mentees"]
    assert names(f'{ours} and members[value eq "{ana["id"]}"]', sortBy="displayName", sortOrder="descending") == [f"{tag} mentors", f"{tag} mentees"]
    assert names(f'{ours} and {ALIADA_GROUP}:role eq "Mentor"') == [f"{tag} mentors"]
    assert names(f"{ours} and not (members pr)") == [f"{tag} all"]
    page = idp_a.get("/Groups", params={"filter": ours, "sortBy": "displayName", "startIndex": 3, "count": 5}).json()
    assert page["totalResults"] == 3 and [g["displayName"] for g in page["Resources"]] == [f"{tag} mentors"]
    slim = idp_a.get(f"/Groups/{mentees['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in slim and slim["displayName"] == f"{tag} mentees"

    path = f"/Groups/{plain['id']}"
    first = plain["meta"]["version"]
    renamed = idp_a.put(path, json={"schemas": [GROUP], "displayName": f"{tag} everyone", "members": [{"value": bea["id"]}]}, headers={"If-Match": first})
    assert renamed.status_code == 200 and renamed.headers["etag"] != first
    scim_error(idp_a.patch(path, [{"op": "add", "path": "members", "value": [{"value": ana["id"]}]}], headers={"If-Match": first}), 412)
    scim_error(idp_a.delete(path, headers={"If-Match": first}), 412)
    assert idp_a.get(path, headers={"If-None-Match": renamed.headers["etag"]}).status_code == 304

    # A deleted user leaves her groups (and their versions change).
    before = idp_a.get(f"/Groups/{mentees['id']}").headers["etag"]
    assert idp_a.delete(f"/Users/{bea['id']}").status_code == 204
    after = idp_a.get(f"/Groups/{mentees['id']}")
    assert [m["value"] for m in after.json()["members"]] == [ana["id"]] and after.headers["etag"] != before
    scim_error(idp_a.get("/Groups", params={"filter": "members.display eq \"x\""}), 400, "invalidFilter")


def test_another_institutions_groups_are_invisible(idp_a: Scim, idp_b: Scim) -> None:
    user = idp_a.create_user()
    group = new_group(idp_a, f"private {uuid.uuid4().hex[:6]}", [user["id"]], role="mentee")
    path = f"/Groups/{group['id']}"
    scim_error(idp_b.get(path), 404)
    scim_error(idp_b.patch(path, [{"op": "replace", "path": "displayName", "value": "mine"}]), 404)
    scim_error(idp_b.put(path, json={"schemas": [GROUP], "displayName": "mine"}), 404)
    scim_error(idp_b.delete(path), 404)
    assert group["id"] not in {g["id"] for g in idp_b.get("/Groups", params={"count": 200}).json().get("Resources", [])}
    assert idp_b.get("/Groups", params={"filter": f'displayName eq "{group["displayName"]}"'}).json()["totalResults"] == 0
    # Her B group cannot take A's user either, and the same name is free in B.
    scim_error(idp_b.post("/Groups", json={"schemas": [GROUP], "displayName": "x", "members": [{"value": user["id"]}]}), 400)
    assert idp_b.post("/Groups", json={"schemas": [GROUP], "displayName": group["displayName"]}).status_code == 201
    assert idp_a.get(path).json()["displayName"] == group["displayName"]
