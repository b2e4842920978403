"""Single sign-on: identity-provider registrations and the RFC 8693 token
exchange, against test IdPs on loopback.

Each test IdP signs with its own keys (made here) and serves its JWKS over real
HTTP from a small server thread on 127.0.0.1, counting the fetches; the
gateway verifies its tokens with servicekit's one verifier and fetches the
keys with ``RemoteKeySource``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jose import jwk, jwt

from servicekit.auth import RemoteKeySource, construct_keys
from servicekit.problems import ProblemError
from servicekit.tokens import SigningKey, access_claims

from gateway.db import migrate
from gateway.main import create_app
from gateway.sso.service import url_refusal
from gateway.tests.conftest import PASSWORD, Gateway, base_settings
from gateway.tests.upstream import UpstreamServer, dead_url

TOKEN = "/v1/auth/token"
IDPS = "/v1/admin/identity-providers"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
A = "0190f1c2-0000-7000-8000-00000000000a"
B = "0190f1c2-0000-7000-8000-00000000000b"
CLIENT_ID = "aliada-web"  # our client id at the test IdPs: the audience of their ID tokens


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@uni.example"


# -- a test identity provider on loopback ---------------------------------------------


class IdpKey:
    """A private key of a test IdP and its public JWK."""

    def __init__(self, kid: str, alg: str = "RS256") -> None:
        self.kid, self.alg = kid, alg
        if alg.startswith("ES"):
            private = ec.generate_private_key(ec.SECP256R1())
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            numbers = private.public_key().public_numbers()
            self.public_jwk = {
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": alg, "kid": kid,
                "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big")),
            }
            self.public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            self._key = jwk.construct(pem.decode(), alg)
        else:
            rsa = SigningKey.generate(kid=kid)
            self.public_jwk = {k: v for k, v in rsa.public_jwk.items() if k != "alg"}  # like Entra: no alg
            self.public_pem = rsa.public_pem.encode()
            self._key = jwk.construct(rsa.private_pem, alg)

    def sign(self, signing_input: str) -> bytes:
        return self._key.sign(signing_input.encode())


def compact(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())


class Urls:
    """Where an IdP would be: enough to register it."""

    def __init__(self, base_url: str, name: str) -> None:
        self.issuer = f"{base_url}/{name}"
        self.jwks_url = f"{self.issuer}/jwks"


class Idp(Urls):
    def __init__(self, base_url: str, name: str, alg: str = "RS256", key: IdpKey | None = None) -> None:
        super().__init__(base_url, name)
        self.keys: dict[str, IdpKey] = {}
        self.published: list[str] = []
        self.hits = 0
        if key is None:
            self.current = self.add_key(f"{name}-k1", alg)
        else:
            self.current = self.keys[key.kid] = key
            self.published.append(key.kid)

    def add_key(self, kid: str, alg: str = "RS256", publish: bool = True) -> IdpKey:
        key = self.keys[kid] = IdpKey(kid, alg)
        if publish:
            self.published.append(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.keys[kid].public_jwk for kid in self.published]}

    def claims(self, subject: str | None, *, email: str | None = None, verified: bool | None = True, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": CLIENT_ID, "sub": subject, "iat": now, "exp": now + 300, "nonce": "n-1"}
        if email is not None:
            claims["email"] = email
        if verified is not None:
            claims["email_verified"] = verified
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, subject: str | None, *, key: IdpKey | None = None, typ: str | None = "JWT", kid: str | None = None, **claims: Any) -> str:
        key = key or self.current
        header: dict[str, Any] = {"alg": key.alg, "kid": kid or key.kid}
        if typ is not None:
            header["typ"] = typ
        signing_input = compact(header, self.claims(subject, **claims))
        return signing_input + "." + b64(key.sign(signing_input))


class IdpServer:
    """Every test IdP's JWKS at /<name>/jwks, plus a redirecting and a huge one."""

    def __init__(self) -> None:
        self.idps: dict[str, Idp] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").split("/")[0]
                if name == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"{server.url}/{self.path.split('/')[2]}/jwks")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if name == "huge":
                    body = json.dumps({"keys": [], "padding": "x" * (300 * 1024)}).encode()
                elif name in server.idps and self.path.endswith("/jwks"):
                    server.idps[name].hits += 1
                    body = json.dumps(server.idps[name].jwks()).encode()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def idp(self, name: str, alg: str = "RS256", key: IdpKey | None = None) -> Idp:
        idp = self.idps[name] = Idp(self.url, name, alg, key)
        return idp

    def urls(self, name: str) -> Urls:
        return Urls(self.url, name)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def idps() -> Iterator[IdpServer]:
    server = IdpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gw(database_factory, upstream: UpstreamServer) -> Iterator[Gateway]:
    url = database_factory.migrated("gateway", migrate)
    # Tests serve their IdPs over http on loopback: the development setting.
    settings = base_settings(url, upstream.url, sso_allow_insecure_urls=True, sso_jwks_refetch_seconds=60, sso_jwks_max_age_seconds=3600)
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


