"""Rate limits with ``limits`` (its async API), shared through Redis in production.

- ``/v1/auth/token`` per client address (every request; an IPv6 client counts
  by its /64, the network one subscriber gets).
- Password guessing is slowed without locking the person out. Failed
  attempts count per (account, address): an attacker at one address is
  stopped at ``login_rate_limit_per_address`` while the owner, elsewhere, still
  signs in. A much higher backstop per account (``login_rate_limit_per_account``)
  stops guessing spread over many addresses; it does not apply at an address
  where she signed in successfully in the last ``login_known_address_days``
  (remembered per account and address), so a distributed attack does not lock
  her out at home either. Accounts appear in the storage only as hashes.
- Failed client-credentials attempts per client_id (``token_rate_limit_per_identity``).
- Proxied traffic per token subject (generous, fixed window, counted in small
  local batches so the hot path rarely touches the storage).

Client addresses are what ``servicekit``'s trusted-proxies rule makes of the
connection (``GATEWAY_TRUSTED_PROXIES``): a forged X-Forwarded-For from an
untrusted peer changes nothing.

A refused request gets a 429 problem with ``Retry-After``. If the storage is
unreachable the request is let through and a warning logged: an outage of Redis
must not take logins down with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from servicekit.problems import ProblemError

from gateway.config import Settings

log = logging.getLogger("gateway.ratelimit")

_REDIS_SCHEMES = {"redis", "rediss", "redis+unix"}


def _items(value: str) -> list[RateLimitItem]:
    return parse_many(value) if value.strip() else []


def make_storage(uri: str):
    scheme = urlsplit(uri).scheme
    options: dict[str, str | bool] = {"wrap_exceptions": True}
    if scheme.removeprefix("async+") in _REDIS_SCHEMES:
        options["implementation"] = "redispy"
    if not scheme.startswith("async+"):
        uri = "async+" + uri
    return storage_from_string(uri, **options)


def address_key(address: str) -> str:
    """The unit a client address is counted in: an IPv4 address, or an IPv6
    /64 (one subscriber holds a whole /64 and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account_key(username: str) -> str:
    """An account as the limit storage sees it: a hash, never the e-mail."""
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def too_many(retry_after: int, detail: str) -> ProblemError:
    return ProblemError(429, detail, slug="rate-limited", headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        # Two storages on the same backend: the in-memory one sweeps its
        # moving-window entries in a worker thread whenever a counter changes,
        # which the fixed-window counter of every proxied request must not pay.
        self._moving = MovingWindowRateLimiter(make_storage(settings.rate_limit_storage))
        self._fixed = FixedWindowRateLimiter(make_storage(settings.rate_limit_storage))
        self.token_per_ip = _items(settings.token_rate_limit_per_ip)
        self.token_per_identity = _items(settings.token_rate_limit_per_identity)
        self.login_per_address = _items(settings.login_rate_limit_per_address)
        self.login_per_account = _items(settings.login_rate_limit_per_account)
        self.known_seconds = int(settings.login_known_address_days * 24 * 3600)
        self.proxy_per_token = _items(settings.rate_limit_per_token)
        smallest = min((item.amount for item in self.proxy_per_token), default=0)
        self._batch = max(1, min(16, smallest // 100))
        self._pending: dict[str, int] = {}
        self._blocked_until: dict[str, float] = {}

    async def _retry_after(self, limiter: RateLimiter, item: RateLimitItem, keys: tuple[str, ...]) -> int:
        try:
            stats = await limiter.get_window_stats(item, *keys)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except StorageError:
            return item.get_expiry()

    async def _hit(self, limiter: RateLimiter, items: list[RateLimitItem], keys: tuple[str, ...], detail: str) -> None:
        for item in items:
            try:
                allowed = await limiter.hit(item, *keys)
            except StorageError:
                log.warning("rate-limit storage unavailable; request allowed", extra={"limit": keys[0]})
                return
            if not allowed:
                raise too_many(await self._retry_after(limiter, item, keys), detail)

    async def _test(self, limiter: RateLimiter, items: list[RateLimitItem], keys: tuple[str, ...], detail: str) -> None:
        for item in items:
            try:
                allowed = await limiter.test(item, *keys)
            except StorageError:
                log.warning("rate-limit storage unavailable; request allowed", extra={"limit": keys[0]})
                return
            if not allowed:
                raise too_many(await self._retry_after(limiter, item, keys), detail)

    # -- the token endpoint ---------------------------------------------------

    async def token_request(self, ip: str) -> None:
        await self._hit(self._moving, self.token_per_ip, ("token-ip", address_key(ip)), "Too many token requests from this address")

    # -- people's logins (password grant) -------------------------------------

    def _known_key(self, account: str, address: str) -> str:
        return f"login-known/{account}/{address}"

    async def _known(self, account: str, address: str) -> bool:
        try:
            return await self._moving.storage.get(self._known_key(account, address)) > 0
        except StorageError:
            return False

    async def login_allowed(self, username: str, address: str) -> None:
        """Refuse before doing any work: this address failed too often for
        this account, or every address together did and this one is not one
        she signed in from."""
        account, where = account_key(username), address_key(address)
        await self._test(
            self._moving, self.login_per_address, ("login-address", account, where),
            "Too many failed attempts from this address; retry later",
        )  # fmt: skip
        if self.login_per_account and not await self._known(account, where):
            await self._test(
                self._moving, self.login_per_account, ("login-account", account),
                "Too many failed attempts for this account; retry later, or from an address you signed in from before",
            )  # fmt: skip

    async def login_failed(self, username: str, address: str) -> None:
        account, where = account_key(username), address_key(address)
        for items, keys in ((self.login_per_address, ("login-address", account, where)), (self.login_per_account, ("login-account", account))):
            for item in items:
                try:
                    await self._moving.hit(item, *keys)
                except StorageError:
                    log.warning("rate-limit storage unavailable", extra={"limit": keys[0]})

    async def login_succeeded(self, username: str, address: str) -> None:
        """Remember the address she signed in from (the backstop spares it)."""
        if not self.login_per_account or self.known_seconds <= 0:
            return
        try:
            await self._moving.storage.incr(self._known_key(account_key(username), address_key(address)), self.known_seconds)
        except StorageError:
            log.warning("rate-limit storage unavailable", extra={"limit": "login-known"})

    async def identity_allowed(self, kind: str, identity: str) -> None:
        """Refuse before doing any work when this identity failed too often."""
        await self._test(
            self._moving, self.token_per_identity, (f"token-{kind}", identity), "Too many failed attempts; retry later"
        )

    async def identity_failed(self, kind: str, identity: str) -> None:
        for item in self.token_per_identity:
            try:
                await self._moving.hit(item, f"token-{kind}", identity)
            except StorageError:
                log.warning("rate-limit storage unavailable", extra={"limit": kind})

    # -- proxied traffic ------------------------------------------------------

    async def proxied(self, subject: str) -> None:
        """Count one proxied request of this token subject.

        The shared storage is updated in batches: each replica counts locally
        and adds its count (``cost=n``) every ``batch`` requests, so with Redis
        the hot path pays a round trip only once per batch. The batch is
        1/100 of the smallest limit (at most 16), so the limit is exact for
        small limits and at most ``batch`` requests per replica generous for
        large ones. A refused subject is refused locally until its window ends.
        """
        if not self.proxy_per_token:
            return
        now = time.time()
        blocked = self._blocked_until.get(subject)
        if blocked is not None:
            if blocked > now:
                raise too_many(max(1, math.ceil(blocked - now)), "Too many requests for this token")
            del self._blocked_until[subject]
        count = self._pending.get(subject, 0) + 1
        if count < self._batch:
            self._pending[subject] = count
            return
        self._pending.pop(subject, None)
        if len(self._pending) > 50_000:  # bound the memory of idle subjects
            self._pending.clear()
        keys = ("proxy-sub", subject)
        for item in self.proxy_per_token:
            try:
                allowed = await self._fixed.hit(item, *keys, cost=count)
            except StorageError:
                log.warning("rate-limit storage unavailable; request allowed", extra={"limit": "proxy-sub"})
                return
            if not allowed:
                retry_after = await self._retry_after(self._fixed, item, keys)
                if len(self._blocked_until) > 50_000:
                    self._blocked_until.clear()
                self._blocked_until[subject] = now + retry_after
                raise too_many(retry_after, "Too many requests for this token")
