"""A service's own identity when it calls another service.

A service calling another uses its own client-credentials token with the
narrowest scope, or forwards the caller's token when it acts for her
(docs/architecture.md, "Identity and authentication"). ``ServiceTokenProvider`` is the first half: it obtains a token with the
OAuth 2.0 client-credentials grant from the gateway and reuses it until shortly
before it expires. One in-flight request refreshes it; concurrent callers wait
for that one instead of each asking the gateway.

The gateway provisions these service clients from its ``SERVICE_CLIENTS``
setting (see gateway/service_clients.py); each service is configured with its
``<APP>_CLIENT_ID``, ``<APP>_CLIENT_SECRET`` and ``<APP>_TOKEN_URL``
(``BaseServiceSettings``), and ``ServiceTokenProvider.from_settings`` builds a
provider from them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

import httpx
from pydantic import BaseModel, Field

from servicekit.http import make_async_client, upstream_invalid, upstream_problem
from servicekit.settings import BaseServiceSettings

REFRESH_MARGIN_SECONDS = 60


class _TokenAnswer(BaseModel):
    access_token: str = Field(min_length=1)
    expires_in: float = Field(default=300, gt=0)


class TokenSource(Protocol):
    """Anything that hands out a bearer token: a ``ServiceTokenProvider``, or a test's stand-in."""

    async def token(self) -> str: ...


class ServiceTokenProvider:
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = scopes
        self._client = client
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings, scopes: Sequence[str]) -> ServiceTokenProvider | None:
        """This app's own token for ``scopes``, from its client settings; None when it has no credentials."""
        secret = settings.client_secret.get_secret_value()
        if not settings.client_id or not secret:
            return None
        return cls(settings.token_url, settings.client_id, secret, list(scopes))

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        client = self._client or make_async_client(timeout=5.0)
        try:
            # POST, so never retried by the client: a token request is cheap to
            # repeat on the next call if this one fails.
            resp = await client.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": " ".join(self.scopes)},
                auth=(self.client_id, self._secret),
            )
        except httpx.HTTPError as exc:
            raise upstream_problem("gateway", exc) from None
        finally:
            if self._client is None:
                await client.aclose()
        if resp.status_code != 200:
            raise upstream_problem("gateway", httpx.HTTPStatusError("token refused", request=resp.request, response=resp))
        try:
            answer = _TokenAnswer.model_validate(resp.json())
        except ValueError:  # not JSON, or not a token answer
            raise upstream_invalid("gateway", "its token answer is not one") from None
        self._token = answer.access_token
        ttl = answer.expires_in
        self._expires_at = time.monotonic() + max(ttl - REFRESH_MARGIN_SECONDS, ttl / 2)

