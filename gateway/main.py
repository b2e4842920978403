"""The gateway app: identity (accounts, clients, tokens, keys), the reverse
proxy to the services, rate limits, the merged OpenAPI document, CORS and
aggregated readiness."""

from __future__ import annotations

import gc

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from servicekit import data_rights
from servicekit.app import create_service_app
from servicekit.db import make_engine
from servicekit.http import make_async_client
from servicekit.revocation import RedisDenyList, is_redis

from gateway import data_rights as gateway_data_rights
from gateway.bootstrap import ensure_bootstrap_admin
from gateway.service_clients import ensure_service_clients
from gateway.config import Settings
from gateway.edge import EdgeAuth
from gateway.grants import Grants
from gateway.keys import KeyRing
from gateway.minting import EVENTS_SCOPE, Minter
from gateway.models import IdempotencyRecord
from gateway.participant_roles import ParticipantRoles
from gateway.openapi import OpenAPIAggregator
from gateway.proxy import Proxy
from gateway.ratelimit import RateLimits
from gateway.revocation import RevokedSessions
from gateway.routers import accounts_internal, admin, auth, data_subjects, wellknown
from gateway.scim import install as install_scim
from gateway.security import Passwords
from gateway.sso.federation import Federation
from gateway.sso.router import router as sso_router
from gateway.subject_requests import SubjectRequests
from gateway.upstreams import Participants, ServiceReadiness
from gateway.webhooks.dispatcher import build_dispatcher
from gateway.webhooks.router import router as webhooks_router

DESCRIPTION = """The one public entry point of Aliada.

**Log in.** `POST /v1/auth/token` (OAuth 2.0, form-encoded): `grant_type=password`
for people (then `refresh_token`, rotated on every use), the token exchange
(RFC 8693) of an ID token from her institution's identity provider (single
sign-on), `client_credentials` for integration clients. Send the access token
as `Authorization: Bearer ...`.
Tokens are RS256 JWTs valid 15 minutes; their keys are at `/.well-known/jwks.json`.

**Errors** are `application/problem+json` (RFC 9457). Token-endpoint errors also
carry the OAuth `error` and `error_description` members.

Every other `/v1/...` path is served by the service that owns it, through this
gateway; this document merges the services' documents with the gateway's own."""

