"""Admin endpoints: accounts and API clients, who may use them, the
institution check against participants, and validation."""

from __future__ import annotations

import uuid

from jose import jwt

from servicekit.auth import StaticKeySource, TokenVerifier

from gateway.tests.conftest import ADMIN_EMAIL, PASSWORD, Gateway
from gateway.tests.upstream import Recorder

ACCOUNTS = "/v1/admin/accounts"
CLIENTS = "/v1/admin/clients"


def new_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@uni.example"


def emails(gw: Gateway, headers: dict[str, str], **params: str) -> set[str]:
    resp = gw.client.get(ACCOUNTS, params={"limit": 200, **params}, headers=headers)
    assert resp.status_code == 200, resp.text
    return {a["email"] for a in resp.json()["items"]}


# -- accounts CRUD -------------------------------------------------------------------


def test_account_lifecycle(gw: Gateway, admin: dict[str, str]) -> None:
    email = new_email()
    created = gw.client.post(
        ACCOUNTS, json={"email": email.upper(), "password": PASSWORD, "roles": ["mentor"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["email"] == email and account["status"] == "active" and "password" not in str(account)
    assert gw.client.get(f"{ACCOUNTS}/{account['id']}", headers=admin).json() == account

    duplicate = gw.client.post(ACCOUNTS, json={"email": email, "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin)
    assert duplicate.status_code == 409

    tokens = gw.token(email, PASSWORD)
    updated = gw.client.patch(f"{ACCOUNTS}/{account['id']}", json={"roles": ["mentor", "evaluator"]}, headers=admin)
    assert updated.status_code == 200 and sorted(updated.json()["roles"]) == ["evaluator", "mentor"]
    # A role change ends her sessions: she logs in again to get the new roles.
    assert gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401

    reset = gw.client.patch(f"{ACCOUNTS}/{account['id']}", json={"password": "a-brand-new-passphrase"}, headers=admin)
    assert reset.status_code == 200
    assert gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}).status_code == 400
    assert gw.token(email, "a-brand-new-passphrase")["access_token"]

    assert gw.client.delete(f"{ACCOUNTS}/{account['id']}", headers=admin).status_code == 204
    assert gw.client.get(f"{ACCOUNTS}/{account['id']}", headers=admin).status_code == 404
    assert gw.client.delete(f"{ACCOUNTS}/{account['id']}", headers=admin).status_code == 404


def test_accounts_are_paginated_with_a_cursor(gw: Gateway, admin: dict[str, str]) -> None:
    for _ in range(3):
        gw.create_account(admin, ["applicant"], "0190f1c2-0000-7000-8000-00000000000b")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "institution_id": "0190f1c2-0000-7000-8000-00000000000b"} | ({"cursor": cursor} if cursor else {})
        page = gw.client.get(ACCOUNTS, params=params, headers=admin).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 3
    assert gw.client.get(ACCOUNTS, params={"cursor": "garbage!"}, headers=admin).status_code == 400


# -- who may do what ---------------------------------------------------------------------


def test_admin_endpoints_refuse_anonymous_and_non_admins(gw: Gateway, admin: dict[str, str]) -> None:
    assert gw.client.get(ACCOUNTS).status_code == 401
    assert gw.client.get(CLIENTS).status_code == 401
    _, mentee = gw.person(admin, ["mentee"])
    for method, path in (("GET", ACCOUNTS), ("GET", CLIENTS), ("POST", "/v1/admin/keys/rotate"), ("GET", "/v1/admin/keys")):
        assert gw.client.request(method, path, headers=mentee).status_code == 403, path
    body = {"email": new_email(), "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}
    assert gw.client.post(ACCOUNTS, json=body, headers=mentee).status_code == 403


def test_coordinators_manage_their_own_institution_only(gw: Gateway, admin: dict[str, str]) -> None:
    _, coordinator = gw.person(admin, ["coordinator"], "0190f1c2-0000-7000-8000-00000000000a")
    other = gw.create_account(admin, ["mentee"], "0190f1c2-0000-7000-8000-00000000000b")

    made_admin = gw.client.post(ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["admin"]}, headers=coordinator)
    assert made_admin.status_code == 403
    elsewhere = gw.client.post(
        ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000b"}, headers=coordinator
    )
    assert elsewhere.status_code == 403

    mine = gw.client.post(ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["mentor"]}, headers=coordinator)
    assert mine.status_code == 201 and mine.json()["institution_id"] == "0190f1c2-0000-7000-8000-00000000000a"
    listed = emails(gw, coordinator)
    assert mine.json()["email"] in listed and other["email"] not in listed and ADMIN_EMAIL not in listed

    assert gw.client.get(f"{ACCOUNTS}/{other['id']}", headers=coordinator).status_code == 404
    assert gw.client.patch(f"{ACCOUNTS}/{other['id']}", json={"status": "suspended"}, headers=coordinator).status_code == 404
    assert gw.client.delete(f"{ACCOUNTS}/{other['id']}", headers=coordinator).status_code == 404
    promote = gw.client.patch(f"{ACCOUNTS}/{mine.json()['id']}", json={"roles": ["admin"]}, headers=coordinator)
    assert promote.status_code == 403
    move = gw.client.patch(f"{ACCOUNTS}/{mine.json()['id']}", json={"institution_id": "0190f1c2-0000-7000-8000-00000000000b"}, headers=coordinator)
    assert move.status_code == 403
    assert gw.client.get(CLIENTS, headers=coordinator).status_code == 403


def test_role_and_institution_rules(gw: Gateway, admin: dict[str, str]) -> None:
    no_institution = gw.client.post(ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["coordinator"]}, headers=admin)
    assert no_institution.status_code == 422
    assert no_institution.json()["errors"][0]["field"] == "body.institution_id"
    admin_with_institution = gw.client.post(
        ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["admin"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin
    )
    assert admin_with_institution.status_code == 422
    second_admin = gw.client.post(ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["admin"]}, headers=admin)
    assert second_admin.status_code == 201 and second_admin.json()["institution_id"] is None