@pytest.fixture(scope="module")
def admin(gw: Gateway) -> dict[str, str]:
    return gw.bearer()


def registration(idp: Urls, **fields: Any) -> dict[str, Any]:
    return {"name": "Universidad", "issuer": idp.issuer, "jwks_url": idp.jwks_url, "audience": CLIENT_ID, **fields}


def register(gw: Gateway, headers: dict[str, str], idp: Urls, **fields: Any) -> dict[str, Any]:
    resp = gw.client.post(IDPS, json=registration(idp, **fields), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def exchange(gw: Gateway, token: str, token_type: str = ID_TOKEN, **form: str):
    return gw.client.post(TOKEN, data={"grant_type": EXCHANGE, "subject_token": token, "subject_token_type": token_type, **form})


def signed_in(gw: Gateway, token: str, token_type: str = ID_TOKEN) -> dict[str, Any]:
    """Exchange, then /v1/auth/me with the access token we issued."""
    resp = exchange(gw, token, token_type)
    assert resp.status_code == 200, resp.text
    me = gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {resp.json()['access_token']}"})
    assert me.status_code == 200, me.text
    return me.json()


def refused(resp, error: str = "invalid_request", status: int = 400) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["error"] == error and body["error_description"] and body["status"] == status, body
    return body["error_description"]


def account_by_email(gw: Gateway, admin: dict[str, str], email: str) -> list[dict[str, Any]]:
    resp = gw.client.get("/v1/admin/accounts", params={"email": email}, headers=admin)
    assert resp.status_code == 200
    return resp.json()["items"]


# -- the exchange ------------------------------------------------------------------------


def test_first_exchange_creates_her_account_and_later_ones_find_it(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("create")
    register(gw, admin, idp, institution_id=A, account_policy="create", default_roles=["mentee"])
    email = new_email()

    resp = exchange(gw, idp.token("ana-1", email=email))
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["refresh_token"].startswith("rt_") and body["scope"] == ""
    ours = jwt.get_unverified_claims(body["access_token"])
    assert ours["iss"] == gw.settings.jwt_issuer and ours["tid"] == A and ours["roles"] == ["mentee"]
    account = account_by_email(gw, admin, email)[0]
    assert ours["sub"] == account["id"] and account["institution_id"] == A and account["roles"] == ["mentee"]

    # Later exchanges (with a new email, as a plain JWT, without typ, with an at_hash) find the same account.
    assert signed_in(gw, idp.token("ana-1", email="ana.new@uni.example"), JWT_TYPE)["subject"] == account["id"]
    assert signed_in(gw, idp.token("ana-1", email=email, typ=None, at_hash="bm90LWNoZWNrZWQ"))["subject"] == account["id"]
    assert account_by_email(gw, admin, "ana.new@uni.example") == []
    # Her refresh token works as for a password login; her (random) password is unknown.
    assert gw.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}).status_code == 200
    refused(gw.client.post(TOKEN, data={"grant_type": "password", "username": email, "password": PASSWORD}), "invalid_grant")
    # Someone else whose email already has an account is not given a second one.
    refused(exchange(gw, idp.token("eve-1", email=email)))
    assert idp.hits == 1  # the keys were fetched once and cached


