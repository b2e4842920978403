"""Minting access tokens with the ring's active key (claims per docs/architecture.md).

People: ``sub`` (account id), ``tid`` (institution, absent for platform
admins), ``roles``, ``scope`` (empty: people are authorized by roles), ``sid``.
Clients: ``sub`` = ``client_id`` = the client's id, ``tid``, ``roles`` empty,
``scope`` (the granted scopes), ``sid`` (the client's current family).

The internal token: the gateway calling a service for itself (today only
``GET /v1/institutions/{id}`` on participants) uses a 60-second client token,
``sub`` ``service:gateway``, ``client_id`` ``gateway``, scope
``institutions:read`` and role ``admin`` (institutions are admin-only in the
participants service). It never leaves the gateway-to-service hop, and the
gateway's own admin endpoints refuse client tokens whatever their roles.
The webhook dispatcher reads the services' outbox feeds with another such
token, scope ``events:read`` and no role: each internal use gets its own token
with only what it needs. Data-subject requests (gateway.subject_requests) call
the services' ``/internal/data-subjects/*`` with scope ``data-subjects:internal``
and no role.
"""

from __future__ import annotations

import time
from typing import Any

from servicekit.tokens import access_claims
from servicekit import scopes

from gateway.config import Settings
from gateway.keys import KeyRing

INTERNAL_SUBJECT = "service:gateway"
INTERNAL_CLIENT_ID = "gateway"
INTERNAL_SCOPE = scopes.INSTITUTIONS_READ
INTERNAL_ROLES = ["admin"]
EVENTS_SCOPE = scopes.EVENTS_READ
# scope -> roles of each internal token.
DATA_RIGHTS_SCOPE = scopes.DATA_SUBJECTS_INTERNAL  # servicekit.data_rights: export/erasure steps
INTERNAL_GRANTS: dict[str, list[str]] = {INTERNAL_SCOPE: INTERNAL_ROLES, EVENTS_SCOPE: [], DATA_RIGHTS_SCOPE: []}


class Minter:
    def __init__(self, settings: Settings, ring: KeyRing) -> None:
        self.settings = settings
        self.ring = ring
        self._internal: dict[str, tuple[str, float]] = {}

    async def claims_and_key(self, **kwargs: Any):
        key = await self.ring.active_key()
        claims = access_claims(
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            ttl_seconds=kwargs.pop("ttl_seconds", self.settings.access_token_ttl),
            **kwargs,
        )
        return claims, key

    async def mint(self, **kwargs: Any) -> str:
        claims, key = await self.claims_and_key(**kwargs)
        return key.sign(claims)

    async def internal_token(self, scope: str = INTERNAL_SCOPE) -> str:
        cached = self._internal.get(scope)
        if cached is not None and cached[1] - time.time() > 15:
            return cached[0]
        ttl = self.settings.internal_token_ttl
        claims, key = await self.claims_and_key(
            subject=INTERNAL_SUBJECT,
            tenant_id=None,
            roles=list(INTERNAL_GRANTS[scope]),
            scope=scope,
            ttl_seconds=ttl,
            client_id=INTERNAL_CLIENT_ID,
        )
        token = key.sign(claims)
        self._internal[scope] = (token, float(claims["exp"]))
        return token
