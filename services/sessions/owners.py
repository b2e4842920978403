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
from typing import Literal
from urllib.parse import quote

import httpx

from servicekit import scopes
from servicekit.problems import ProblemError
from servicekit.service_auth import TokenSource
from servicekit.service_client import ServiceClient, UpstreamModel

log = logging.getLogger("sessions.owners")

ACCOUNTS_SCOPE = scopes.ACCOUNTS_READ
MAX_CACHED = 10_000


class AccountStatus(UpstreamModel):
    status: Literal["active", "suspended", "unknown"]


def unavailable() -> ProblemError:
    return ProblemError(503, "The calendar cannot be served right now; try again shortly", slug="upstream-unavailable",
                        service="gateway", headers={"Retry-After": "30"})


class AccountStatuses:
    def __init__(
        self,
        gateway_url: str,
        tokens: TokenSource | None,
        *,
        cache_seconds: float = 30.0,
        timeout: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = ServiceClient("gateway", gateway_url.rstrip("/"), timeout=timeout, retries=1, transport=transport)
        self.tokens = tokens
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._answers: dict[str, tuple[bool, float]] = {}

    async def aclose(self) -> None:
        await self.gateway.aclose()

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
        try:
            token = await self.tokens.token()
            path = f"/internal/accounts/{quote(account_id, safe='')}/status"
            answer = await self.gateway.get(path, AccountStatus, token=token, what="Account")
        except ProblemError as exc:
            log.warning("account status unavailable", extra={"status": exc.status})
            raise unavailable() from None
        return answer.status == "active"
