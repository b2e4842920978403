"""SCIM Users (/scim/v2/Users): create, read, replace, patch, delete; the
participant profile each one keeps in the participants service; filters,
sorting and paging; versions (ETag, If-Match, If-None-Match); suspension
(active=false) ending her sessions; and what another institution's client,
a wrong token or a wrong scope get."""

from __future__ import annotations

import time
import uuid

import pytest

from servicekit.tokens import SigningKey, access_claims

from gateway.tests.conftest import PASSWORD, Gateway
from gateway.tests.scim_support import (  # noqa: F401  (fixtures)
    ALIADA_USER,
    ERROR,
    INSTITUTION_A,
    INSTITUTION_B,
    SCIM,
    USER,
    Participants,
    Scim,
    client_token,
    idp_a,
    idp_b,
    make_client,
    participants,
    participants_up,
    scim_admin,
    scim_error,
    scim_gw,
)


def test_discovery_endpoints_describe_what_the_endpoints_serve(idp_a: Scim) -> None:
    config = idp_a.get("/ServiceProviderConfig")
    assert config.status_code == 200 and config.headers["content-type"].startswith(SCIM)
    assert config.json()["patch"]["supported"] and config.json()["etag"]["supported"] and not config.json()["bulk"]["supported"]
    assert config.json()["filter"] == {"supported": True, "maxResults": 200}
    types = {t["id"]: t for t in idp_a.get("/ResourceTypes").json()["Resources"]}
    assert types["User"]["endpoint"] == "/Users" and types["User"]["schemaExtensions"][0]["schema"] == ALIADA_USER
    assert idp_a.get("/ResourceTypes/Group").json()["endpoint"] == "/Groups"
    schemas = {s["id"]: s for s in idp_a.get("/Schemas").json()["Resources"]}
    user_attributes = {a["name"] for a in schemas[USER]["attributes"]}
    assert user_attributes == {"userName", "name", "displayName", "active", "emails", "groups"}  # no password
    assert {a["name"] for a in schemas[ALIADA_USER]["attributes"]} == {"hrId", "sisId", "lmsId", "roles"}
    assert idp_a.get(f"/Schemas/{USER}").json()["id"] == USER
    scim_error(idp_a.get("/Schemas/urn:nope"), 404)
    scim_error(idp_a.get(f"/{uuid.uuid4()}"), 404)
    refused = scim_error(idp_a.post("/ServiceProviderConfig", json={}), 405)
    assert idp_a.post("/ServiceProviderConfig", json={}).headers["allow"] == "GET" and refused["detail"]
    scim_error(idp_a.post("/.search", json={}), 501)


