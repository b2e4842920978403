"""Revocation honoured by every service (docs/security.md, "Revoked sessions"):
a real gateway and a real participants service as uvicorn processes on
loopback. A token works at the service directly; after logout (token
revocation), suspension or a password change the service answers 401 within
the stated bound: ``<APP>_REVOCATION_CACHE_SECONDS`` (plus, over HTTP, the
gateway's own ``GATEWAY_REVOCATION_CACHE_SECONDS``). Once with the embedded
fallback (the gateway's session check over HTTP) and once with the shared
deny-list in Redis (127.0.0.1:6379, a key prefix of its own per test)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tools.stack import APPS, START_SECONDS, Stack, free_port, small_pools

SERVICE_CACHE = 1.0
GATEWAY_CACHE = 1.0
# The promise, plus time for a request's round trips on a busy machine.
BOUND = SERVICE_CACHE + GATEWAY_CACHE + 1.5
PASSWORD = "a-long-passphrase-1"
REDIS = "redis://127.0.0.1:6379/0"


def start(database_factory, tmp_path_factory, extra_env: dict[str, str]) -> Stack:
    names = ("gateway", "participants")
    stack = Stack(
        workdir=tmp_path_factory.mktemp("revocation"),
        database_urls={name: database_factory.new(f"revocation_{name}") for name in names},
        extra_env={
            **small_pools(),
            "GATEWAY_PASSWORD_TIME_COST": "1", "GATEWAY_PASSWORD_MEMORY_KIB": "1024", "GATEWAY_PASSWORD_PARALLELISM": "1",
            "GATEWAY_REVOCATION_CACHE_SECONDS": str(GATEWAY_CACHE),
            "PARTICIPANTS_REVOCATION_CACHE_SECONDS": str(SERVICE_CACHE),
            **extra_env,
        },
    )
    for app in APPS:
        stack.ports.setdefault(app.name, free_port())
    stack.migrate(names)
    try:
        for name in names:
            stack.start_app(name)
        stack.wait_healthy(START_SECONDS, list(names))
    except Exception:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="module")
def over_http(database_factory, tmp_path_factory) -> Iterator[Stack]:
    stack = start(database_factory, tmp_path_factory, {})
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def redis_prefix() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    return f"test-revocation-{uuid.uuid4().hex}:"


@pytest.fixture(scope="module")
def over_redis(database_factory, tmp_path_factory, redis_prefix: str) -> Iterator[Stack]:
    env = {
        "GATEWAY_REVOCATION_STORAGE": REDIS, "GATEWAY_REVOCATION_KEY_PREFIX": redis_prefix,
        "PARTICIPANTS_REVOCATION_STORAGE": REDIS, "PARTICIPANTS_REVOCATION_KEY_PREFIX": redis_prefix,
        # The service never asks the gateway: only Redis can tell it.
        "PARTICIPANTS_REVOCATION_URL": "http://127.0.0.1:9/v1/auth/session",
    }
    stack = start(database_factory, tmp_path_factory, env)
    yield stack
    stack.stop()
    import redis

    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{redis_prefix}*"):
        client.delete(key)


class People:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.admin = {"Authorization": f"Bearer {stack.admin_token()}"}

    def new(self) -> dict[str, str]:
        """A platform admin of her own (any role reads the institutions list; an admin is simplest)."""
        email = f"rev-{uuid.uuid4().hex[:10]}@uni.example"
        r = httpx.post(f"{self.stack.gateway}/v1/admin/accounts", json={"email": email, "password": PASSWORD, "roles": ["admin"]},
                       headers=self.admin, timeout=10)
        assert r.status_code == 201, r.text
        return {"id": r.json()["id"], "email": email}

    def login(self, person: dict[str, str], password: str = PASSWORD) -> dict[str, str]:
        return self.stack.login(person["email"], password)


def at_service(stack: Stack, token: str) -> int:
    r = httpx.get(f"{stack.url('participants')}/v1/institutions", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return r.status_code


def refused_within_bound(stack: Stack, token: str, since: float) -> float:
    while True:
        status = at_service(stack, token)
        elapsed = time.monotonic() - since
        if status == 401:
            return elapsed
        assert status == 200, status
        assert elapsed < BOUND, f"still accepted {elapsed:.1f}s after the revocation"
        time.sleep(0.1)


def revocations(stack: Stack) -> None:
    people = People(stack)

    def revoke(kind: str, person: dict[str, str], tokens: dict[str, str]) -> None:
        gateway = stack.gateway
        if kind == "logout":
            r = httpx.post(f"{gateway}/v1/auth/revoke", data={"token": tokens["refresh_token"]}, timeout=10)
        elif kind == "suspension":
            r = httpx.patch(f"{gateway}/v1/admin/accounts/{person['id']}", json={"status": "suspended"}, headers=people.admin, timeout=10)
        else:
            r = httpx.patch(f"{gateway}/v1/admin/accounts/{person['id']}", json={"password": "a-new-passphrase-2"}, headers=people.admin, timeout=10)
        assert r.status_code == 200, r.text

    for kind in ("logout", "suspension", "password change"):
        person, bystander = people.new(), people.new()
        tokens, other = people.login(person), people.login(bystander)
        access = tokens["access_token"]
        # It works at the service directly (and its answer is now cached there).
        assert at_service(stack, access) == 200 and at_service(stack, other["access_token"]) == 200
        since = time.monotonic()
        revoke(kind, person, tokens)
        elapsed = refused_within_bound(stack, access, since)
        assert elapsed < BOUND, (kind, elapsed)
        # At the gateway at once; a token of another session still works everywhere.
        me = httpx.get(f"{stack.gateway}/v1/auth/me", headers={"Authorization": f"Bearer {access}"}, timeout=10)
        assert me.status_code == 401, kind
        assert at_service(stack, other["access_token"]) == 200, kind
        r = httpx.get(f"{stack.url('participants')}/v1/institutions", headers={"Authorization": f"Bearer {access}"}, timeout=10)
        assert r.headers["content-type"].startswith("application/problem+json") and "revoked" in r.json()["detail"]
        assert r.json()["type"] == "urn:aliada:problem:session-revoked"
    # A token that was never seen by the service, of a session already revoked: refused at once.
    person = people.new()
    tokens = people.login(person)
    revoke("logout", person, tokens)
    deadline = time.monotonic()
    assert refused_within_bound(stack, tokens["access_token"], deadline) < BOUND


def test_the_service_refuses_revoked_sessions_through_the_gateway_check(over_http: Stack) -> None:
    revocations(over_http)
    # The session check itself: 204 live, 401 otherwise (no token, forged).
    token = over_http.admin_token()
    check = f"{over_http.gateway}/v1/auth/session"
    ok = httpx.get(check, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert ok.status_code == 204 and ok.headers["cache-control"] == "no-store"
    assert httpx.get(check, timeout=10).status_code == 401
    assert httpx.get(check, headers={"Authorization": "Bearer " + token[:-4] + "AAAA"}, timeout=10).status_code == 401


def test_the_service_refuses_revoked_sessions_through_redis(over_redis: Stack, redis_prefix: str) -> None:
    import redis

    revocations(over_redis)
    keys = list(redis.Redis.from_url(REDIS).scan_iter(f"{redis_prefix}*"))
    assert len(keys) >= 4  # one per revoked session, under this test's own prefix
    ttl = redis.Redis.from_url(REDIS).ttl(keys[0])
    assert 0 < ttl <= 900 + 30 + 60  # gone once no access token of the session can be alive