def test_link_by_email_needs_a_verified_email_of_an_account_of_the_institution(
    gw: Gateway, admin: dict[str, str], idps: IdpServer
) -> None:
    idp = idps.idp("link")
    provider = register(gw, admin, idp, institution_id=A, account_policy="link_by_email")
    assert provider["emails_verified"] is False
    mentor = gw.create_account(admin, ["mentor"], A)

    assert "verified email" in refused(exchange(gw, idp.token("m-1", email=mentor["email"], verified=False)))
    assert "verified email" in refused(exchange(gw, idp.token("m-1", email=mentor["email"], verified=None)))
    me = signed_in(gw, idp.token("m-1", email=mentor["email"].upper(), verified=True))
    assert me["subject"] == mentor["id"] and me["roles"] == ["mentor"] and me["institution_id"] == A
    # A second IdP user with her email never takes over the linked account.
    assert "already linked" in refused(exchange(gw, idp.token("m-2", email=mentor["email"])))
    # No account with this email in the institution (none at all, or only elsewhere): refused alike.
    elsewhere = gw.create_account(admin, ["mentee"], B)
    nobody = refused(exchange(gw, idp.token("x-1", email=new_email())))
    assert refused(exchange(gw, idp.token("x-2", email=elsewhere["email"]))) == nobody
    assert account_by_email(gw, admin, elsewhere["email"])[0]["id"] == elsewhere["id"]

    # The registration may state that the IdP's emails are verified; an explicit false still refuses.
    patched = gw.client.patch(f"{IDPS}/{provider['id']}", json={"emails_verified": True}, headers=admin)
    assert patched.status_code == 200 and patched.json()["emails_verified"] is True
    mentee = gw.create_account(admin, ["mentee"], A)
    refused(exchange(gw, idp.token("e-1", email=mentee["email"], verified=False)))
    assert signed_in(gw, idp.token("e-1", email=mentee["email"], verified=None))["subject"] == mentee["id"]
    assert signed_in(gw, idp.token("e-1", email=mentee["email"], verified="true"))["subject"] == mentee["id"]


def test_an_unknown_kid_is_refetched_once_then_refused_and_refetches_are_throttled(
    gw: Gateway, admin: dict[str, str], idps: IdpServer
) -> None:
    idp = idps.idp("rotate")
    register(gw, admin, idp, institution_id=A)
    clock = FakeClock()
    gw.app.state.federation.clock = clock
    try:
        assert signed_in(gw, idp.token("r-1", email=new_email()))["institution_id"] == A
        assert idp.hits == 1

        # The IdP has a new key it does not publish yet: one refetch, then refused.
        clock.now += 61
        k2 = idp.add_key("rotate-k2", publish=False)
        assert "unknown kid" in refused(exchange(gw, idp.token("r-1", key=k2)))
        assert idp.hits == 2
        # More unknown kids within the interval: refused without fetching again.
        refused(exchange(gw, idp.token("r-1", key=k2)))
        for _ in range(3):
            refused(exchange(gw, idp.token("r-1", kid=uuid.uuid4().hex)))
        idp.published.append(k2.kid)  # now it is published, but the throttle holds
        refused(exchange(gw, idp.token("r-1", key=k2)))
        assert idp.hits == 2

        clock.now += 61
        assert signed_in(gw, idp.token("r-1", key=k2))["institution_id"] == A
        assert idp.hits == 3
        assert signed_in(gw, idp.token("r-1"))["institution_id"] == A  # k1 is still cached and published
        assert idp.hits == 3

        # The IdP withdraws k1: once the cache is older than its max age, k1 stops working.
        idp.published.remove(idp.current.kid)
        clock.now += 3601
        assert "unknown kid" in refused(exchange(gw, idp.token("r-1")))
        assert idp.hits == 4
    finally:
        gw.app.state.federation.clock = time.monotonic