def test_a_user_is_an_account_with_a_profile_and_no_password(
    scim_gw: Gateway, scim_admin: dict[str, str], idp_a: Scim, participants_up: Participants
) -> None:
    body = {
        "schemas": [USER, ALIADA_USER],
        "userName": "Ana.Lopez@Uni.example",
        "externalId": "okta-1",
        "name": {"givenName": "Ana", "familyName": "López"},
        "emails": [{"value": "ana@uni.example", "type": "work", "primary": True}],
        ALIADA_USER: {"sisId": "A001"},
    }
    created = idp_a.post("/Users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"] and created.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == "ana.lopez@uni.example" and user["active"] is True and user["externalId"] == "okta-1"
    assert user[ALIADA_USER] == {"sisId": "A001"} and "password" not in created.text

    # Her participant profile, created first, with the IdP client's own token.
    call = participants_up.calls[-1]
    assert call["method"] == "PUT" and call["key"] == (INSTITUTION_A, user["id"])
    assert call["body"] == {"display_name": "Ana López", "hr_id": None, "sis_id": "A001", "lms_id": None}
    assert call["claims"]["client_id"] == idp_a.client["client_id"] and call["claims"]["scope"] == "scim"

    # The gateway account: same id, her institution, no role yet, no usable password.
    account = scim_gw.client.get(f"/v1/admin/accounts/{user['id']}", headers=scim_admin).json()
    assert (account["email"], account["institution_id"], account["roles"], account["status"]) == (
        "ana.lopez@uni.example", INSTITUTION_A, [], "active",
    )
    for guess in ("", PASSWORD, "ana.lopez@uni.example"):
        refused = scim_gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": user["userName"], "password": guess or "x"})
        assert refused.status_code == 400

    assert idp_a.get(f"/Users/{user['id']}").json() == user
    scim_error(idp_a.post("/Users", json={**body, "userName": "ANA.LOPEZ@uni.example"}), 409, "uniqueness")
    scim_error(idp_a.post("/Users", json={**body, "userName": "x@uni.example", "password": "a-long-passphrase-1"}), 400, "invalidSyntax")
    scim_error(idp_a.post("/Users", json={"schemas": [USER]}), 400)
    scim_error(idp_a.post("/Users", json={"schemas": [USER], "userName": "has space@uni.example"}), 400, "invalidValue")
    bad_id = {"schemas": [USER, ALIADA_USER], "userName": "y@uni.example", ALIADA_USER: {"hrId": "no spaces allowed"}}
    scim_error(idp_a.post("/Users", json=bad_id), 400, "invalidValue")
    scim_error(idp_a.request("POST", "/Users", content=b"{not json"), 400, "invalidSyntax")

    # PUT replaces; the profile follows (display name, cleared and new ids).
    replaced = idp_a.put(
        f"/Users/{user['id']}",
        json={"schemas": [USER, ALIADA_USER], "userName": "ana.lopez@uni.example", "displayName": "Ana L.", ALIADA_USER: {"hrId": "emp-9"}},
    )
    assert replaced.status_code == 200, replaced.text
    assert "name" not in replaced.json() and "emails" not in replaced.json() and replaced.json()["displayName"] == "Ana L."
    assert participants_up.profiles[(INSTITUTION_A, user["id"])] == {"display_name": "Ana L.", "hr_id": "emp-9", "sis_id": None, "lms_id": None}

    # Another profile may not take her HR id: 409 naming the attribute, nothing written.
    other = idp_a.create_user(displayName="Berta")
    before = idp_a.get(f"/Users/{other['id']}").json()
    clash = scim_error(idp_a.patch(f"/Users/{other['id']}", [{"op": "add", "path": f"{ALIADA_USER}:hrId", "value": "emp-9"}]), 409, "uniqueness")
    assert "hrId" in clash["detail"]
    assert idp_a.get(f"/Users/{other['id']}").json() == before
    taken = {"schemas": [USER, ALIADA_USER], "userName": "carmen@uni.example", ALIADA_USER: {"hrId": "emp-9"}}
    scim_error(idp_a.post("/Users", json=taken), 409, "uniqueness")
    assert idp_a.user_names('userName eq "carmen@uni.example"') == set()

    assert idp_a.delete(f"/Users/{user['id']}").status_code == 204
    assert participants_up.calls[-1]["method"] == "DELETE" and (INSTITUTION_A, user["id"]) not in participants_up.profiles
    scim_error(idp_a.get(f"/Users/{user['id']}"), 404)
    scim_error(idp_a.delete(f"/Users/{user['id']}"), 404)
    assert scim_gw.client.get(f"/v1/admin/accounts/{user['id']}", headers=scim_admin).status_code == 404


