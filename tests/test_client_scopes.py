"""API clients are denied by default (servicekit.auth ``gate_clients``).

For each app (the gateway and the four services, in process, real token
verification), every route of ``app.routes`` is called with API client tokens
(``client_id`` claim) that hold none of the scopes the route declares for
clients:

- no scope at all, with and without an institution (``tid``);
- the admin role in a client token but no scope (the shape of the gateway's
  internal token, minus its scope);
- every scope the platform knows except the ones the route declares.

Each answer must be 401 or 403 (never 2xx, never a 404 that leaks whether an
object exists), except on the routes each app declares public here, and on the
two gateway routes about the caller's own token. A client holding a scope the
route declares passes the gate (what it sees is then the route's own business).
People's tokens are not touched by the gate: a coordinator still reaches a
route no client may call.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from servicekit.auth import ANY_CLIENT, declared_client_scopes
from servicekit.testing import bearer
from tools.stack import APPS

# Every scope granted anywhere: integrations, the services' own clients and the gateway's internal tokens.
KNOWN_SCOPES = frozenset({
    "training:write", "scim", "reports:read", "research:read", "identity:read", "institutions:read", "events:read",
    "data-subjects:internal", "accounts:read", "webhooks:write", "contacts:read",
})

# Routes anyone may call without a token, per app ("METHOD path").
PUBLIC = {
    "gateway": {
        "GET /docs", "GET /docs/oauth2-redirect", "GET /redoc", "GET /healthz", "GET /readyz", "GET /metrics",
        "GET /.well-known/jwks.json", "POST /v1/auth/token", "POST /v1/auth/revoke", "POST /v1/auth/signup",
    },
    "participants": {"GET /v1/calls", "GET /v1/calls/{program_id}"},
    "matching": set(),
    "sessions": {"GET /v1/meetings/calendar/{token}.ics"},
    "evaluation": set(),
    # The signed unsubscribe link is its own proof (RFC 8058 one-click comes from mail systems).
    "notifications": {"GET /v1/notifications/unsubscribe", "POST /v1/notifications/unsubscribe"},
}
DOCS_AND_PROBES = {"GET /docs", "GET /docs/oauth2-redirect", "GET /redoc", "GET /healthz", "GET /readyz", "GET /metrics"}
for _name in PUBLIC:
    PUBLIC[_name] |= DOCS_AND_PROBES
# The notifications service has few routes; every other app has more than ten.
WALKED_AT_LEAST = {"notifications": 7}
# Routes any client may call: they only tell the bearer about its own token.
ANY_CLIENT_ROUTES = {"gateway": {"GET /v1/auth/me", "GET /v1/auth/session"}}
# The SCIM catch-all answers unknown SCIM paths with a SCIM 404, token or not.
UNROUTED = {"gateway": {"/scim/v2", "/scim/v2/{path:path}"}}


def _routes(app: FastAPI, name: str) -> Iterator[tuple[str, str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path in UNROUTED.get(name, ()):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield method, context.path, route


def _authenticates(route: APIRoute) -> bool:
    pending, names = list(route.dependant.dependencies), set()
    while pending:
        dep = pending.pop()
        names.add(getattr(dep.call, "__name__", ""))
        pending.extend(dep.dependencies)
    return bool(names & {"authenticate", "edge_principal"})


def _url(path: str, route: APIRoute) -> str:
    kinds = {p.name: p.field_info.annotation for p in route.dependant.path_params}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if kinds.get(name) is uuid.UUID or ":uuid" in match.group(1) or name.endswith("_id"):
            return str(uuid.uuid4())
        return "abcdefghijklmnopqrstuvwxyz0123"

    return re.sub(r"\{([^}]+)\}", fill, path)


def _from_the_gate(r: Any) -> bool:
    """A 403 of the client gate: problem type insufficient-scope (SCIM routes answer it as a SCIM error)."""
    if r.headers["content-type"].startswith("application/scim+json"):
        return r.json()["detail"].startswith(("API clients may not call", "Requires one of the scopes"))
    return r.json()["type"].endswith("insufficient-scope")


class App:
    def __init__(self, name: str, client: TestClient, mint: Any) -> None:
        self.name, self.client, self.mint = name, client, mint

    def call(self, method: str, url: str, token: str | None) -> Any:
        return self.client.request(method, url, headers=bearer(token) if token else {})


def _gateway_app(database_factory: Any) -> tuple[TestClient, Any]:
    from gateway.config import Settings
    from gateway.db import migrate
    from gateway.main import create_app

    url = database_factory.new("gateway")
    migrate(url)
    nowhere = "http://127.0.0.1:9"
    settings = Settings(
        database_url=url, participants_url=nowhere, matching_url=nowhere, sessions_url=nowhere, evaluation_url=nowhere,
        notifications_url=nowhere,
        bootstrap_admin_password="client-scopes-admin-password", password_time_cost=1, password_memory_kib=256,
        password_parallelism=1, rate_limit_storage="memory://", log_level="WARNING", cors_origins=[], public_paths=[],
    )
    client = TestClient(create_app(settings))
    client.__enter__()
    minter = client.app.state.minter

    def mint(sub: str = "cli", tid: str | None = None, roles: list[str] | None = None, scope: str = "", **extra: Any) -> str:
        return client.portal.call(lambda: minter.mint(subject=sub, tenant_id=tid, roles=roles or [], scope=scope, **extra))

    return client, mint


@pytest.fixture(scope="module", params=[a.name for a in APPS])
def app(request: pytest.FixtureRequest, database_factory: Any, key_source: Any, mint: Any) -> Iterator[App]:
    name = request.param
    if name == "gateway":
        client, minter = _gateway_app(database_factory)
    else:
        spec = next(a for a in APPS if a.name == name)
        main = importlib.import_module(f"{spec.package}.main")
        config = importlib.import_module(f"{spec.package}.config")
        url = database_factory.new(name)
        importlib.import_module(f"{spec.package}.db").migrate(url)
        client = TestClient(main.create_app(config.Settings(database_url=url, log_level="WARNING"), key_source=key_source))
        client.__enter__()
        minter = mint
    try:
        yield App(name, client, minter)
    finally:
        client.__exit__(None, None, None)


def test_every_route_refuses_a_client_without_its_scope(app: App) -> None:
    institution = str(uuid.uuid4())
    tokens = {
        "no scope": app.mint(sub="cli-a", scope="", client_id="cli-a"),
        "no scope, an institution's": app.mint(sub="cli-b", tid=institution, scope="", client_id="cli-b"),
        "admin role, no scope": app.mint(sub="cli-c", roles=["admin"], scope="", client_id="cli-c"),
    }
    public = PUBLIC[app.name]
    any_client = ANY_CLIENT_ROUTES.get(app.name, set())
    walked, leaks, unauthenticated = 0, [], []
    for method, path, route in _routes(app.client.app, app.name):
        key = f"{method} {path}"
        if key in public:
            continue
        if not _authenticates(route):
            unauthenticated.append(key)
            continue
        walked += 1
        declared = declared_client_scopes(route)
        others = " ".join(sorted(KNOWN_SCOPES - declared))
        variants = dict(tokens, **{"every other scope": app.mint(sub="cli-d", tid=institution, scope=others, client_id="cli-d")})
        url = _url(path, route)
        for label, token in variants.items():
            r = app.call(method, url, token)
            refused = r.status_code in (401, 403)
            if key in any_client or ANY_CLIENT in declared:
                refused = not refused  # these answer any valid client token
            if not refused:
                leaks.append(f"{key} [{label}] -> {r.status_code}")
            elif r.status_code == 403 and key not in any_client and not _from_the_gate(r):
                leaks.append(f"{key} [{label}] -> 403 from the route, not the gate: {r.json()['detail']}")
    assert walked >= WALKED_AT_LEAST.get(app.name, 11), "the walk found almost no routes: it is broken"
    assert unauthenticated == [], f"routes that authenticate no one and are not declared public: {unauthenticated}"
    assert leaks == [], "\n".join(leaks)


def test_a_client_with_a_declared_scope_passes_the_gate(app: App) -> None:
    """On each route that declares client scopes, a client holding one of them
    is never refused by the gate itself (the route's own checks may still say no)."""
    declaring = [(m, p, r) for m, p, r in _routes(app.client.app, app.name) if declared_client_scopes(r) - {ANY_CLIENT}]
    if app.name in ("evaluation", "notifications"):
        assert declaring == [(m, p, r) for m, p, r in declaring if p.startswith("/internal/")]
    for method, path, route in declaring:
        for scope in sorted(declared_client_scopes(route)):
            token = app.mint(sub="cli-ok", scope=scope, client_id="cli-ok")
            r = app.call(method, _url(path, route), token)
            if r.status_code == 403 and r.headers["content-type"].startswith("application/problem"):
                assert not r.json()["detail"].startswith(("API clients may not call", "Requires one of the scopes")), (path, scope)


def test_people_are_not_gated(app: App) -> None:
    """A coordinator's token (roles, no scope) reaches routes no client may call."""
    person = app.mint(sub=str(uuid.uuid4()), tid=str(uuid.uuid4()), roles=["coordinator"])
    for method, path, route in _routes(app.client.app, app.name):
        if f"{method} {path}" in PUBLIC[app.name] or not _authenticates(route) or declared_client_scopes(route):
            continue
        r = app.call(method, _url(path, route), person)
        if r.status_code == 403 and r.headers["content-type"].startswith("application/problem"):
            assert not r.json()["type"].endswith("insufficient-scope"), (method, path)