def test_the_last_active_admin_cannot_be_removed(make_gateway) -> None:
    gw = make_gateway()
    admin = gw.bearer()
    me = gw.client.get(ACCOUNTS, params={"email": ADMIN_EMAIL}, headers=admin).json()["items"][0]
    for method, kwargs in (("PATCH", {"json": {"status": "suspended"}}), ("PATCH", {"json": {"roles": ["mentor"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}}), ("DELETE", {})):
        resp = gw.client.request(method, f"{ACCOUNTS}/{me['id']}", headers=admin, **kwargs)
        assert resp.status_code == 409, (method, resp.text)
    gw.create_account(admin, ["admin"], None)
    assert gw.client.patch(f"{ACCOUNTS}/{me['id']}", json={"status": "suspended"}, headers=admin).status_code == 200


# -- validation ------------------------------------------------------------------------------


def test_bad_input_names_the_field_and_writes_nothing(gw: Gateway, admin: dict[str, str]) -> None:
    before = emails(gw, admin)
    cases = [
        ({"password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, "body.email"),
        ({"email": "not-an-email", "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, "body.email"),
        ({"email": new_email(), "password": "short", "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, "body.password"),
        ({"email": new_email(), "password": PASSWORD, "roles": ["wizard"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, "body.roles.0"),
        ({"email": new_email(), "password": PASSWORD, "roles": [], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, "body.roles"),
        ({"email": new_email(), "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a", "is_admin": True}, "body.is_admin"),
        ({"email": new_email(), "password": PASSWORD, "roles": ["mentee"], "institution_id": "../internal"}, "body.institution_id"),
    ]
    for body, field in cases:
        resp = gw.client.post(ACCOUNTS, json=body, headers=admin)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in resp.json()["errors"]], (field, resp.json())
    client = gw.client.post(CLIENTS, json={"name": "x", "scopes": ["Not A Scope"]}, headers=admin)
    assert client.status_code == 422 and client.json()["errors"][0]["field"].startswith("body.scopes")
    assert emails(gw, admin) == before


def test_create_account_is_idempotent_with_a_key(gw: Gateway, admin: dict[str, str]) -> None:
    body = {"email": new_email(), "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = gw.client.post(ACCOUNTS, json=body, headers=admin | key)
    again = gw.client.post(ACCOUNTS, json=body, headers=admin | key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"


# -- institution check ----------------------------------------------------------------------------


def test_institution_is_checked_with_participants_using_a_short_internal_token(gw: Gateway, admin: dict[str, str], recorder: Recorder) -> None:
    recorder.institution_calls.clear()
    unknown = gw.client.post(
        ACCOUNTS, json={"email": new_email(), "password": PASSWORD, "roles": ["coordinator"], "institution_id": "0190f1c2-0000-7000-8000-000000000fff"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.institution_id"
    assert unknown.json()["type"] == "urn:aliada:problem:unknown-reference"  # servicekit.references' one answer
    assert [c["id"] for c in recorder.institution_calls] == ["0190f1c2-0000-7000-8000-000000000fff"]
    token = recorder.institution_calls[0]["authorization"].removeprefix("Bearer ")
    jwks = gw.client.get("/.well-known/jwks.json").json()
    verifier = TokenVerifier(issuer=gw.settings.jwt_issuer, audience="aliada", keys=StaticKeySource(jwks))
    claims = gw.client.portal.call(verifier.verify, token)  # the real verification path
    assert claims["sub"] == "service:gateway" and claims["client_id"] == "gateway"
    assert "admin" in claims["roles"] and claims["scope"] == "institutions:read"
    assert claims["exp"] - claims["iat"] <= 60 and "sid" not in claims
    # That internal token opens no admin endpoint of the gateway.
    assert gw.client.get(ACCOUNTS, headers={"Authorization": f"Bearer {token}"}).status_code == 403

    client = gw.client.post(CLIENTS, json={"name": "LMS", "institution_id": "0190f1c2-0000-7000-8000-000000000fff"}, headers=admin)
    assert client.status_code == 422 and client.json()["errors"][0]["field"] == "body.institution_id"
    assert gw.client.post(CLIENTS, json={"name": "LMS", "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin).status_code == 201


def test_participants_down_gives_503_and_writes_nothing(make_gateway, nowhere: str) -> None:
    gw = make_gateway(participants_url=nowhere)
    admin = gw.bearer()
    email = new_email()
    resp = gw.client.post(ACCOUNTS, json={"email": email, "password": PASSWORD, "roles": ["mentee"], "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin)
    assert resp.status_code == 503, resp.text
    assert resp.json()["type"] == "urn:aliada:problem:upstream-unavailable"
    assert email not in emails(gw, admin)
    assert gw.client.post(CLIENTS, json={"name": "LMS", "institution_id": "0190f1c2-0000-7000-8000-00000000000a"}, headers=admin).status_code == 503
    assert gw.client.get(CLIENTS, headers=admin).json()["items"] == []


# -- API clients ---------------------------------------------------------------------------------


def test_client_lifecycle_and_secret_shown_once(gw: Gateway, admin: dict[str, str]) -> None:
    created = gw.client.post(CLIENTS, json={"name": "SIS", "scopes": ["events:read"], "institution_id": "0190f1c2-0000-7000-8000-00000000000b"}, headers=admin)
    assert created.status_code == 201
    client = created.json()
    secret = client.pop("client_secret")
    assert secret.startswith("cs_") and len(secret) > 40
    fetched = gw.client.get(f"{CLIENTS}/{client['id']}", headers=admin).json()
    assert fetched == client and "client_secret" not in fetched
    assert client["id"] in {c["id"] for c in gw.client.get(CLIENTS, params={"institution_id": "0190f1c2-0000-7000-8000-00000000000b"}, headers=admin).json()["items"]}

    rotated = gw.client.post(f"{CLIENTS}/{client['id']}/secret", headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != secret
    form = {"grant_type": "client_credentials", "client_id": client["client_id"]}
    assert gw.client.post("/v1/auth/token", data=form | {"client_secret": secret}).status_code == 401
    assert gw.client.post("/v1/auth/token", data=form | {"client_secret": new_secret}).status_code == 200

    renamed = gw.client.patch(f"{CLIENTS}/{client['id']}", json={"name": "SIS 2"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "SIS 2"
    assert gw.client.delete(f"{CLIENTS}/{client['id']}", headers=admin).status_code == 204
    assert gw.client.get(f"{CLIENTS}/{client['id']}", headers=admin).status_code == 404
    assert gw.client.post("/v1/auth/token", data=form | {"client_secret": new_secret}).status_code == 401


def test_client_tokens_cannot_use_admin_endpoints(gw: Gateway, admin: dict[str, str]) -> None:
    client = gw.client.post(CLIENTS, json={"name": "Bot", "scopes": []}, headers=admin).json()
    token = gw.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
    ).json()["access_token"]
    assert jwt.get_unverified_claims(token)["client_id"] == client["client_id"]
    assert gw.client.get(ACCOUNTS, headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_email_filter_refuses_control_characters(gw: Gateway, admin: dict[str, str]) -> None:
    # A NUL would otherwise reach PostgreSQL and fail there as a 500.
    resp = gw.client.get(ACCOUNTS, params={"email": "a\x00@uni.example"}, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "query.email"
    assert emails(gw, admin, email=ADMIN_EMAIL.upper()) == {ADMIN_EMAIL}
