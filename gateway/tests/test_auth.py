"""The token endpoint (password, refresh rotation and reuse, client
credentials), revocation, /v1/auth/me, and brute-force limits."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

from jose import jwt

from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Gateway

TOKEN = "/v1/auth/token"


def claims(token: str) -> dict:
    return jwt.get_unverified_claims(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_client(gw: Gateway, admin: dict[str, str], scopes: list[str], institution_id: str | None = "0190f1c2-0000-7000-8000-00000000000a") -> dict:
    resp = gw.client.post(
        "/v1/admin/clients", json={"name": "LMS", "scopes": scopes, "institution_id": institution_id}, headers=admin
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


# -- password grant ---------------------------------------------------------------


def test_password_grant_issues_rfc6749_tokens_with_the_agreed_claims(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentee"], "0190f1c2-0000-7000-8000-00000000000a")
    resp = gw.client.post(TOKEN, data={"grant_type": "password", "username": account["email"].upper(), "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["scope"] == ""
    assert body["refresh_token"].startswith("rt_")
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    c = claims(body["access_token"])
    assert c["sub"] == account["id"] and c["tid"] == "0190f1c2-0000-7000-8000-00000000000a" and c["roles"] == ["mentee"]
    assert c["iss"] == gw.settings.jwt_issuer and c["aud"] == "aliada" and c["exp"] - c["iat"] == 900
    assert c["jti"] and c["sid"] and c["scope"] == "" and "client_id" not in c


def test_unknown_user_and_wrong_password_get_the_same_answer(gw: Gateway) -> None:
    wrong = gw.client.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL, "password": "not-the-password"})
    unknown = gw.client.post(TOKEN, data={"grant_type": "password", "username": "nobody@uni.example", "password": "x" * 12})
    for resp in (wrong, unknown):
        assert resp.status_code == 400
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["error"] == "invalid_grant"
    assert wrong.json()["error_description"] == unknown.json()["error_description"]


def test_token_request_errors_follow_rfc6749(gw: Gateway) -> None:
    missing = gw.client.post(TOKEN, data={"username": ADMIN_EMAIL})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert missing.json()["errors"][0]["field"] == "body.grant_type"
    unsupported = gw.client.post(TOKEN, data={"grant_type": "authorization_code", "code": "x"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    no_password = gw.client.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL})
    assert no_password.status_code == 400 and no_password.json()["error"] == "invalid_request"
    scoped = gw.client.post(
        TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "scope": "events:read"}
    )
    assert scoped.status_code == 400 and scoped.json()["error"] == "invalid_scope"
    as_json = gw.client.post(TOKEN, json={"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_suspended_account_cannot_log_in(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentor"])
    assert gw.client.patch(f"/v1/admin/accounts/{account['id']}", json={"status": "suspended"}, headers=admin).status_code == 200
    resp = gw.client.post(TOKEN, data={"grant_type": "password", "username": account["email"], "password": PASSWORD})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


# -- refresh rotation and reuse detection -------------------------------------------


def test_refresh_rotates_within_the_same_family(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentee"])
    first = gw.token(account["email"], PASSWORD)
    second = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert claims(body["access_token"])["sid"] == claims(first["access_token"])["sid"]
    assert claims(body["access_token"])["jti"] != claims(first["access_token"])["jti"]
    third = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert third.status_code == 200
    unknown = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": "rt_made-up"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


def test_reused_refresh_token_revokes_the_family_and_its_access_tokens_at_the_edge(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentee"])
    first = gw.token(account["email"], PASSWORD)
    rotated = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).json()
    access = bearer(rotated["access_token"])
    assert gw.client.get("/v1/auth/me", headers=access).status_code == 200
    assert gw.client.get("/v1/programs/echo", headers=access).status_code == 200

    reuse = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert "revoked" in reuse.json()["error_description"]
    # The whole family is dead: the newest refresh token and every access token.
    again = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]})
    assert again.status_code == 400
    for path in ("/v1/auth/me", "/v1/programs/echo"):
        resp = gw.client.get(path, headers=access)
        assert resp.status_code == 401, path
        assert resp.headers["www-authenticate"].startswith("Bearer")
    # Another session of the same person is untouched.
    other = gw.token(account["email"], PASSWORD)
    assert gw.client.get("/v1/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_a_revocation_made_by_another_replica_is_seen_within_the_cache_window(make_gateway) -> None:
    one = make_gateway(revocation_cache_seconds=0.0)
    two = make_gateway(database_url=one.settings.database_url, revocation_cache_seconds=0.0)
    tokens = one.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert two.client.get("/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert one.client.post("/v1/auth/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    assert two.client.get("/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401


# -- client credentials ------------------------------------------------------------------


def test_client_credentials_grants_a_subset_of_the_client_scopes(gw: Gateway, admin: dict[str, str]) -> None:
    client = make_client(gw, admin, ["events:read", "training:write"])
    secret = client["client_secret"]
    full = gw.client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": secret})
    assert full.status_code == 200, full.text
    assert "refresh_token" not in full.json()
    assert full.json()["scope"] == "events:read training:write"
    c = claims(full.json()["access_token"])
    assert c["sub"] == c["client_id"] == client["client_id"] and c["tid"] == "0190f1c2-0000-7000-8000-00000000000a" and c["roles"] == []
    subset = gw.client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": secret, "scope": "events:read"},
    )
    assert subset.status_code == 200 and subset.json()["scope"] == "events:read"
    assert claims(subset.json()["access_token"])["scope"] == "events:read"
    superset = gw.client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": secret,
            "scope": "events:read institutions:write",
        },
    )
    assert superset.status_code == 400 and superset.json()["error"] == "invalid_scope"
    assert "institutions:write" in superset.json()["error_description"]


def test_client_credentials_by_http_basic(gw: Gateway, admin: dict[str, str]) -> None:
    client = make_client(gw, admin, ["events:read"])
    basic = base64.b64encode(f"{quote_plus(client['client_id'])}:{quote_plus(client['client_secret'])}".encode()).decode()
    ok = gw.client.post(TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200, ok.text
    wrong = base64.b64encode(f"{client['client_id']}:cs_wrong".encode()).decode()
    refused = gw.client.post(TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert refused.headers["www-authenticate"].startswith("Basic")
    both = gw.client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


def test_unknown_or_inactive_client_is_invalid_client(gw: Gateway, admin: dict[str, str]) -> None:
    unknown = gw.client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": "cli_nope", "client_secret": "cs_nope"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    missing = gw.client.post(TOKEN, data={"grant_type": "client_credentials"})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    client = make_client(gw, admin, ["events:read"])
    form = {"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]}
    token = gw.client.post(TOKEN, data=form).json()["access_token"]
    assert gw.client.patch(f"/v1/admin/clients/{client['id']}", json={"active": False}, headers=admin).status_code == 200
    assert gw.client.post(TOKEN, data=form).status_code == 401
    # Deactivation ends the tokens it already had, at the edge.
    assert gw.client.get("/v1/auth/me", headers=bearer(token)).status_code == 401


# -- revocation and me ------------------------------------------------------------------------


def test_revoking_a_refresh_token_ends_its_session(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentor"])
    tokens = gw.token(account["email"], PASSWORD)
    resp = gw.client.post("/v1/auth/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
    assert resp.status_code == 200 and resp.json() == {}
    assert gw.client.get("/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    refresh = gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400


def test_revoking_an_access_token_is_a_logout(gw: Gateway, admin: dict[str, str]) -> None:
    account = gw.create_account(admin, ["mentor"])
    tokens = gw.token(account["email"], PASSWORD)
    assert gw.client.post("/v1/auth/revoke", data={"token": tokens["access_token"]}).status_code == 200
    assert gw.client.get("/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 400


def test_revoking_unknown_tokens_is_a_quiet_200(gw: Gateway) -> None:
    assert gw.client.post("/v1/auth/revoke", data={"token": "rt_unknown"}).status_code == 200
    assert gw.client.post("/v1/auth/revoke", data={"token": "a.b.c"}).status_code == 200
    missing = gw.client.post("/v1/auth/revoke", data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_me_for_a_person_and_for_a_client(gw: Gateway, admin: dict[str, str]) -> None:
    account, headers = gw.person(admin, ["coordinator"], "0190f1c2-0000-7000-8000-00000000000b")
    me = gw.client.get("/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json() | {"expires_at": None} == {
        "subject": account["id"],
        "kind": "account",
        "email": account["email"],
        "name": None,
        "client_id": None,
        "roles": ["coordinator"],
        "institution_id": "0190f1c2-0000-7000-8000-00000000000b",
        "scopes": [],
        "expires_at": None,
    }
    client = make_client(gw, admin, ["events:read"], "0190f1c2-0000-7000-8000-00000000000b")
    token = gw.client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]}
    ).json()["access_token"]
    me = gw.client.get("/v1/auth/me", headers=bearer(token)).json()
    assert me["kind"] == "client" and me["client_id"] == client["client_id"] and me["name"] == "LMS"
    assert me["scopes"] == ["events:read"] and me["institution_id"] == "0190f1c2-0000-7000-8000-00000000000b" and me["email"] is None
    assert gw.client.get("/v1/auth/me").status_code == 401
    assert gw.client.get("/v1/auth/me", headers=bearer("not-a-token")).status_code == 401


# -- brute force ------------------------------------------------------------------------------


def test_repeated_bad_passwords_are_rate_limited_per_account_and_address(make_gateway) -> None:
    """The address that guessed is stopped; the owner elsewhere is not
    (gateway/tests/test_login_throttle.py tries the variants)."""
    gw = make_gateway(login_rate_limit_per_address="3/minute")
    for _ in range(3):
        assert gw.client.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL, "password": "wrong-guess"}).status_code == 400
    limited = gw.client.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD})
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Another account is not affected, nor the same account from another address.
    other = gw.client.post(TOKEN, data={"grant_type": "password", "username": "someone@uni.example", "password": "wrong-guess"})
    assert other.status_code == 400
    elsewhere = gw.peer("198.51.100.20")
    assert elsewhere.post(TOKEN, data={"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200


def test_token_requests_are_rate_limited_per_address(make_gateway) -> None:
    gw = make_gateway(token_rate_limit_per_ip="4/minute")
    codes = [gw.client.post(TOKEN, data={"grant_type": "password", "username": f"u{i}@uni.example", "password": "x" * 12}).status_code for i in range(5)]
    assert codes == [400, 400, 400, 400, 429]


def test_repeated_bad_client_secrets_are_rate_limited_per_client(make_gateway) -> None:
    gw = make_gateway(token_rate_limit_per_identity="2/minute")
    admin = gw.bearer()
    client = make_client(gw, admin, ["events:read"])
    bad = {"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "cs_wrong"}
    assert [gw.client.post(TOKEN, data=bad).status_code for _ in range(2)] == [401, 401]
    good = {**bad, "client_secret": client["client_secret"]}
    assert gw.client.post(TOKEN, data=good).status_code == 429


def test_replicas_share_the_limits_through_redis(make_gateway) -> None:
    """With Redis storage (production), a brute force spread over replicas
    still stops at the per-account limit."""
    redis = "redis://127.0.0.1:6379/15"
    one = make_gateway(rate_limit_storage=redis, login_rate_limit_per_address="3/minute")
    two = make_gateway(database_url=one.settings.database_url, rate_limit_storage=redis, login_rate_limit_per_address="3/minute")
    admin = one.bearer()
    account = one.create_account(admin, ["mentee"])  # a fresh identity: no counts left from other runs
    bad = {"grant_type": "password", "username": account["email"], "password": "wrong-guess"}
    codes = [gw.client.post(TOKEN, data=bad).status_code for gw in (one, two, one)]
    assert codes == [400, 400, 400]
    good = {**bad, "password": PASSWORD}
    assert two.client.post(TOKEN, data=good).status_code == 429
    assert one.client.post(TOKEN, data=good).status_code == 429
