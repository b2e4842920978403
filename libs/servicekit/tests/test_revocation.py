"""servicekit.revocation: the services' check of revoked sessions (Redis or the
gateway's session check), its cache bound, and what happens when the store
cannot be asked. The end-to-end promise is tested in tests/test_revocation.py."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from servicekit.revocation import GatewaySessionCheck, RedisDenyList, is_redis, revocation_check

REDIS = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Gateway:
    """A stand-in for /v1/auth/session: which sids are revoked, and the calls."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.calls: list[str] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.calls.append(token)
        if self.down:
            return httpx.Response(503)
        if token.startswith("expired"):  # a 401 for another reason: says nothing about the session
            return httpx.Response(401, json={"type": "urn:aliada:problem:unauthorized", "status": 401})
        if token in self.revoked:
            return httpx.Response(401, json={"type": "urn:aliada:problem:session-revoked", "status": 401})
        return httpx.Response(204)


def test_the_gateway_check_is_asked_once_per_sid_per_interval_and_a_revocation_sticks() -> None:
    gateway, clock = Gateway(), Clock()
    check = GatewaySessionCheck("http://gw/v1/auth/session", cache_seconds=5, clock=clock,
                                client=httpx.AsyncClient(transport=httpx.MockTransport(gateway.handler)))

    async def run() -> None:
        assert await check.is_revoked("s1", "tok-1") is False
        assert await check.is_revoked("s1", "tok-1") is False
        assert len(gateway.calls) == 1  # cached
        gateway.revoked.add("tok-1")
        clock.now += 4.9
        assert await check.is_revoked("s1", "tok-1") is False  # within the bound: still the cached answer
        clock.now += 0.2
        assert await check.is_revoked("s1", "tok-1") is True  # past it: asked again
        gateway.revoked.clear()
        clock.now += 1000
        assert await check.is_revoked("s1", "tok-1") is True  # revoked for good
        # Concurrent requests of one session ask once.
        results = await asyncio.gather(*(check.is_revoked("s2", "tok-2") for _ in range(20)))
        assert results == [False] * 20 and gateway.calls.count("tok-2") == 1
        # The gateway cannot answer: the last answer holds; a sid never seen is let through.
        gateway.down = True
        gateway.revoked.add("tok-2")
        clock.now += 10
        assert await check.is_revoked("s2", "tok-2") is False
        assert await check.is_revoked("s3", "tok-3") is False
        gateway.down = False
        clock.now += 10
        assert await check.is_revoked("s2", "tok-2") is True
        # Another 401 (the gateway found the token expired) is not a revocation, and is not kept.
        assert await check.is_revoked("s4", "expired-4") is False
        assert await check.is_revoked("s4", "tok-4") is False
        assert gateway.calls[-2:] == ["expired-4", "tok-4"]

    asyncio.run(run())


def test_the_redis_deny_list_with_a_prefix_of_its_own() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-servicekit-{uuid.uuid4().hex}:"
    clock = Clock()

    async def run() -> None:
        writer = RedisDenyList(REDIS, prefix=prefix)
        reader = RedisDenyList(REDIS, prefix=prefix, cache_seconds=2, clock=clock)
        other = RedisDenyList(REDIS, prefix=prefix + "other:", cache_seconds=0)
        try:
            assert await reader.is_revoked("fam-1") is False
            await writer.add(["fam-1", "fam-2"], ttl_seconds=60)
            assert await reader.is_revoked("fam-2") is True  # never asked before
            assert await reader.is_revoked("fam-1") is False  # the cached answer, within the bound
            clock.now += 2.1
            assert await reader.is_revoked("fam-1") is True
            assert await other.is_revoked("fam-1") is False  # another prefix is another list
            ttl = await writer._redis.ttl(writer.key("fam-1"))
            assert 0 < ttl <= 60
        finally:
            for client in (writer, reader, other):
                for key in [k async for k in client._redis.scan_iter(f"{prefix}*")]:
                    await client._redis.delete(key)
                await client.close()

    asyncio.run(run())


def test_redis_unreachable_keeps_the_last_answer() -> None:
    redis_errors = pytest.importorskip("redis.exceptions")
    clock = Clock()

    async def run() -> None:
        deny = RedisDenyList("redis://127.0.0.1:9/0", prefix="x:", cache_seconds=1, clock=clock)
        try:
            assert await deny.is_revoked("s") is False
            with pytest.raises(redis_errors.ConnectionError):
                await deny.add(["s"], 60)
        finally:
            await deny.close()

    asyncio.run(run())


def test_the_settings_choose_one_mechanism() -> None:
    assert is_redis("redis://r:6379/0") and is_redis("rediss://r:6380/0") and not is_redis("memory://")
    assert isinstance(revocation_check("", prefix="p:", session_url="http://gw/v1/auth/session", cache_seconds=5), GatewaySessionCheck)
    assert isinstance(revocation_check("redis://127.0.0.1:6379/0", prefix="p:", session_url="", cache_seconds=5), RedisDenyList)
    assert revocation_check("", prefix="p:", session_url="", cache_seconds=5) is None
    with pytest.raises(ValueError):
        revocation_check("memory://", prefix="p:", session_url="http://gw", cache_seconds=5)