def test_patch_adds_replaces_and_removes_and_active_false_suspends(
    scim_gw: Gateway, scim_admin: dict[str, str], idp_a: Scim, participants_up: Participants
) -> None:
    # An account made through the admin API, with a password: SCIM sees it too.
    account = scim_gw.create_account(scim_admin, ["mentee"], INSTITUTION_A)
    tokens = scim_gw.token(account["email"], PASSWORD)
    me = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert scim_gw.client.get("/v1/auth/me", headers=me).status_code == 200
    path = f"/Users/{account['id']}"
    calls = len(participants_up.calls)

    patched = idp_a.patch(
        path,
        [
            {"op": "add", "path": "name", "value": {"givenName": "Carla", "familyName": "Ruiz"}},
            {"op": "add", "path": "emails", "value": [{"value": "carla@home.example", "type": "home"}]},
            {"op": "replace", "path": "displayName", "value": "Carla R."},
            {"op": "add", "value": {"externalId": "ext-7", f"{ALIADA_USER}:lmsId": "moodle-7"}},
        ],
    )
    assert patched.status_code == 200, patched.text
    user = patched.json()
    assert user["name"] == {"givenName": "Carla", "familyName": "Ruiz"} and user["displayName"] == "Carla R."
    assert user["emails"] == [{"value": "carla@home.example", "type": "home"}] and user["externalId"] == "ext-7"
    assert user[ALIADA_USER] == {"lmsId": "moodle-7", "roles": ["mentee"]}
    assert participants_up.calls[-1]["body"] == {"display_name": "Carla R.", "hr_id": None, "sis_id": None, "lms_id": "moodle-7"}

    removed = idp_a.patch(path, [{"op": "remove", "path": "name.familyName"}, {"op": "remove", "path": 'emails[type eq "home"]'}])
    assert removed.status_code == 200 and removed.json()["name"] == {"givenName": "Carla"} and "emails" not in removed.json()
    # Nothing of her profile changed: participants is not called.
    assert len(participants_up.calls) == calls + 1
    scim_error(idp_a.patch(path, [{"op": "remove", "path": "userName"}]), 400)
    scim_error(idp_a.patch(path, [{"op": "replace", "path": "groups", "value": []}]), 400)
    scim_error(idp_a.patch(path, [{"op": "replace", "path": "nickName", "value": "x"}]), 400)
    scim_error(idp_a.request("PATCH", path, json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}), 400)

    # active=false suspends: her tokens stop working at once, and so does her password and refresh token.
    suspended = idp_a.patch(path, [{"op": "replace", "path": "active", "value": False}])
    assert suspended.status_code == 200 and suspended.json()["active"] is False
    assert scim_gw.client.get("/v1/auth/me", headers=me).status_code == 401
    assert scim_gw.client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 400
    login = scim_gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": account["email"], "password": PASSWORD})
    assert login.status_code == 400 and "suspended" in login.json()["error_description"]
    kept = scim_gw.client.get(f"/v1/admin/accounts/{account['id']}", headers=scim_admin).json()
    assert kept["status"] == "suspended" and kept["roles"] == ["mentee"]
    assert idp_a.users(filter=f'userName eq "{account["email"]}" and active eq false')["totalResults"] == 1

    assert idp_a.patch(path, [{"op": "replace", "value": {"active": True}}]).json()["active"] is True
    assert scim_gw.client.get("/v1/auth/me", headers=scim_gw.bearer(account["email"], PASSWORD)).status_code == 200
    # Removing active leaves it unassigned: the account stays active.
    unassigned = idp_a.patch(path, [{"op": "remove", "path": "active"}])
    assert unassigned.status_code == 200 and "active" not in unassigned.json()
    assert scim_gw.client.get(f"/v1/admin/accounts/{account['id']}", headers=scim_admin).json()["status"] == "active"


def test_versions_make_writes_conditional(idp_a: Scim) -> None:
    user = idp_a.create_user(displayName="Dora")
    path, first = f"/Users/{user['id']}", user["meta"]["version"]
    got = idp_a.get(path)
    assert got.headers["etag"] == first == got.json()["meta"]["version"]
    assert idp_a.get(path, headers={"If-None-Match": first}).status_code == 304

    changed = idp_a.patch(path, [{"op": "replace", "path": "displayName", "value": "Dora M."}], headers={"If-Match": first})
    assert changed.status_code == 200
    second = changed.headers["etag"]
    assert second != first and changed.json()["meta"]["version"] == second
    assert idp_a.get(path, headers={"If-None-Match": first}).status_code == 200

    # Stale versions are refused and change nothing.
    scim_error(idp_a.patch(path, [{"op": "replace", "path": "displayName", "value": "Lost"}], headers={"If-Match": first}), 412)
    scim_error(idp_a.put(path, json={"schemas": [USER], "userName": user["userName"]}, headers={"If-Match": first}), 412)
    scim_error(idp_a.delete(path, headers={"If-Match": first}), 412)
    assert idp_a.get(path).json()["displayName"] == "Dora M."
    # A replace with no change keeps the version.
    same = idp_a.put(path, json={"schemas": [USER], "userName": user["userName"], "displayName": "Dora M.", "active": True}, headers={"If-Match": second})
    assert same.status_code == 200 and same.headers["etag"] == second
    assert idp_a.delete(path, headers={"If-Match": f"{second}, W/\"other\""}).status_code == 204


