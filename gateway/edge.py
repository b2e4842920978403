"""Authentication at the edge: one async path for the gateway's own routes and
for proxied traffic.

1. The bearer token is verified by servicekit's ``TokenVerifier`` (the one
   verification function) against the gateway's own keys, in process.
2. A verified token is remembered (bounded cache keyed by the exact token
   string, dropped at its ``exp`` and whenever the set of published keys
   changes) so a client sending the same token again does not pay the RSA check
   again; the verification rules are not changed by this.
3. Its ``sid`` is checked against the revoked-sessions denylist on every
   request (an in-memory set, see ``gateway.revocation``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from servicekit.auth import (
    InvalidToken,
    Principal,
    TokenVerifier,
    bearer_token,
    gate_clients,
    oauth2_scheme,
    session_revoked,
    unauthorized,
)
from servicekit.problems import ProblemError

from gateway.revocation import RevokedSessions

log = logging.getLogger("gateway.edge")

CACHE_SIZE = 10_000


class EdgeAuth:
    def __init__(
        self,
        verifier: TokenVerifier,
        revoked: RevokedSessions,
        *,
        key_generation: Callable[[], int] = lambda: 0,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.verifier = verifier
        self.revoked = revoked
        self._key_generation = key_generation
        self._generation = key_generation()
        self._cache: dict[str, Principal] = {}
        self._cache_size = cache_size

    async def principal(self, token: str) -> Principal:
        generation = self._key_generation()
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation
        principal = self._cache.get(token)
        if principal is None or principal.claims["exp"] <= time.time():
            try:
                claims = await self.verifier.verify(token)
            except InvalidToken as exc:
                log.info("token refused", extra={"reason": exc.reason})
                raise unauthorized("The access token has expired" if exc.expired else "The access token is invalid") from None
            principal = Principal.from_claims(claims, token)
            cache = self._cache
            cache.pop(token, None)
            if len(cache) >= self._cache_size:
                cache.pop(next(iter(cache)))
            cache[token] = principal
        sid = principal.claims.get("sid")
        if sid is not None and await self.revoked.is_revoked(str(sid)):
            raise session_revoked()
        return principal

    async def authenticate(self, request: Request) -> Principal:
        state = request.state
        cached = getattr(state, "principal", None)
        if cached is not None:
            return cached
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise unauthorized()
        principal = await self.principal(token)
        state.principal = principal
        return principal


async def edge_principal(request: Request, _doc: Annotated[str | None, Depends(oauth2_scheme)] = None) -> Principal:
    """FastAPI dependency of the gateway's own protected routes. An API client
    passes only where the route declared one of its scopes (servicekit.auth
    ``gate_clients``); proxied requests are gated by the service that answers them."""
    edge: EdgeAuth = request.app.state.edge
    principal = await edge.authenticate(request)
    gate_clients(request, principal)
    return principal


EdgePrincipal = Annotated[Principal, Depends(edge_principal)]


async def require_admin(principal: EdgePrincipal) -> Principal:
    # Only people: the admin role in a client token (such as the gateway's own
    # internal token to participants) never opens the admin endpoints.
    if not principal.is_admin or principal.is_client:
        raise ProblemError(403, "Requires the admin role", slug="forbidden")
    return principal


async def require_admin_or_coordinator(principal: EdgePrincipal) -> Principal:
    if principal.is_client:
        raise ProblemError(403, "Requires the admin or coordinator role", slug="forbidden")
    if principal.is_admin or (principal.has_role("coordinator") and principal.tenant_id):
        return principal
    raise ProblemError(403, "Requires the admin or coordinator role", slug="forbidden")


AdminPrincipal = Annotated[Principal, Depends(require_admin)]
ManagerPrincipal = Annotated[Principal, Depends(require_admin_or_coordinator)]
