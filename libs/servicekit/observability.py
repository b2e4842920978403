"""Request ids, access logs, Prometheus metrics and health endpoints."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.db import database_unavailable
from servicekit.problems import PROBLEM_MEDIA_TYPE, Problem, problem_responses

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("access")
# What a 503 for a database out of reach asks the client to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = 2
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "/internal/events"})
log = logging.getLogger("servicekit.errors")


def incoming_request_id(value: str | None) -> str:
    """Accept a caller's request id if it is safe to log, else make one."""
    if value and _SAFE_ID.match(value):
        return value
    return uuid.uuid4().hex


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["service", "method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.service = service


def route_template(scope: Scope) -> str:
    """The matched route's full path template, e.g. ``/v1/institutions/{institution_id}``.

    FastAPI keeps an included router's route un-prefixed in ``scope["route"]``;
    the full template is on the effective route context it records.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    return getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None) or "unmatched"


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in and out, one access log line,
    metrics by route template (never by raw path, which would explode label
    cardinality and could carry secrets such as calendar tokens)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(REQUEST_ID_HEADER.encode())
        request_id = incoming_request_id(raw.decode("latin-1") if raw else None)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = False
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    (k, v) for k, v in message["headers"] if k.lower() != REQUEST_ID_HEADER.encode()
                ] + [(REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # The last line of defence. A database out of reach (a restart, a
            # crash, a pool with nothing to give) is a 503 the client may retry
            # after Retry-After; the transaction was rolled back, so nothing
            # was written. Anything else unexpected is a 500. Either problem
            # carries the request id; the traceback goes to the log, never to
            # the client.
            unavailable = database_unavailable(exc)
            if unavailable:
                log.warning("database unavailable", extra={"route": route_template(scope), "error": type(exc).__name__})
            else:
                log.exception("unhandled error", extra={"route": route_template(scope)})
            if started:
                raise
            if unavailable:
                problem = Problem(
                    type="urn:aliada:problem:database-unavailable",
                    title="Service Unavailable",
                    status=503,
                    detail="The database cannot be reached right now; nothing was written. Retry shortly.",
                    instance=scope.get("path"),
                    request_id=request_id,
                )
                headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
            else:
                problem = Problem(
                    type="urn:aliada:problem:internal-error",
                    title="Internal Server Error",
                    status=500,
                    detail="An unexpected error occurred; quote the request id when reporting it.",
                    instance=scope.get("path"),
                    request_id=request_id,
                )
                headers = None
            response = JSONResponse(problem.model_dump(exclude_none=True), status_code=problem.status,
                                    media_type=PROBLEM_MEDIA_TYPE, headers=headers)
            await response(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            template = route_template(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(self.metrics.service, method, template, str(status)).inc()
            self.metrics.latency.labels(self.metrics.service, method, template).observe(elapsed)
            # Probes, scrapes and successful feed polls (every few seconds from
            # each consumer) would drown the log; metrics still count them.
            if template not in QUIET_ROUTES or status >= 400:
                access_log.info(
                    "request",
                    extra={"method": method, "route": template, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                )
            structlog.contextvars.unbind_contextvars("request_id")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str


class CheckResult(BaseModel):
    ok: bool
    detail: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    service: str
    checks: dict[str, CheckResult]


ReadinessCheck = Callable[[], Awaitable[CheckResult]]


def health_router(
    service: str,
    metrics: Metrics,
    checks: dict[str, ReadinessCheck],
    dependencies: dict[str, ReadinessCheck] | None = None,
) -> APIRouter:
    """``checks`` are the app's own (its database); ``dependencies`` are the
    services it calls. ``/readyz`` reports both; ``/readyz?scope=local`` only
    the app's own, for an orchestrator's readiness probe: a gateway whose
    evaluation service is down still serves everything else, so it must not be
    taken out of the load balancer for it."""
    dependencies = dependencies or {}
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health, operation_id="healthz", summary="Liveness: the process answers")
    async def healthz() -> Health:
        return Health(service=service)

    @router.get(
        "/readyz",
        response_model=Readiness,
        operation_id="readyz",
        summary="Readiness: the database and the services this app needs answer",
        responses=problem_responses(503),
    )
    async def readyz(
        request: Request,
        scope: Annotated[
            Literal["all", "local"],
            Query(description="`local`: only this app's own checks (its database), not the services it calls."),
        ] = "all",
    ) -> Any:
        selected = checks if scope == "local" else {**checks, **dependencies}

        async def run(check: ReadinessCheck) -> CheckResult:
            try:
                return await check()
            except Exception as exc:  # a check must never take the endpoint down
                return CheckResult(ok=False, detail=type(exc).__name__)

        # Concurrently: readiness takes as long as the slowest check, not the sum.
        outcomes = await asyncio.gather(*(run(check) for check in selected.values()))
        results = dict(zip(selected, outcomes, strict=True))
        if all(r.ok for r in results.values()):
            return Readiness(status="ready", service=service, checks=results)
        failing = ", ".join(n for n, r in results.items() if not r.ok)
        problem = Problem(
            type="urn:aliada:problem:not-ready",
            title="Service Unavailable",
            status=503,
            detail=f"Not ready: {failing}",
            instance=request.url.path,
            request_id=getattr(request.state, "request_id", None),
            service=service,
            checks={n: r.model_dump() for n, r in results.items()},
        )
        return JSONResponse(problem.model_dump(exclude_none=True), status_code=503, media_type=PROBLEM_MEDIA_TYPE)

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        operation_id="metrics",
        summary="Prometheus metrics",
        responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
    )
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