def test_filters_sorting_and_paging(idp_a: Scim, idp_b: Scim) -> None:
    tag = "t" + uuid.uuid4().hex[:6]
    made = [
        idp_a.create_user(f"alba.{tag}@uni.example", displayName="Alba", externalId=f"{tag}-1",
                          emails=[{"value": f"alba.{tag}@home.example", "type": "home"}]),
        idp_a.create_user(f"berta.{tag}@uni.example", displayName="berta", externalId=f"{tag}-2", active=False),
        idp_a.create_user(f"carla.{tag}@uni.example", externalId=f"{tag}-3",
                          emails=[{"value": f"carla.{tag}@work.example", "type": "work", "primary": True}]),
        idp_a.create_user(f"dora.{tag}@uni.example", displayName="Dora", externalId=f"{tag}-4"),
    ]  # fmt: skip
    idp_b.create_user(f"erika.{tag}@uni.example", displayName="Alba", externalId=f"{tag}-5")  # another institution
    ours = f'externalId sw "{tag}"'
    names = idp_a.user_names
    assert names(ours) == {f"{n}.{tag}@uni.example" for n in ("alba", "berta", "carla", "dora")}
    assert names(f'userName eq "ALBA.{tag}@UNI.EXAMPLE"') == {f"alba.{tag}@uni.example"}
    assert names(f'{ours} and (userName co "RT" or userName sw "CAR")') == {f"berta.{tag}@uni.example", f"carla.{tag}@uni.example"}
    assert names(f'externalId eq "{tag}-2"') == {f"berta.{tag}@uni.example"}
    assert names(f'externalId eq "{tag.upper()}-2"') == set()  # externalId is case-exact
    assert names(f"{ours} and active eq false") == {f"berta.{tag}@uni.example"}
    assert names(f"{ours} and not (active eq false)") == {f"{n}.{tag}@uni.example" for n in ("alba", "carla", "dora")}
    assert names(f'emails.value ew "{tag}@work.example"') == {f"carla.{tag}@uni.example"}
    assert names(f'emails[type eq "home" and value sw "alba"] and {ours}') == {f"alba.{tag}@uni.example"}
    assert names(f"{ours} and emails pr") == {f"alba.{tag}@uni.example", f"carla.{tag}@uni.example"}
    assert names(f"{ours} and displayName pr") == {f"{n}.{tag}@uni.example" for n in ("alba", "berta", "dora")}
    assert names(f'{ours} and (displayName eq "BERTA" or displayName sw "do")') == {f"berta.{tag}@uni.example", f"dora.{tag}@uni.example"}
    assert names(f'{ours} and displayName ne "alba"') == {f"{n}.{tag}@uni.example" for n in ("berta", "carla", "dora")}
    assert names(f'{ours} and displayName co "%"') == set()  # LIKE wildcards are escaped
    assert names(f'id eq "{made[3]["id"]}"') == {f"dora.{tag}@uni.example"}
    assert len(names(f'{ours} and meta.created ge "{made[0]["meta"]["created"]}"')) == 4
    assert names(f'{ours} and meta.lastModified lt "2000-01-01T00:00:00Z"') == set()
    for bad in ('userName eq', 'nickName eq "x"', "active gt true", f"{ALIADA_USER}:roles eq \"mentor\""):
        scim_error(idp_a.get("/Users", params={"filter": bad}), 400, "invalidFilter")

    by_name = idp_a.users(filter=ours, sortBy="displayName", sortOrder="ascending")
    assert [u.get("displayName") for u in by_name["Resources"]] == ["Alba", "berta", "Dora", None]  # no case; unassigned last
    down = idp_a.users(filter=ours, sortBy="displayName", sortOrder="descending")
    assert [u.get("displayName") for u in down["Resources"]] == [None, "Dora", "berta", "Alba"]
    page = idp_a.users(filter=ours, sortBy="userName", startIndex=2, count=2)
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (4, 2, 2)
    assert [u["userName"].split(".")[0] for u in page["Resources"]] == ["berta", "carla"]
    assert idp_a.users(filter=ours, count=0) == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 4, "startIndex": 1, "itemsPerPage": 0, "Resources": []}
    assert idp_a.users(filter=ours, startIndex=9)["totalResults"] == 4
    only = idp_a.users(filter=ours, attributes="userName", count=1)["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    without = idp_a.users(filter=ours, excludedAttributes="emails,meta", sortBy="emails")["Resources"]
    assert [u["userName"].split(".")[0] for u in without[:2]] == ["alba", "carla"] and all("meta" not in u for u in without)
    scim_error(idp_a.get("/Users", params={"sortBy": "nickName"}), 400)
    scim_error(idp_a.get("/Users", params={"count": "many"}), 400)

    search = idp_a.post("/Users/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                "filter": f'{ours} and displayName eq "alba"', "attributes": ["displayName"]})  # fmt: skip
    assert search.status_code == 200 and [u["displayName"] for u in search.json()["Resources"]] == ["Alba"]


def test_another_institution_sees_nothing(idp_a: Scim, idp_b: Scim, scim_gw: Gateway, scim_admin: dict[str, str]) -> None:
    user = idp_a.create_user(displayName="Elena")
    path = f"/Users/{user['id']}"
    for response in (
        idp_b.get(path),
        idp_b.put(path, json={"schemas": [USER], "userName": user["userName"]}),
        idp_b.patch(path, [{"op": "replace", "path": "active", "value": False}]),
        idp_b.delete(path),
    ):
        scim_error(response, 404)
    assert idp_b.user_names(f'userName eq "{user["userName"]}"') == set()
    assert user["id"] not in {u["id"] for u in idp_b.users(count=200)["Resources"]}
    assert idp_a.get(path).json()["active"] is True
    # Admins are nobody's users, even in the admin's... (an admin belongs to no institution).
    admin_id = scim_gw.client.get("/v1/auth/me", headers=scim_admin).json()["subject"]
    scim_error(idp_a.get(f"/Users/{admin_id}"), 404)


def test_who_may_call_scim(scim_gw: Gateway, scim_admin: dict[str, str], idp_a: Scim) -> None:
    def call(headers: dict[str, str]):
        return scim_gw.client.get("/scim/v2/Users", headers=headers)

    anonymous = scim_error(call({}), 401)
    assert anonymous["detail"] and call({}).headers["www-authenticate"].startswith("Bearer")
    scim_error(call({"Authorization": "Bearer not-a-token"}), 401)
    ring = scim_gw.app.state.ring
    kid = ring._active.kid
    claims = {"subject": idp_a.client["client_id"], "tenant_id": INSTITUTION_A, "roles": [], "scope": "scim", "client_id": idp_a.client["client_id"]}
    settings = scim_gw.settings
    forged = SigningKey.generate(kid=kid).sign(access_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, **claims))
    scim_error(call({"Authorization": f"Bearer {forged}"}), 401)
    expired = ring._active.sign(access_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, now=time.time() - 3600, **claims))
    assert "expired" in scim_error(call({"Authorization": f"Bearer {expired}"}), 401)["detail"]

    # Wrong scope, a person (even an admin), a client of no institution: 403.
    lms = make_client(scim_gw, scim_admin, ["training:write"], INSTITUTION_A)
    scim_error(call({"Authorization": f"Bearer {client_token(scim_gw, lms)}"}), 403)
    scim_error(call(scim_admin), 403)
    platform = make_client(scim_gw, scim_admin, ["scim"], None)
    scim_error(call({"Authorization": f"Bearer {client_token(scim_gw, platform)}"}), 403)
    # A deactivated client's tokens stop at once.
    own = make_client(scim_gw, scim_admin, ["scim"], INSTITUTION_A)
    token = client_token(scim_gw, own)
    assert call({"Authorization": f"Bearer {token}"}).status_code == 200
    assert scim_gw.client.patch(f"/v1/admin/clients/{own['id']}", json={"active": False}, headers=scim_admin).status_code == 200
    scim_error(call({"Authorization": f"Bearer {token}"}), 401)
    # Problem+json stays what every other path answers.
    assert scim_gw.client.get("/v1/auth/me").headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("action", ["create", "rename"])
