"""Is a calendar feed's owner still an active account? The gateway says.

A calendar feed is read by secret URL, without a token, so no token expiry or
session revocation ever reaches it: the feed asks the gateway
(``GET /internal/accounts/{id}/status``, this service's client token with scope
``accounts:read``) and reuses each answer for ``account_status_cache_seconds``
(default 30 s). A suspended (or deleted) owner's feed therefore answers 404, as
an unknown feed does, at most that long after the suspension; a reinstated
owner's feed answers again within the same bound.

Fail closed: when the gateway cannot answer (unreachable, slow, an error, or
this service has no client identity) and no fresh answer is cached, the feed
answers 503 with ``Retry-After`` (calendar applications retry later), never the
calendar. A feed with meeting places and links is not served on a guess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote

import httpx

from servicekit.http import make_async_client
from servicekit.problems import ProblemError
from servicekit import scopes

log = logging.getLogger("sessions.owners")

ACCOUNTS_SCOPE = scopes.ACCOUNTS_READ
MAX_CACHED = 10_000


class Tokens(Protocol):
    async def token(self) -> str: ...


def unavailable() -> ProblemError:
    return ProblemError(503, "The calendar cannot be served right now; try again shortly", slug="upstream-unavailable",
                        service="gateway", headers={"Retry-After": "30"})


class AccountStatuses:
    def __init__(
        self,
        gateway_url: str,
        tokens: Tokens | None,
        *,
        cache_seconds: float = 30.0,
        timeout: float = 3.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = gateway_url.rstrip("/") + "/internal/accounts/{}/status"
        self.tokens = tokens
        self.cache_seconds = cache_seconds
        self._timeout = timeout
        self._client = client
        self._clock = clock
        self._answers: dict[str, tuple[bool, float]] = {}

    async def is_active(self, account_id: str) -> bool:
        """True when the gateway says the account is active; 503 problem when it cannot say."""
        cached = self._answers.get(account_id)
        if cached is not None and self._clock() - cached[1] < self.cache_seconds:
            return cached[0]
        active = await self._ask(account_id)
        if len(self._answers) >= MAX_CACHED:
            self._answers.pop(next(iter(self._answers)))
        self._answers[account_id] = (active, self._clock())
        return active

    async def _ask(self, account_id: str) -> bool:
        if self.tokens is None:
            log.warning("calendar feed refused: no client identity to ask the gateway about its owner")
            raise unavailable()
        client = self._client or make_async_client(timeout=self._timeout, retries=1)
        try:
            token = await self.tokens.token()
            resp = await client.get(self.url.format(quote(account_id, safe="")), headers={"Authorization": f"Bearer {token}"})
            if resp.status_code != 200:
                raise ValueError(f"the gateway answered {resp.status_code}")
            status = resp.json().get("status")
            if status not in ("active", "suspended", "unknown"):
                raise ValueError("not an account status")
        except (httpx.HTTPError, ProblemError, ValueError) as exc:
            log.warning("account status unavailable", extra={"error": type(exc).__name__})
            raise unavailable() from None
        finally:
            if self._client is None:
                await client.aclose()
        return status == "active"
