"""``create_service_app``: one FastAPI app with every shared mechanism wired.

Each service's ``main.create_app`` calls it with its settings and routers. The
app gets: problem handlers and a problem-aware OpenAPI document, the request
context middleware (request id, access log, metrics), the input rule for
paths and query strings, the body limit, the trusted-proxies rule for the
client's address, /healthz, /readyz and
/metrics, /docs and /redoc served with their assets from the installed
``fastapi-offline`` package (no CDN: the pages work without internet), the token verifier, the database engine sized to the threadpool,
the app's idempotency record table (``idempotency_model``, what
``IdempotencyDep`` reads and writes), and
a lifespan that sets the threadpool size and disposes of what it opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.engine import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from servicekit.auth import KeySource, RemoteKeySource, TokenVerifier
from servicekit.revocation import RevocationCheck, revocation_check

# ``create_service_app(revocations=...)`` default: the check the settings choose.
FROM_SETTINGS = object()
from servicekit.db import make_engine
from servicekit.idempotency import IdempotencyRecordBase, bind_model
from servicekit.inputs import StorableTextMiddleware
from servicekit.limits import BodyLimitMiddleware
from servicekit.logging import configure_logging
from servicekit.observability import CheckResult, Metrics, ReadinessCheck, RequestContextMiddleware, health_router
from servicekit.problems import install_problem_handlers, problem_openapi
from servicekit.settings import BaseServiceSettings

Hook = Callable[[FastAPI], Awaitable[None]]

# Where each app serves Swagger UI's and ReDoc's scripts and styles.
DOCS_ASSETS = "/docs-assets"


def database_check(engine: Engine) -> ReadinessCheck:
    async def check() -> CheckResult:
        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await anyio.to_thread.run_sync(ping)
        except Exception as exc:
            return CheckResult(ok=False, detail=type(exc).__name__)
        return CheckResult(ok=True)

    return check


def create_service_app(
    *,
    settings: BaseServiceSettings,
    title: str,
    description: str,
    version: str = "1.0.0",
    routers: Iterable[APIRouter] = (),
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    openapi_tags: list[dict[str, Any]] | None = None,
    use_database: bool = True,
    body_limits: Mapping[str, int] | None = None,
    revocations: RevocationCheck | None | object = FROM_SETTINGS,
    idempotency_model: type[IdempotencyRecordBase] | None = None,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    if use_database and engine is None:
        engine = make_engine(
            settings.effective_database_url,
            **settings.db_pool,
        )
    keys = key_source or RemoteKeySource(settings.jwks_url)
    startup, shutdown = list(on_startup), list(on_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
        for hook in startup:
            await hook(app)
        try:
            yield
        finally:
            for hook in reversed(shutdown):
                await hook(app)
            if engine is not None:
                engine.dispose()
            if app.state.revocations is not None:
                await app.state.revocations.close()

    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        separate_input_output_schemas=True,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.token_verifier = TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        keys=keys,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    # Tokens of a revoked session are refused here too (servicekit.auth).
    app.state.revocations = (
        revocation_check(
            settings.revocation_storage,
            prefix=settings.revocation_key_prefix,
            session_url=settings.revocation_url,
            cache_seconds=settings.revocation_cache_seconds,
        )
        if revocations is FROM_SETTINGS
        else revocations
    )
    metrics = Metrics(settings.service_name)
    app.state.metrics = metrics
    install_problem_handlers(app)
    checks: dict[str, ReadinessCheck] = {}
    if engine is not None:
        checks["database"] = database_check(engine)
    app.include_router(health_router(settings.service_name, metrics, checks, readiness))
    for router in routers:
        app.include_router(router)
    # ``IdempotencyDep`` keeps its keys here; routes that take one need it.
    bind_model(app, idempotency_model)
    # Innermost first: the input rule for paths and query strings and the body
    # limit run inside the request context, so their 422s and 413s carry the
    # request id and are logged. ``body_limits``: larger limits for the routes
    # that take uploads, by pattern ("POST /v1/.../roster-imports": bytes).
    app.add_middleware(StorableTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, overrides=body_limits)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    if settings.trusted_proxies:
        # Outermost: everything after it sees the client the trusted proxies
        # name (the right-most address of X-Forwarded-For no trusted proxy
        # added), never one a client wrote itself.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.openapi = problem_openapi(app)  # type: ignore[method-assign]
    return app
