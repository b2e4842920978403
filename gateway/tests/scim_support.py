"""Support of the SCIM tests: a participants service on a loopback port that
answers what the gateway's SCIM endpoints call (the institution check of the
admin API, and the provisioned-profile upsert and delete, recorded with the
token they carried), a gateway wired to it, and SCIM clients of two
institutions made through the real admin API and token endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jose import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.db import migrate
from gateway.main import create_app
from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Gateway, base_settings
from gateway.tests.upstream import UpstreamServer

INSTITUTION_A = "0190f1c2-0000-7000-8000-0000000000a1"
INSTITUTION_B = "0190f1c2-0000-7000-8000-0000000000b2"
SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ALIADA_USER = "urn:aliada:params:scim:schemas:extension:aliada:2.0:User"
ALIADA_GROUP = "urn:aliada:params:scim:schemas:extension:aliada:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Participants:
    """What the fake participants service holds and was asked."""

    profiles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def app(self) -> Starlette:
        async def institution(request: Request) -> Response:
            if request.path_params["iid"] in (INSTITUTION_A, INSTITUTION_B):
                return JSONResponse({"id": request.path_params["iid"]})
            return JSONResponse({"status": 404}, status_code=404)

        async def profile(request: Request) -> Response:
            key = (request.path_params["iid"], request.path_params["aid"])
            claims = jwt.get_unverified_claims(request.headers["authorization"].split()[1])
            body = await request.json() if request.method == "PUT" else None
            self.calls.append({"method": request.method, "key": key, "claims": claims, "body": body})
            if self.down:
                return JSONResponse({"status": 503}, status_code=503)
            if claims.get("tid") != key[0] or "scim" not in claims.get("scope", "").split():
                return JSONResponse({"status": 404}, status_code=404)
            if request.method == "DELETE":
                return Response(status_code=204) if self.profiles.pop(key, None) else Response(status_code=404)
            for name in ("hr_id", "sis_id", "lms_id"):
                value = body.get(name)
                clash = [k for k, p in self.profiles.items() if k != key and k[0] == key[0] and value and p.get(name) == value]
                if clash:
                    detail = f"Another participant of this institution has {name} {value!r}"
                    return JSONResponse(
                        {"status": 409, "detail": detail, "errors": [{"field": f"body.{name}", "message": detail, "code": "already_exists"}]},
                        status_code=409,
                    )
            created = key not in self.profiles
            self.profiles.setdefault(key, {}).update(body)
            return JSONResponse({"account_id": key[1], **self.profiles[key]}, status_code=201 if created else 200)

        async def ready(request: Request) -> Response:
            return JSONResponse({"status": "ready"})

        async def openapi(request: Request) -> Response:
            return JSONResponse({"openapi": "3.1.0", "info": {"title": "fake", "version": "1"}, "paths": {}})

        return Starlette(
            routes=[
                Route("/v1/institutions/{iid}", institution),
                Route("/internal/institutions/{iid}/provisioned-participants/{aid}", profile, methods=["PUT", "DELETE"]),
                Route("/readyz", ready),
                Route("/openapi.json", openapi),
            ]
        )


@dataclass
class Scim:
    """A SCIM client of one institution: its credentials, token and helpers."""

    http: TestClient
    client: dict[str, Any]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, "/scim/v2" + path, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json={"schemas": [PATCH_OP], "Operations": operations}, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str | None = None, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name or f"{uuid.uuid4().hex[:10]}@uni.example", **attributes}
        if any(k.startswith("urn:") for k in attributes):
            body["schemas"] = [USER, ALIADA_USER]
        r = self.post("/Users", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def users(self, **params: Any) -> dict[str, Any]:
        r = self.get("/Users", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def user_names(self, filter: str, **params: Any) -> set[str]:
        page = self.users(filter=filter, count=200, **params)
        return {u["userName"] for u in page.get("Resources", [])}


def scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM), response.headers
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status), body
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def client_token(gw: Gateway, client: dict[str, Any]) -> str:
    r = gw.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def make_client(gw: Gateway, admin: dict[str, str], scopes: list[str], institution_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"IdP {uuid.uuid4().hex[:6]}", "scopes": scopes}
    if institution_id is not None:
        body["institution_id"] = institution_id
    r = gw.client.post("/v1/admin/clients", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="session")
def participants() -> Iterator[Participants]:
    state = Participants()
    server = UpstreamServer(state.app()).start()
    state.url = server.url  # type: ignore[attr-defined]
    try:
        yield state
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scim_gw(database_factory, participants: Participants) -> Iterator[Gateway]:
    url = database_factory.migrated("gateway", migrate)
    settings = base_settings(url, participants.url)  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


@pytest.fixture(scope="session")
def scim_admin(scim_gw: Gateway) -> dict[str, str]:
    return scim_gw.bearer(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def idp_a(scim_gw: Gateway, scim_admin: dict[str, str]) -> Scim:
    client = make_client(scim_gw, scim_admin, ["scim"], INSTITUTION_A)
    return Scim(scim_gw.client, client, client_token(scim_gw, client))


@pytest.fixture(scope="session")
def idp_b(scim_gw: Gateway, scim_admin: dict[str, str]) -> Scim:
    client = make_client(scim_gw, scim_admin, ["scim"], INSTITUTION_B)
    return Scim(scim_gw.client, client, client_token(scim_gw, client))


@pytest.fixture
def participants_up(participants: Participants) -> Iterator[Participants]:
    participants.down = False
    try:
        yield participants
    finally:
        participants.down = False