def test_participants_down_means_nothing_written(idp_a: Scim, participants_up: Participants, action: str) -> None:
    user = idp_a.create_user(displayName="Flor")
    participants_up.down = True
    if action == "create":
        user_name = f"{uuid.uuid4().hex[:8]}@uni.example"
        scim_error(idp_a.post("/Users", json={"schemas": [USER], "userName": user_name}), 503)
        assert idp_a.user_names(f'userName eq "{user_name}"') == set()
    else:
        scim_error(idp_a.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "Flora"}]), 503)
        assert idp_a.get(f"/Users/{user['id']}").json()["displayName"] == "Flor"


def test_the_openapi_document_describes_scim_in_scim_terms(scim_gw: Gateway) -> None:
    doc = scim_gw.app.openapi()
    ops = {f"{m.upper()} {p}": op for p, item in doc["paths"].items() if p.startswith("/scim/v2") for m, op in item.items()}
    assert len(ops) == 20 and len({op["operationId"] for op in ops.values()}) == 20
    error = {SCIM: {"schema": {"$ref": "#/components/schemas/ScimError"}}}
    for key, op in ops.items():
        assert op["summary"] and "scim" in op["operationId"] and op["tags"] == ["scim"], key
        assert "422" not in op["responses"], key
        for code, response in op["responses"].items():
            if code[0] in "45":
                assert response["content"] == error, (key, code)
    created = ops["POST /scim/v2/Users"]
    assert created["requestBody"]["content"][SCIM]["schema"] == {"$ref": "#/components/schemas/ScimUser"}
    assert created["responses"]["201"]["content"][SCIM]["schema"] == {"$ref": "#/components/schemas/ScimUser"}
    assert ops["PATCH /scim/v2/Groups/{group_id}"]["requestBody"]["content"][SCIM]["example"]["Operations"]
    assert {"userName", "emails", ALIADA_USER} <= set(doc["components"]["schemas"]["ScimUser"]["properties"])
    assert "password" not in doc["components"]["schemas"]["ScimUser"]["properties"]
    # Every other path keeps problem+json.
    assert list(doc["paths"]["/v1/admin/accounts"]["post"]["responses"]["409"]["content"]) == ["application/problem+json"]


