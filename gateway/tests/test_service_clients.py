"""Service clients provisioned from settings, and servicekit's token provider
using one of them against the real token endpoint."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from jose import jwt

from servicekit.service_auth import ServiceTokenProvider

from gateway.main import create_app
from gateway.tests.conftest import base_settings

SECRET = "s" * 40
SPEC = {"client_id": "svc-matching", "secret": SECRET, "scopes": ["identity:read"], "name": "matching service"}


@pytest.fixture()
def gateway_url(database_factory, upstream) -> str:
    from gateway.db import migrate

    return database_factory.migrated("gateway", migrate)


def _token(client: TestClient, secret: str, scope: str = "identity:read") -> httpx.Response:
    return client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=("svc-matching", secret)
    )


def test_service_clients_are_provisioned_and_reprovisioned_with_a_new_secret(gateway_url, upstream) -> None:
    app = create_app(base_settings(gateway_url, upstream.url, service_clients=[SPEC]))
    with TestClient(app) as client:
        first = _token(client, SECRET)
        assert first.status_code == 200, first.text
        claims = jwt.get_unverified_claims(first.json()["access_token"])
        assert claims["scope"] == "identity:read" and claims["client_id"] == "svc-matching" and "tid" not in claims
        assert _token(client, SECRET, "identity:read events:read").status_code == 400  # invalid_scope
    rotated = {**SPEC, "secret": "r" * 40}
    with TestClient(create_app(base_settings(gateway_url, upstream.url, service_clients=[rotated]))) as client:
        assert _token(client, SECRET).status_code == 401
        assert _token(client, "r" * 40).status_code == 200
        # The token issued under the old secret is refused at the edge.
        old = first.json()["access_token"]
        assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401


async def test_the_token_provider_fetches_once_and_reuses_the_token(gateway_url, upstream) -> None:
    app = create_app(base_settings(gateway_url, upstream.url, service_clients=[SPEC]))
    with TestClient(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            provider = ServiceTokenProvider("http://gw/v1/auth/token", "svc-matching", SECRET, ["identity:read"], client=http)
            first = await provider.token()
            assert await provider.token() == first
            bad = ServiceTokenProvider("http://gw/v1/auth/token", "svc-matching", "wrong" * 8, ["identity:read"], client=http)
            with pytest.raises(Exception) as refused:
                await bad.token()
            assert getattr(refused.value, "status", None) == 503
