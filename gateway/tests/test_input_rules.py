"""servicekit's input rule at the gateway: text PostgreSQL cannot store (NUL,
lone surrogates) is refused naming the field, on both backends, with nothing
written, in sign-up (no token needed), the token endpoint's form and HTTP
Basic credentials (no token needed; the OAuth 400 invalid_request), account
and client administration, webhook subscriptions, identity-provider
registrations, and query filters."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from sqlmodel import Session, func, select

from gateway.models import Account, ApiClient
from gateway.sso.models import IdentityProvider
from gateway.tests.conftest import ADMIN_EMAIL, PASSWORD, Gateway
from gateway.webhooks.models import WebhookSubscription

INST_A = "0190f1c2-0000-7000-8000-00000000000a"
BAD = ["a\x00b", "\x00", "tail\ud800", "\udfff"]
TOKEN = "/v1/auth/token"


def counts(gw: Gateway) -> tuple[int, ...]:
    with Session(gw.app.state.engine) as session:
        return tuple(session.exec(select(func.count()).select_from(m)).one() for m in (Account, ApiClient, WebhookSubscription, IdentityProvider))


def post_json(gw: Gateway, url: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST") -> Any:
    # json.dumps writes a lone surrogate as an escape, as a client would.
    return gw.client.request(method, url, content=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})})


def refused(response: Any, field: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert any(f == field or f.startswith(field + ".") for f in (e["field"] for e in body["errors"])), body
    return body


@pytest.mark.parametrize("bad", BAD)
def test_json_bodies(gw: Gateway, admin: dict[str, str], bad: str) -> None:
    before = counts(gw)
    refused(post_json(gw, "/v1/auth/signup", {"email": f"ana{bad}@uni.example", "password": PASSWORD, "institution_id": INST_A}), "body.email")
    refused(post_json(gw, "/v1/auth/signup", {"email": "ana@uni.example", "password": f"{PASSWORD}{bad}", "institution_id": INST_A}), "body.password")
    account = {"email": f"co{bad}@uni.example", "password": PASSWORD, "roles": ["coordinator"], "institution_id": INST_A}
    refused(post_json(gw, "/v1/admin/accounts", account, admin), "body.email")
    refused(post_json(gw, "/v1/admin/clients", {"name": f"LMS {bad}", "scopes": [], "institution_id": INST_A}, admin), "body.name")
    hook = {"url": "https://93.184.216.34/hook", "event_types": ["match.*"], "institution_id": INST_A, "description": f"Moodle {bad}"}
    refused(post_json(gw, "/v1/webhooks/subscriptions", hook, admin), "body.description")
    idp = {"institution_id": INST_A, "name": f"IdP {bad}", "issuer": "https://idp.uni.example", "jwks_url": "https://93.184.216.34/keys", "audience": "x"}
    refused(post_json(gw, "/v1/admin/identity-providers", idp, admin), "body.name")
    idp = {**idp, "name": "IdP", "claim_mapping": {"tenant": {"claim": "tid", "value": f"t{bad}"}}}
    refused(post_json(gw, "/v1/admin/identity-providers", idp, admin), "body.claim_mapping.tenant.value")
    assert counts(gw) == before


@pytest.mark.parametrize("bad", BAD)
def test_a_patch_of_an_account(gw: Gateway, admin: dict[str, str], bad: str) -> None:
    account = gw.create_account(admin, ["mentor"])
    refused(post_json(gw, f"/v1/admin/accounts/{account['id']}", {"email": f"x{bad}@uni.example"}, admin, "PATCH"), "body.email")
    assert gw.client.get(f"/v1/admin/accounts/{account['id']}", headers=admin).json()["email"] == account["email"]


@pytest.mark.parametrize("name", ["username", "password", "client_id", "client_secret", "refresh_token", "scope", "grant_type", "subject_token"])
def test_the_token_form_answers_invalid_request_naming_the_parameter(gw: Gateway, name: str) -> None:
    for bad in ("a\x00b", "\x00"):
        form = {"grant_type": "password", "username": ADMIN_EMAIL, "password": PASSWORD, name: bad}
        body = refused(gw.client.post(TOKEN, data=form), f"body.{name}", status=400)
        assert body["error"] == "invalid_request"
    body = refused(gw.client.post("/v1/auth/revoke", data={"token": "rt_\x00"}), "body.token", status=400)
    assert body["error"] == "invalid_request"


def test_http_basic_credentials_with_unstorable_text_are_invalid_client(gw: Gateway) -> None:
    for user, secret in (("cli\x00", "s"), ("cli", "s\x00"), (quote("cli\x00"), "s")):
        raw = base64.b64encode(f"{user}:{secret}".encode()).decode()
        r = gw.client.post(TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {raw}"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_query_filters_and_paths(gw: Gateway, admin: dict[str, str]) -> None:
    for url, field in (
        ("/v1/admin/accounts?email=a%00@uni.example", "query.email"),
        ("/v1/admin/accounts?limit=10&cursor=%00", "query.cursor"),
        ("/v1/webhooks/subscriptions?institution_id=%00", "query.institution_id"),
        ("/v1/admin/accounts/%00", "path"),
        ("/v1/institutions/%00/campuses", "path"),  # proxied paths are checked at the edge too
    ):
        r = gw.client.get(url, headers=admin)
        assert r.status_code == 422, (url, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text
