"""Revoked sessions, honoured by every app within a stated bound.

Access tokens carry ``sid``, their token family (a login session, or an API
client's generation). The gateway revokes families (logout, refresh-token
reuse, suspension, password change, deletion) in its database and refuses
their tokens at once at the edge (``gateway/revocation.py``). A service called
directly must refuse them too, within ``revocation_cache_seconds``:

- **Redis** (production: ``<APP>_REVOCATION_STORAGE=redis://host:6379/0``, the
  same URI style as the gateway's rate-limit storage). The gateway writes one
  key per revoked family, ``<prefix><sid>``, expiring when no access token of
  the family can still be alive, when it commits the revocation (and again
  from every replica's periodic read of the database, so a failed write is
  repaired). A service asks Redis whether the key of a token's ``sid`` exists,
  at most once per ``cache_seconds`` per sid (a revoked answer is kept).
- **The gateway over HTTP** (no Redis configured, e.g. ``make run`` and
  tests: the default). A service asks the gateway's
  ``GET /v1/auth/session`` with the token itself, at most once per
  ``cache_seconds`` per sid: 204 live, 401 ``session-revoked`` revoked (any
  other answer tells nothing about the session and is not kept). The token authenticates the
  question and the answer tells nothing its bearer cannot learn; no list of
  sessions leaves the gateway.

Either way a revoked token is refused by every service at most
``cache_seconds`` (default 5 s) after the revocation is committed (plus, over
HTTP, the gateway's own ``GATEWAY_REVOCATION_CACHE_SECONDS`` for a revocation
made on another gateway replica). If the store cannot be asked, the last
answer for that sid is kept and a warning logged (a sid never seen is let
through): an outage of Redis or of the gateway does not take the services
down, and the gateway itself still refuses the token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import httpx

from servicekit.auth import SESSION_REVOKED

log = logging.getLogger("servicekit.revocation")

DEFAULT_PREFIX = "aliada:revoked-session:"
MAX_CACHED = 100_000
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class RevocationCheck(Protocol):
    async def is_revoked(self, sid: str, token: str) -> bool: ...


class _Cached:
    """Answers per sid, kept ``cache_seconds`` (a revoked one for good)."""

    def __init__(self, cache_seconds: float, clock: Callable[[], float]) -> None:
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._answers: dict[str, tuple[bool, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def fresh(self, sid: str) -> bool | None:
        found = self._answers.get(sid)
        if found is None:
            return None
        revoked, at = found
        if revoked or self.clock() - at < self.cache_seconds:
            return revoked
        return None

    def last(self, sid: str) -> bool:
        found = self._answers.get(sid)
        return found[0] if found is not None else False

    def remember(self, sid: str, revoked: bool) -> None:
        if len(self._answers) >= MAX_CACHED:
            self._answers.clear()
        self._answers[sid] = (revoked, self.clock())

    def lock(self, sid: str) -> asyncio.Lock:
        if len(self._locks) >= MAX_CACHED:
            self._locks.clear()
        return self._locks.setdefault(sid, asyncio.Lock())

    async def answer(self, sid: str, ask: Callable[[], object]) -> bool:
        known = self.fresh(sid)
        if known is not None:
            return known
        async with self.lock(sid):  # one question per sid at a time
            known = self.fresh(sid)
            if known is not None:
                return known
            try:
                revoked = bool(await ask())  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 - any failure of the store: keep the last answer
                log.warning("revocation store unavailable; keeping the last answer", extra={"error": type(exc).__name__})
                return self.last(sid)
            self.remember(sid, revoked)
            return revoked


class RedisDenyList:
    """The shared deny-list in Redis: the gateway adds, every app checks."""

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, cache_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        import redis.asyncio as redis  # only where Redis is configured

        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._cache = _Cached(cache_seconds, clock)

    def key(self, sid: str) -> str:
        return f"{self.prefix}{sid}"

    async def add(self, sids: Iterable[str], ttl_seconds: int) -> None:
        """Raises when Redis cannot be written (the caller logs and retries later)."""
        sids = list(sids)
        if not sids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.set(self.key(sid), b"1", ex=max(1, int(ttl_seconds)))
            await pipe.execute()
        for sid in sids:
            self._cache.remember(sid, True)

    async def is_revoked(self, sid: str, token: str = "") -> bool:
        return await self._cache.answer(sid, lambda: self._redis.exists(self.key(sid)))

    async def close(self) -> None:
        await self._redis.aclose()


class GatewaySessionCheck:
    """The embedded fallback: the gateway answers for the token's own session."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 5.0,
        timeout: float = 2.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False)
        self._cache = _Cached(cache_seconds, clock)

    async def _ask(self, token: str) -> bool:
        resp = await self._client.get(self.url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        if resp.status_code == 204:
            return False
        if resp.status_code == 401 and _problem_type(resp).endswith(f":{SESSION_REVOKED}"):
            return True
        # Any other answer (an expired token by the gateway's clock, keys it no
        # longer has, an outage) says nothing about the session: not cached.
        raise RuntimeError(f"session check answered {resp.status_code}")

    async def is_revoked(self, sid: str, token: str) -> bool:
        return await self._cache.answer(sid, lambda: self._ask(token))

    async def close(self) -> None:
        await self._client.aclose()


def _problem_type(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    value = body.get("type") if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def is_redis(uri: str) -> bool:
    return uri.startswith(_REDIS_SCHEMES)


def revocation_check(storage: str, *, prefix: str, session_url: str, cache_seconds: float) -> RevocationCheck | None:
    """The one mechanism an app's settings choose: Redis when ``storage`` is a
    Redis URI; else the gateway's session check at ``session_url``; None when
    both are empty (revocation then holds at the gateway only)."""
    if is_redis(storage):
        return RedisDenyList(storage, prefix=prefix, cache_seconds=cache_seconds)
    if storage.strip() not in ("", "gateway"):
        raise ValueError(f"revocation storage must be a redis:// URI or empty (the gateway), not {storage!r}")
    if not session_url:
        return None
    return GatewaySessionCheck(session_url, cache_seconds=cache_seconds)