TAGS = [
    {"name": "auth", "description": "Tokens (OAuth 2.0), revocation, who am I."},
    {"name": "keys", "description": "Public keys (JWKS) and signing-key rotation."},
    {"name": "accounts", "description": "People's accounts: admins, and coordinators for their institution."},
    {"name": "clients", "description": "Integration clients (client credentials and scopes): admins."},
    {
        "name": "identity-providers",
        "description": "Single sign-on: an institution's OpenID Connect identity providers, whose ID tokens "
        "`/v1/auth/token` exchanges for ours (admins; a coordinator for her institution).",
    },
    {"name": "health", "description": "Liveness, readiness of every service, metrics."},
    {"name": "webhooks", "description": "Signed event deliveries to an institution's URLs (Standard Webhooks)."},
    {
        "name": "data-subject-requests",
        "description": "A person's export and erasure across every service, with the completion record of each step.",
    },
]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    if engine is None:
        engine = make_engine(settings.effective_database_url, **settings.db_pool)
    ring = KeyRing(engine, settings)
    revoked = RevokedSessions(
        engine,
        access_token_ttl=settings.access_token_ttl,
        leeway_seconds=settings.jwt_leeway_seconds,
        refresh_seconds=settings.revocation_cache_seconds,
        # The services' shared deny-list, when it is Redis (servicekit.revocation).
        deny_list=RedisDenyList(settings.revocation_storage, prefix=settings.revocation_key_prefix)
        if is_redis(settings.revocation_storage)
        else None,
    )
    passwords = Passwords(
        time_cost=settings.password_time_cost,
        memory_kib=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )
    minter = Minter(settings, ring)
    limits = RateLimits(settings)
    readiness = ServiceReadiness(settings.service_urls, settings.readiness_timeout)
    participants = Participants(settings.service_url("participants"), minter)
    webhooks = build_dispatcher(settings, engine, minter)
    roles = ParticipantRoles(engine, settings.service_url("participants"), lambda: minter.internal_token(EVENTS_SCOPE),
                             settings.participant_roles_poll_seconds)
    subject_requests = SubjectRequests(settings, engine, minter, revoked)

    async def startup(app: FastAPI) -> None:
        try:
            await anyio.to_thread.run_sync(ring.ensure_active_key)
            await ring.reload()
            await anyio.to_thread.run_sync(ensure_bootstrap_admin, engine, settings, passwords)
            await anyio.to_thread.run_sync(ensure_service_clients, engine, settings)
        except (OperationalError, ProgrammingError) as exc:
            raise RuntimeError(
                "The gateway's database is not ready (is it migrated? run: python -m gateway migrate)"
            ) from exc
        proxy.open()
        participants.client = make_async_client(timeout=settings.internal_timeout, retries=1, max_connections=16)
        probes = make_async_client(timeout=settings.internal_timeout, retries=0, max_connections=16)
        readiness.client = aggregator.client = probes
        # Everything loaded so far lives as long as the process: keep it out
        # of the cyclic GC, whose full passes otherwise pause the event loop for
        # tens of milliseconds (a p99 spike on every proxied request).
        gc.collect()
        gc.freeze()

    async def shutdown(app: FastAPI) -> None:
        await proxy.aclose()
        for client in (participants.client, readiness.client):
            if client is not None:
                await client.aclose()
        await revoked.close()

    app = create_service_app(
        settings=settings,
        title="Aliada API",
        description=DESCRIPTION,
        routers=[
            wellknown.router,
            auth.router,
            admin.router,
            sso_router,
            webhooks_router,
            data_subjects.router,
            accounts_internal.router,  # not in the public document (include_in_schema=False)
            data_rights.router(gateway_data_rights, include_in_schema=False),  # not in the public document
        ],
        key_source=ring.key_source(),
        engine=engine,
        readiness=readiness.checks(),
        on_startup=[startup, webhooks.start, subject_requests.start, roles.start],
        on_shutdown=[shutdown, roles.stop, subject_requests.stop, webhooks.stop],
        openapi_tags=TAGS,
        body_limits=settings.body_limits,
        revocations=None,  # the edge checks revoked sessions itself (gateway/revocation.py)
        idempotency_model=IdempotencyRecord,
    )
    install_scim(app)  # /scim/v2 (SCIM 2.0 provisioning), before the merged document captures app.openapi
    edge = EdgeAuth(app.state.token_verifier, revoked, key_generation=lambda: ring.generation)
    proxy = Proxy(settings, edge, limits)
    aggregator = OpenAPIAggregator(
        app.openapi, settings.service_urls, timeout=settings.internal_timeout, ttl=settings.openapi_cache_seconds
    )
    state = app.state
    state.ring, state.revoked, state.passwords, state.minter, state.limits = ring, revoked, passwords, minter, limits
    state.edge, state.proxy, state.participants, state.readiness, state.openapi = edge, proxy, participants, readiness, aggregator
    state.federation = Federation(settings, engine, passwords)
    state.grants = Grants(settings, engine, passwords, minter, revoked, limits, app.state.token_verifier, state.federation)
    state.webhooks, state.webhook_secrets, state.webhook_guard = webhooks, webhooks.box, webhooks.guard
    state.participant_roles = roles
    state.subject_requests = subject_requests

    # Proxied prefixes first (longest first): they never scan the gateway's routes.
    app.router.routes[0:0] = proxy.routes()

    # /openapi.json (and so /docs) serve the merged document.
    async def merged_openapi(request: Request) -> JSONResponse:
        return JSONResponse(await aggregator.document())

    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url]
    app.add_route(app.openapi_url or "/openapi.json", merged_openapi, include_in_schema=False)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location", "Idempotent-Replayed"],
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=600,
        )
    return app