def test_a_user_name_another_institution_holds_is_not_revealed(
    idp_a: Scim, idp_b: Scim, scim_gw: Gateway, scim_admin: dict[str, str]
) -> None:
    """userNames are unique per institution: a name held elsewhere (another
    institution's account, its SCIM user, the platform admin) gets the same
    answer as a free one; a name held in the caller's own institution is 409."""
    from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    elsewhere = scim_gw.create_account(scim_admin, ["mentor"], INSTITUTION_B)
    b_user = idp_b.create_user(f"b-{uuid.uuid4().hex[:8]}@uni.example")
    free = idp_a.create_user(f"free-{uuid.uuid4().hex[:8]}@uni.example")
    for name in (elsewhere["email"].upper(), b_user["userName"], ADMIN_EMAIL):
        r = idp_a.post("/Users", json={"schemas": [USER], "userName": name})
        assert r.status_code == 201, r.text
        user = r.json()
        assert set(user) == set(free) and set(user["meta"]) == set(free["meta"]) and user["active"] is True
        assert user["userName"] == name.lower() and idp_a.get(f"/Users/{user['id']}").json() == user
        assert idp_a.user_names(f'userName eq "{name}"') == {name.lower()}
        # Her own institution's duplicate, in any case: 409, as for any name taken here.
        scim_error(idp_a.post("/Users", json={"schemas": [USER], "userName": name.upper()}), 409, "uniqueness")
        # Nothing changed for the other holder.
        assert idp_b.user_names(f'userName eq "{b_user["userName"]}"') == {b_user["userName"]}
    # The holders keep their accounts and sign-ins.
    scim_gw.token(elsewhere["email"], PASSWORD)
    scim_gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert scim_gw.client.get(f"/v1/admin/accounts/{elsewhere['id']}", headers=scim_admin).json()["email"] == elsewhere["email"]

    # Renaming to a name held elsewhere and back to a free one.
    path = f"/Users/{free['id']}"
    renamed = idp_a.patch(path, [{"op": "replace", "path": "userName", "value": elsewhere["email"].replace("@", "+x@")}])
    assert renamed.status_code == 200, renamed.text
    other = scim_gw.create_account(scim_admin, ["mentee"], INSTITUTION_B)
    renamed = idp_a.patch(path, [{"op": "replace", "path": "userName", "value": other["email"]}])
    assert renamed.status_code == 200 and renamed.json()["userName"] == other["email"], renamed.text
    back = idp_a.patch(path, [{"op": "replace", "path": "userName", "value": free["userName"]}])
    assert back.status_code == 200 and back.json()["userName"] == free["userName"]
    account = scim_gw.client.get(f"/v1/admin/accounts/{free['id']}", headers=scim_admin).json()
    assert account["email"] == free["userName"]
    # A name another of her institution's users holds (even one placed aside): 409.
    scim_error(idp_a.patch(path, [{"op": "replace", "path": "userName", "value": b_user["userName"]}]), 409, "uniqueness")
