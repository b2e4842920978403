"""Fixtures of the gateway tests: real gateways on migrated databases (SQLite or
PostgreSQL, per ALIADA_TEST_BACKEND), the real JWT path, and a fake service on
a loopback port."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.db import migrate
from gateway.main import create_app
from gateway.tests.upstream import Recorder, UpstreamServer, build_app, dead_url

ADMIN_EMAIL = "admin@aliada.local"
ADMIN_PASSWORD = "bootstrap-admin-passphrase"
PASSWORD = "a-long-passphrase-1"


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session")
def upstream(recorder: Recorder) -> Iterator[UpstreamServer]:
    server = UpstreamServer(build_app(recorder)).start()
    try:
        yield server
    finally:
        server.stop()


def base_settings(database_url: str, upstream_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "participants_url": upstream_url,
        "matching_url": upstream_url,
        "sessions_url": upstream_url,
        "evaluation_url": upstream_url,
        "notifications_url": upstream_url,
        "bootstrap_admin_password": ADMIN_PASSWORD,
        # Cheap argon2 so the suite stays fast; production uses RFC 9106 costs.
        "password_time_cost": 1,
        "password_memory_kib": 256,
        "password_parallelism": 1,
        "token_rate_limit_per_ip": "10000/minute",
        "token_rate_limit_per_identity": "10/minute",
        "rate_limit_per_token": "10000/minute",
        "rate_limit_storage": "memory://",
        "revocation_cache_seconds": 2.0,
        # No participants feed behind the fake upstream: the role reader stays off (tests apply its events).
        "participant_roles_poll_seconds": 0,
        "key_reload_seconds": 30.0,
        "upstream_timeout": 5.0,
        "cors_origins": [],
        "public_paths": [],
        "log_json": False,
        "log_level": "WARNING",
        "threadpool_size": 8,
        # The fake service's echo route takes large bodies (test_proxy streams 6 MiB through it).
        "body_limits": {**Settings.model_fields["body_limits"].default_factory(), "PUT,POST /v1/programs/echo/{rest}": 16 * 1024 * 1024},  # type: ignore[misc]
    }
    values.update(overrides)
    return Settings(**values)


class Gateway:
    """A running gateway app (TestClient with its lifespan) and helpers."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.app = client.app

    def token(self, email: str, password: str, **form: str) -> dict[str, Any]:
        resp = self.client.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password, **form})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def bearer(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email, password)['access_token']}"}

    def create_account(self, admin: dict[str, str], roles: list[str], institution_id: str | None = "0190f1c2-0000-7000-8000-00000000000a", **extra: Any) -> dict[str, Any]:
        body = {"email": f"{uuid.uuid4().hex[:12]}@uni.example", "password": PASSWORD, "roles": roles, **extra}
        if institution_id is not None:
            body["institution_id"] = institution_id
        resp = self.client.post("/v1/admin/accounts", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def peer(self, address: str, **headers: str) -> TestClient:
        """Another client of the same running app, connecting from ``address``
        (on the app's own event loop, which in-process rate-limit storage needs)."""
        client = TestClient(self.app, client=(address, 40000), headers=headers)
        client.portal = self.client.portal
        return client

    def person(self, admin: dict[str, str], roles: list[str], institution_id: str | None = "0190f1c2-0000-7000-8000-00000000000a") -> tuple[dict[str, Any], dict[str, str]]:
        account = self.create_account(admin, roles, institution_id)
        return account, self.bearer(account["email"], PASSWORD)


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def make_gateway(database_factory, upstream: UpstreamServer) -> Iterator[GatewayFactory]:
    """``make_gateway(**settings)``: a fresh gateway on a fresh database.
    ``database_url=`` reuses a database (a second replica, a restart)."""
    opened: list[TestClient] = []

    def factory(**overrides: Any) -> Gateway:
        if "database_url" not in overrides:
            overrides["database_url"] = database_factory.migrated("gateway", migrate)
        settings = base_settings(upstream_url=upstream.url, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return Gateway(client, settings)

    try:
        yield factory
    finally:
        for client in reversed(opened):
            client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def gw(database_factory, upstream: UpstreamServer) -> Iterator[Gateway]:
    """One gateway shared by the tests of a module (they use unique emails)."""
    url = database_factory.migrated("gateway", migrate)
    settings = base_settings(url, upstream.url)
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


@pytest.fixture(scope="module")
def admin(gw: Gateway) -> dict[str, str]:
    return gw.bearer()


@pytest.fixture(scope="session")
def nowhere() -> str:
    return dead_url()