def test_invalid_subject_tokens_are_refused(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("strict")
    register(gw, admin, idp, institution_id=A)
    other = idps.idp("unregistered", key=idp.current)
    email = new_email()
    key = idp.current
    now = int(time.time())

    def unsigned(header: dict[str, Any], **claims: Any) -> str:
        return compact(header, idp.claims("s-1", email=email, **claims))

    pem_input = unsigned({"alg": "HS256", "kid": key.kid, "typ": "JWT"})
    hs256_public = pem_input + "." + b64(hmac.new(key.public_pem, pem_input.encode(), hashlib.sha256).digest())
    impostor = IdpKey(key.kid)
    valid = idp.token("s-1", email=email)
    head, _, sig = valid.split(".")
    tampered = head + "." + unsigned({}, sub="someone-else").split(".")[1] + "." + sig
    cases = {
        "wrong_audience": idp.token("s-1", email=email, aud="another-client"),
        "unregistered_issuer": other.token("s-1", email=email),
        "issuer_claims_another": idp.token("s-1", email=email, iss=other.issuer),
        "expired": idp.token("s-1", email=email, iat=now - 3600, exp=now - 1800),
        "not_yet_valid": idp.token("s-1", email=email, iat=now + 3600, nbf=now + 3600, exp=now + 7200),
        "missing_exp": idp.token("s-1", email=email, exp=None),
        "missing_sub": idp.token(None, email=email),
        "alg_none": unsigned({"alg": "none", "kid": key.kid, "typ": "JWT"}) + ".",
        "hs256_with_public_key": hs256_public,
        "forged_signature": idp.token("s-1", email=email, key=impostor),
        "tampered_payload": tampered,
        "access_token_typ": idp.token("s-1", email=email, typ="at+jwt"),
        "jwe_shaped": "a.b.c.d.e",
        "not_a_jwt": "opaque-token",
    }
    for name, token in cases.items():
        resp = exchange(gw, token)
        assert resp.status_code == 400, (name, resp.text)
        refused(resp)
    refused(exchange(gw, valid + "x" * 9000))  # over the size cap
    assert account_by_email(gw, admin, email) == []
    assert signed_in(gw, valid)["institution_id"] == A  # the same token, untouched, is fine


def test_an_es256_provider(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("ecdsa", alg="ES256")
    provider = register(gw, admin, idp, institution_id=A, algorithms=["ES256"])
    assert signed_in(gw, idp.token("ec-1", email=new_email()))["institution_id"] == A
    # Pinned to RS256 only, the same token is refused before its signature is checked.
    gw.client.patch(f"{IDPS}/{provider['id']}", json={"algorithms": ["RS256"]}, headers=admin)
    assert "algorithm" in refused(exchange(gw, idp.token("ec-1", email=new_email())))


def test_a_token_of_another_institution_never_yields_an_account_here(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    in_a = gw.create_account(admin, ["mentor"], A)
    # Institution B's IdP, linking by email or creating: never A's account.
    b_link = idps.idp("uni-b-link")
    b_create = idps.idp("uni-b-create", key=b_link.current)
    register(gw, admin, b_link, institution_id=B, account_policy="link_by_email")
    register(gw, admin, b_create, institution_id=B, account_policy="create")
    refused(exchange(gw, b_link.token("b-1", email=in_a["email"])))
    refused(exchange(gw, b_create.token("b-1", email=in_a["email"])))

    # One issuer (a multi-tenant Entra) registered by A and by B: the tid claim decides.
    entra = idps.idp("entra")
    tid_a, tid_b = str(uuid.uuid4()), str(uuid.uuid4())
    mapping_a = {"subject": "oid", "tenant": {"claim": "tid", "value": tid_a}}
    register(gw, admin, entra, institution_id=A, claim_mapping=mapping_a, emails_verified=True)
    for clash in ({}, {"claim_mapping": {"subject": "oid"}}, {"claim_mapping": {"subject": "oid", "tenant": {"claim": "tid", "value": tid_a}}}):
        resp = gw.client.post(IDPS, json=registration(entra, institution_id=B, **clash), headers=admin)
        assert resp.status_code == 409, resp.text
    register(gw, admin, entra, institution_id=B, claim_mapping={"subject": "oid", "tenant": {"claim": "tid", "value": tid_b}}, emails_verified=True)

    oid = str(uuid.uuid4())
    me_a = signed_in(gw, entra.token("pairwise-sub", oid=oid, tid=tid_a, email=new_email(), verified=None))
    me_b = signed_in(gw, entra.token("pairwise-sub", oid=oid, tid=tid_b, email=new_email(), verified=None))
    assert me_a["institution_id"] == A and me_b["institution_id"] == B and me_a["subject"] != me_b["subject"]
    assert "'tid'" in refused(exchange(gw, entra.token("pairwise-sub", oid=oid, tid=str(uuid.uuid4()), email=new_email())))
    refused(exchange(gw, entra.token("pairwise-sub", oid=oid, email=new_email())))  # no tid at all

    # Her account moved to B by an admin: A's IdP no longer signs her in.
    moved = gw.client.patch(f"/v1/admin/accounts/{me_a['subject']}", json={"institution_id": B}, headers=admin)
    assert moved.status_code == 200
    assert "another institution" in refused(exchange(gw, entra.token("s", oid=oid, tid=tid_a, email=new_email())))


def test_a_suspended_account_cannot_exchange(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("suspend")
    register(gw, admin, idp, institution_id=A)
    subject = signed_in(gw, idp.token("su-1", email=new_email()))["subject"]
    assert gw.client.patch(f"/v1/admin/accounts/{subject}", json={"status": "suspended"}, headers=admin).status_code == 200
    assert "suspended" in refused(exchange(gw, idp.token("su-1")))
    assert gw.client.patch(f"/v1/admin/accounts/{subject}", json={"status": "active"}, headers=admin).status_code == 200
    assert signed_in(gw, idp.token("su-1"))["subject"] == subject


def test_exchange_parameters_and_disabled_registrations(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("params")
    provider = register(gw, admin, idp, institution_id=A)
    token = idp.token("p-1", email=new_email())
    assert refused(gw.client.post(TOKEN, data={"grant_type": EXCHANGE, "subject_token_type": ID_TOKEN}))
    assert gw.client.post(TOKEN, data={"grant_type": EXCHANGE, "subject_token": token}).json()["errors"][0]["field"] == "body.subject_token_type"
    refused(exchange(gw, token, ACCESS_TOKEN))
    refused(exchange(gw, token, actor_token=token, actor_token_type=ID_TOKEN))
    refused(exchange(gw, token, requested_token_type="urn:ietf:params:oauth:token-type:refresh_token"))
    refused(exchange(gw, token, audience="another-api"), "invalid_target")
    refused(exchange(gw, token, resource="https://elsewhere.example"), "invalid_target")
    refused(exchange(gw, token, scope="events:read"), "invalid_scope")
    assert exchange(gw, token, requested_token_type=ACCESS_TOKEN, audience="aliada").status_code == 200

    gw.client.patch(f"{IDPS}/{provider['id']}", json={"enabled": False}, headers=admin)
    assert "No identity provider" in refused(exchange(gw, idp.token("p-1")))


def test_the_idp_keys_are_fetched_with_bounds(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    target = idps.idp("target")
    for jwks_url in (f"{idps.url}/redirect/target", f"{idps.url}/huge/jwks", f"{dead_url()}/jwks"):
        # Signed with the key the redirect target publishes.
        idp = idps.idp(f"bounds-{uuid.uuid4().hex[:6]}", key=target.current)
        register(gw, admin, idp, institution_id=A, jwks_url=jwks_url)
        refused(exchange(gw, idp.token("k-1", email=new_email())), "temporarily_unavailable", 503)
    assert target.hits == 0  # the redirect was never followed


# -- registrations -------------------------------------------------------------------------


def test_registrations_are_managed_by_admins_and_the_institutions_coordinators(
    gw: Gateway, admin: dict[str, str], idps: IdpServer
) -> None:
    idp = idps.urls("crud")
    _, coordinator_a = gw.person(admin, ["coordinator"], A)
    _, coordinator_b = gw.person(admin, ["coordinator"], B)
    _, mentor_a = gw.person(admin, ["mentor"], A)

    created = gw.client.post(IDPS, json=registration(idp, account_policy="link_by_email"), headers=coordinator_a)
    assert created.status_code == 201, created.text
    provider = created.json()
    assert provider["institution_id"] == A and provider["default_roles"] == ["applicant"] and provider["algorithms"] == ["RS256"]
    assert provider["claim_mapping"] == {"subject": "sub", "email": "email", "tenant": None}
    path = f"{IDPS}/{provider['id']}"
    assert gw.client.get(path, headers=coordinator_a).json() == provider
    assert provider["id"] in {p["id"] for p in gw.client.get(IDPS, headers=coordinator_a).json()["items"]}
    assert provider["id"] in {p["id"] for p in gw.client.get(IDPS, params={"institution_id": A}, headers=admin).json()["items"]}
    patched = gw.client.patch(path, json={"name": "Campus SSO", "default_roles": ["mentee", "mentor"]}, headers=coordinator_a)
    assert patched.status_code == 200 and patched.json()["name"] == "Campus SSO" and patched.json()["institution_id"] == A

    # Another institution's coordinator: it does not exist for her.
    assert provider["id"] not in {p["id"] for p in gw.client.get(IDPS, headers=coordinator_b).json()["items"]}
    for method, body in (("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)):
        assert gw.client.request(method, path, json=body, headers=coordinator_b).status_code == 404, method
    elsewhere = gw.client.post(IDPS, json=registration(idps.urls("crud-b"), institution_id=B), headers=coordinator_a)
    assert elsewhere.status_code == 403
    # Never roles beyond applicant, mentee and mentor for created accounts.
    for roles in (["coordinator"], ["admin"], ["evaluator"]):
        resp = gw.client.post(IDPS, json=registration(idps.urls("crud-roles"), default_roles=roles), headers=coordinator_a)
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"].startswith("body.default_roles"), resp.text
    # Mentors, anonymous callers, forged and expired tokens.
    assert gw.client.get(IDPS, headers=mentor_a).status_code == 403
    assert gw.client.post(IDPS, json=registration(idps.urls("crud-m")), headers=mentor_a).status_code == 403
    assert gw.client.get(IDPS).status_code == 401
    active = gw.client.portal.call(gw.app.state.ring.active_key)
    claims = access_claims(issuer=gw.settings.jwt_issuer, audience="aliada", subject=str(uuid.uuid4()), tenant_id=A, roles=["coordinator"])
    forged = SigningKey.generate(kid=active.kid).sign(claims)
    expired = active.sign(access_claims(
        issuer=gw.settings.jwt_issuer, audience="aliada", subject=str(uuid.uuid4()), tenant_id=A, roles=["coordinator"], now=time.time() - 3600
    ))
    for token in (forged, expired, "not-a-token"):
        assert gw.client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401

    # Admins: the institution is required and checked; the gateway's own issuer is refused.
    missing = gw.client.post(IDPS, json=registration(idps.urls("crud-admin")), headers=admin)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.institution_id"
    unknown = gw.client.post(IDPS, json=registration(idps.urls("crud-x"), institution_id="0190f1c2-0000-7000-8000-0000000000ff"), headers=admin)
    assert unknown.status_code == 422
    own = gw.client.post(IDPS, json={**registration(idp, institution_id=A), "issuer": gw.settings.jwt_issuer}, headers=admin)
    assert own.status_code == 422 and own.json()["errors"][0]["field"] == "body.issuer"
    bad_subject = gw.client.post(IDPS, json=registration(idps.urls("crud-s"), institution_id=A, claim_mapping={"subject": "iss"}), headers=admin)
    assert bad_subject.status_code == 422

    assert gw.client.delete(path, headers=coordinator_a).status_code == 204
    assert gw.client.get(path, headers=admin).status_code == 404


def test_changing_whose_subjects_a_registration_accepts_drops_its_links(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("relink")
    provider = register(gw, admin, idp, institution_id=A, account_policy="link_by_email")
    mentee = gw.create_account(admin, ["mentee"], A)
    assert signed_in(gw, idp.token("old-sub", email=mentee["email"]))["subject"] == mentee["id"]
    patched = gw.client.patch(f"{IDPS}/{provider['id']}", json={"claim_mapping": {"subject": "oid"}}, headers=admin)
    assert patched.status_code == 200
    # "old-sub" meant someone under `sub`; under `oid` the link is gone and she links again by email.
    refused(exchange(gw, idp.token("x", oid="old-sub")))
    assert signed_in(gw, idp.token("x", oid="new-oid", email=mentee["email"]))["subject"] == mentee["id"]


def test_issuer_and_jwks_urls_must_be_https_on_a_public_host() -> None:
    good = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
    assert url_refusal(good, allow_insecure=False, issuer=True) is None
    assert url_refusal("https://idp.uni.example/keys?x=1", allow_insecure=False) is None
    for url in (
        "http://idp.uni.example/keys",
        "https://user:pw@idp.uni.example/keys",
        "https://127.0.0.1/keys",
        "https://[::1]/keys",
        "https://10.0.0.5/keys",
        "https://169.254.169.254/latest",
        "https://localhost/keys",
        "https://svc.internal/keys",
        "https://idp.uni.example/keys#frag",
        "https://idp.uni.example:99999/keys",
        "https:///keys",
        "https://idp.uni.example/ keys",
        "ftp://idp.uni.example/keys",
    ):
        assert url_refusal(url, allow_insecure=False) is not None, url
    assert url_refusal("https://idp.uni.example/tenant?x=1", allow_insecure=False, issuer=True) is not None
    assert url_refusal("http://127.0.0.1:8080/jwks", allow_insecure=True) is None


def test_only_public_keys_that_fit_their_algorithm_are_taken_from_an_idp_jwks() -> None:
    ec_key, rsa_key = IdpKey("ec", "ES256"), IdpKey("rsa")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    jwks = {
        "keys": [
            {k: v for k, v in ec_key.public_jwk.items() if k != "alg"},  # ES256 from its curve
            rsa_key.public_jwk,  # no alg: RS256
            {**rsa_key.public_jwk, "kid": "rsa-as-es256", "alg": "ES256"},
            {"kty": "EC", "crv": "P-384", "kid": "p384-as-es256", "alg": "ES256",
             "x": b64(p384.x.to_bytes(48, "big")), "y": b64(p384.y.to_bytes(48, "big"))},
            {**ec_key.public_jwk, "kid": "private", "d": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {**ec_key.public_jwk, "kid": "odd-alg", "alg": ["ES256"]},
        ]
    }
    keys = construct_keys(jwks, ["RS256", "ES256", "HS256"])
    assert {kid: k.alg for kid, k in keys.items()} == {"ec": "ES256", "rsa": "RS256"}
    assert construct_keys({"keys": "not-a-list"}, ["RS256"]) == {}


def test_a_jwks_fetch_that_stalls_is_cut_off() -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json={"keys": []})

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(stall)) as client:
            source = RemoteKeySource("https://idp.uni.example/keys", client=client, timeout=0.05)
            with pytest.raises(ProblemError) as refused:
                await source.get("k1")
            assert refused.value.status == 503

    asyncio.run(asyncio.wait_for(fetch(), timeout=10))


# -- privileged accounts need a platform admin's approval ------------------------------------


def audit_events(gw: Gateway, provider_id: str) -> list[Any]:
    from sqlmodel import Session, select

    from gateway.audit import AuditEvent

    with Session(gw.app.state.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.target_id == provider_id).order_by(AuditEvent.at)).all())


def test_a_coordinators_idp_cannot_take_over_staff_accounts_until_an_admin_approves(
    gw: Gateway, admin: dict[str, str], idps: IdpServer
) -> None:
    idp = idps.idp("takeover")
    coordinator, coordinator_a = gw.person(admin, ["coordinator"], A)
    _, coordinator_b = gw.person(admin, ["coordinator"], B)
    _, mentor_a = gw.person(admin, ["mentor"], A)
    created = gw.client.post(IDPS, json=registration(idp, account_policy="link_by_email", emails_verified=True), headers=coordinator_a)
    assert created.status_code == 201, created.text
    provider = created.json()
    assert provider["privileged_approved_at"] is None
    path = f"{IDPS}/{provider['id']}"

    other_coordinator = gw.create_account(admin, ["coordinator"], A)
    staff = [
        other_coordinator,
        coordinator,  # her own account too
        gw.create_account(admin, ["evaluator"], A),
        gw.create_account(admin, ["mentor", "coordinator"], A),
    ]
    for n, account in enumerate(staff):
        for email in (account["email"], f"  {account['email'].upper()} "):
            assert "not approved" in refused(exchange(gw, idp.token(f"staff-{n}", email=email)))
    # A platform admin belongs to no institution: never linked by any institution's IdP.
    platform_admin = gw.create_account(admin, ["admin"], None)
    assert "No account of this institution" in refused(exchange(gw, idp.token("admin-1", email=platform_admin["email"])))
    # Participants still link by email, as documented.
    mentee = gw.create_account(admin, ["mentee"], A)
    peer = gw.create_account(admin, ["peer_mentor"], A)
    assert signed_in(gw, idp.token("mentee-1", email=mentee["email"]))["subject"] == mentee["id"]
    assert signed_in(gw, idp.token("peer-1", email=peer["email"]))["subject"] == peer["id"]

    # Approval: admins only (her own coordinator 403, another institution's 404, nobody 401).
    approval = f"{path}/privileged-approval"
    assert gw.client.put(approval, headers=coordinator_a).status_code == 403
    assert gw.client.put(approval, headers=mentor_a).status_code == 403
    assert gw.client.put(approval, headers=coordinator_b).status_code == 404
    assert gw.client.delete(approval, headers=coordinator_b).status_code == 404
    assert gw.client.put(approval).status_code == 401
    assert gw.client.put(f"{IDPS}/{uuid.uuid4()}/privileged-approval", headers=admin).status_code == 404
    assert gw.client.get(path, headers=admin).json()["privileged_approved_at"] is None
    # No refused exchange left a link behind: the first staff subject is still unlinked.
    approved = gw.client.put(approval, headers=admin)
    assert approved.status_code == 200 and approved.json()["privileged_approved_at"] is not None
    assert signed_in(gw, idp.token("staff-0", email=other_coordinator["email"]))["subject"] == other_coordinator["id"]

    # A change of a trust field by a coordinator withdraws the approval, even for linked staff.
    renamed = gw.client.patch(path, json={"name": "Campus SSO"}, headers=coordinator_a)
    assert renamed.status_code == 200 and renamed.json()["privileged_approved_at"] is not None
    for change in ({"jwks_url": idps.idp("takeover-2", key=idp.current).jwks_url}, {"emails_verified": True}, {"account_policy": "link_by_email"}):
        assert gw.client.put(approval, headers=admin).status_code == 200
        patched = gw.client.patch(path, json=change, headers=coordinator_a)
        assert patched.status_code == 200 and patched.json()["privileged_approved_at"] is None, change
        assert "not approved" in refused(exchange(gw, idp.token("staff-0")))
    # An admin's own change keeps it; an admin may withdraw it.
    assert gw.client.put(approval, headers=admin).status_code == 200
    assert gw.client.patch(path, json={"emails_verified": True}, headers=admin).json()["privileged_approved_at"] is not None
    assert signed_in(gw, idp.token("staff-0"))["subject"] == other_coordinator["id"]
    withdrawn = gw.client.delete(approval, headers=admin)
    assert withdrawn.status_code == 200 and withdrawn.json()["privileged_approved_at"] is None
    assert "not approved" in refused(exchange(gw, idp.token("staff-0")))

    # A linked participant later made coordinator no longer signs in through it.
    promoted = gw.client.patch(f"/v1/admin/accounts/{mentee['id']}", json={"roles": ["coordinator"]}, headers=admin)
    assert promoted.status_code == 200, promoted.text
    assert "not approved" in refused(exchange(gw, idp.token("mentee-1")))

    # Every act is audited, with ids and field names only.
    events = audit_events(gw, provider["id"])
    actions = [e.action for e in events]
    assert actions[0] == "identity_provider.created" and events[0].actor_id == coordinator["id"] and events[0].actor_role == "coordinator"
    assert events[0].details == {"account_policy": "link_by_email", "privileged_approved": False}
    assert actions.count("identity_provider.privileged_approved") == 5 and actions.count("identity_provider.privileged_withdrawn") == 1
    updates = [e for e in events if e.action == "identity_provider.updated"]
    assert [e.details["fields"] for e in updates][:2] == [["name"], ["jwks_url"]]
    assert [e.details["privileged_withdrawn"] for e in updates] == [False, True, True, True, False]
    assert all(e.institution_id == A and e.target_type == "identity_provider" for e in events)
    text = json.dumps([e.details for e in events])
    assert "Campus" not in text and "Universidad" not in text and "@" not in text and "http" not in text

    assert gw.client.delete(path, headers=coordinator_a).status_code == 204
    assert audit_events(gw, provider["id"])[-1].action == "identity_provider.deleted"


def test_an_admins_registration_is_approved_by_her(gw: Gateway, admin: dict[str, str], idps: IdpServer) -> None:
    idp = idps.idp("admin-approved")
    provider = register(gw, admin, idp, institution_id=A, account_policy="link_by_email")
    assert provider["privileged_approved_at"] is not None
    coordinator = gw.create_account(admin, ["coordinator"], A)
    assert signed_in(gw, idp.token("c-1", email=coordinator["email"]))["subject"] == coordinator["id"]
    event = audit_events(gw, provider["id"])[0]
    assert event.actor_role == "admin" and event.details["privileged_approved"] is True
