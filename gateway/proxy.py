"""The reverse proxy: ``/v1/...`` paths the gateway does not own go to the
service that owns their prefix (``Settings.routes``; longest prefix wins).

One ``ProxyRoute`` per prefix sits at the front of the router, longest first,
so proxied traffic never scans the gateway's own routes and the gateway's own
paths keep their 404/405 behaviour. Per request:

1. dot segments (``/./``, ``/../``, also percent-encoded) are refused with
   404: they could otherwise be normalised into another service path such
   as ``/internal/...``;
2. unless the path is public (``Settings.public_paths``) the bearer token is
   checked at the edge (``gateway.edge``) and the per-token rate limit applied;
3. the request goes out on its service's own pooled ``httpx.AsyncClient``
   (one pool per service: a stalled service exhausts its own pool, never
   another's), bounded by the route's timeout: the body streamed, hop-by-hop headers (Connection, Keep-Alive, Proxy-*, TE,
   Trailer, Transfer-Encoding, Upgrade and any header named in Connection)
   removed, ``X-Request-ID`` and ``X-Forwarded-For/Proto/Host`` set and
   ``Authorization`` kept (each service verifies the token itself);
4. the answer is streamed back the same way (raw bytes, so Content-Encoding
   and Content-Length stay valid), and the upstream response is closed when
   the client has it (or has gone).

A service that cannot be reached gives a 503 problem, one that does not start
its answer within the route's timeout (``upstream_timeout``, or the route's
own in ``upstream_slow_routes``) a 504 problem, a broken answer a 502 problem.
An error that is not a problem document (a load balancer's HTML page between
the gateway and a service, say) is replaced by a problem of the same meaning:
a 502, 503 or 504 from a load balancer by the gateway's own 502, 503 (keeping
``Retry-After``) or 504, any other error by a problem with its status. Every
error a client sees is ``application/problem+json``.
"""

from __future__ import annotations

import logging
from http.cookiejar import CookieJar
from typing import Any

import anyio
import httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from servicekit.limits import RoutePatterns
from servicekit.problems import ProblemError, not_found

from gateway.config import Settings
from gateway.edge import EdgeAuth
from gateway.ratelimit import RateLimits
from httpx_aiohttp import AiohttpTransport

log = logging.getLogger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set by the gateway itself (or meaningless upstream).
_REQUEST_DROP = HOP_BY_HOP | {b"host", b"expect", b"x-request-id", b"x-forwarded-proto", b"x-forwarded-host"}
# The gateway's server writes its own.
_RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def strip_hop_by_hop(headers: list[tuple[bytes, bytes]], drop: frozenset[bytes] = HOP_BY_HOP) -> list[tuple[bytes, bytes]]:
    named = _connection_tokens(headers)
    return [
        (name, value)
        for name, value in headers
        if (lower := name.lower()) not in drop and lower not in named and not lower.startswith(b"proxy-")
    ]


class RouteTable:
    """Prefix -> service, longest prefix first, whole segments only."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.entries = sorted(routes.items(), key=lambda kv: (-len(kv[0]), kv[0]))

    def match(self, path: str) -> tuple[str, str] | None:
        for prefix, service in self.entries:
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, service
        return None


class PublicPaths:
    """Proxied paths that need no token, e.g. ``GET /v1/calls/{call_id}``
    (servicekit's route patterns)."""

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = RoutePatterns(dict.fromkeys(patterns, True))

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def allows(self, method: str, path: str) -> bool:
        return self._patterns.get(method, path) is not None


def _has_dot_segment(path: str) -> bool:
    return "/." in path and any(seg in (".", "..") for seg in path.split("/"))


class _NoCookies(CookieJar):
    """A jar that keeps nothing (and costs nothing per response)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


def new_upstream_client(settings: Settings) -> httpx.AsyncClient:
    """The proxy's one pooled client (created in the lifespan).

    Keep-alive pool as large as the pool itself (idle connections are reused,
    not closed and reopened), no environment proxies, and a cookie jar that
    accepts nothing: upstream Set-Cookie headers go to the caller, never into
    a jar shared by every caller.

    The wire layer is aiohttp (through ``httpx-aiohttp``) unless
    ``upstream_transport`` is "httpcore". httpx's own pool (httpcore) rescans
    every connection, with a system call each, for every queued request
    (httpx#3215, httpcore#1035); measured here it added about 2 ms at c=1 and
    kept 21 % of direct throughput at c=64. docs/architecture.md measured an aiohttp
    proxy keeping 96 %; README.md ("The gateway hop") has our figures.
    """
    size = settings.upstream_max_connections
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=4.0)
    transport: httpx.AsyncBaseTransport | None = None
    if settings.upstream_transport == "aiohttp":
        transport = AiohttpTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(
        limits=limits,
        transport=transport,
        timeout=_timeout(settings, settings.upstream_timeout),
        trust_env=False,
        follow_redirects=False,
        cookies=_NoCookies(),
    )


def _timeout(settings: Settings, seconds: float) -> httpx.Timeout:
    return httpx.Timeout(connect=settings.upstream_connect_timeout, read=seconds, write=seconds,
                         pool=settings.upstream_connect_timeout)


# Content types of answers the gateway passes on as they are, errors included.
_DOCUMENT_TYPES = ("application/json", "application/problem+json", "application/scim+json")


def _not_a_document(upstream: httpx.Response) -> bool:
    media = upstream.headers.get("content-type", "").split(";")[0].strip().lower()
    return upstream.status_code >= 400 and media not in _DOCUMENT_TYPES


def _normalised(upstream: httpx.Response, service: str) -> ProblemError:
    """The problem that stands for an error answer that is not one (module doc)."""
    status = upstream.status_code
    if status == 503:
        problem = _unavailable(service)
        retry_after = upstream.headers.get("retry-after", "")
        if retry_after.isdigit():
            problem.headers = {**(problem.headers or {}), "Retry-After": retry_after}
        return problem
    if status == 504:
        return ProblemError(504, f"The {service} service did not answer in time", slug="upstream-timeout", service=service)
    if status >= 500:
        return ProblemError(502, f"The {service} service gave no valid answer", slug="bad-gateway", service=service)
    return ProblemError(status, f"The {service} service refused the request", slug="upstream-refused", service=service)


# Answers up to this size (by Content-Length) are collected and sent in one
# message; larger or unsized ones are streamed chunk by chunk.
SMALL_BODY = 64 * 1024


class UpstreamResponse(StreamingResponse):
    """Streams an upstream answer through unchanged (status, raw body, headers
    minus hop-by-hop ones, repeated headers such as Set-Cookie kept).

    A small answer with a Content-Length (the usual JSON document) is read
    whole first and sent in one message: that skips Starlette's per-response
    disconnect-listener task, a measurable share of the hop. Everything else
    goes through ``StreamingResponse`` over ``aiter_raw`` with the upstream
    response closed in a background task."""

    def __init__(self, upstream: httpx.Response) -> None:
        super().__init__(upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose))
        self.raw_headers = strip_hop_by_hop(upstream.headers.raw, _RESPONSE_DROP)
        self.upstream = upstream
        length = upstream.headers.get("content-length", "")
        self.small = length.isdigit() and int(length) <= SMALL_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.small:
                try:
                    body = b"".join([chunk async for chunk in self.body_iterator])
                except httpx.TimeoutException:
                    raise ProblemError(504, "An upstream service did not finish its answer in time", slug="upstream-timeout") from None
                except httpx.HTTPError:
                    raise ProblemError(502, "An upstream service gave an incomplete answer", slug="bad-gateway") from None
                await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
            else:
                await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()  # idempotent; covers a failed send


class Proxy:
    def __init__(self, settings: Settings, edge: EdgeAuth, limits: RateLimits) -> None:
        self.settings = settings
        self.urls = settings.service_urls
        self.table = RouteTable(settings.routes)
        self.public = PublicPaths(settings.public_paths)
        self.slow = RoutePatterns(settings.upstream_slow_routes)
        self.edge = edge
        self.limits = limits
        self.clients: dict[str, httpx.AsyncClient] = {}  # one per service, opened in the lifespan

    def open(self) -> None:
        self.clients = {service: new_upstream_client(self.settings) for service in self.urls}

    async def aclose(self) -> None:
        clients, self.clients = self.clients, {}
        for client in clients.values():
            await client.aclose()

    def routes(self) -> list[ProxyRoute]:
        return [ProxyRoute(prefix, service, self) for prefix, service in self.table.entries]

    def _upstream_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        named = _connection_tokens(raw)
        out: list[tuple[bytes, bytes]] = []
        forwarded_for: list[bytes] = []
        host = b""
        for name, value in raw:
            if name == b"host":
                host = value
            if name in _REQUEST_DROP or name in named or name.startswith(b"proxy-"):
                continue
            if name == b"x-forwarded-for":
                forwarded_for.append(value)
                continue
            out.append((name, value))
        client = scope.get("client")
        if client:
            forwarded_for.append(client[0].encode("latin-1"))
        if forwarded_for:
            out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
        out.append((b"x-forwarded-proto", scope.get("scheme", "http").encode("latin-1")))
        if host:
            out.append((b"x-forwarded-host", host))
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            out.append((b"x-request-id", request_id.encode("latin-1")))
        return out

    async def handle(self, scope: Scope, receive: Receive, send: Send, service: str) -> None:
        request = Request(scope, receive)
        path: str = scope["path"]
        if _has_dot_segment(path):
            raise not_found("Path")
        method: str = scope["method"]
        if not (self.public and self.public.allows(method, path)):
            principal = await self.edge.authenticate(request)
            await self.limits.proxied(principal.subject)

        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        has_body = any(
            (name == b"content-length" and value.strip() != b"0") or name == b"transfer-encoding" for name, value in raw_headers
        )
        raw_path: bytes = scope.get("raw_path") or path.encode()
        query: bytes = scope.get("query_string", b"")
        url = self.urls[service] + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        seconds = self.slow.get(method, path) or self.settings.upstream_timeout
        upstream_request = httpx.Request(
            method, url, headers=self._upstream_headers(scope), content=request.stream() if has_body else None,
            extensions={"timeout": _timeout(self.settings, seconds).as_dict()},
        )
        client = self.clients[service]
        try:
            # The whole wait for the answer to begin is bounded too, whatever the
            # wire layer does with its per-phase timeouts.
            with anyio.fail_after(seconds + self.settings.upstream_connect_timeout):
                upstream = await client.send(upstream_request, stream=True)
        except TimeoutError:
            log.warning("upstream deadline", extra={"service": service})
            raise ProblemError(
                504, f"The {service} service did not answer in time", slug="upstream-timeout", service=service
            ) from None
        except httpx.PoolTimeout:
            log.warning("upstream pool exhausted", extra={"service": service})
            raise _unavailable(service) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            log.warning("upstream unreachable", extra={"service": service, "error": type(exc).__name__})
            raise _unavailable(service) from None
        except httpx.TimeoutException as exc:
            log.warning("upstream timeout", extra={"service": service, "error": type(exc).__name__})
            raise ProblemError(
                504, f"The {service} service did not answer in time", slug="upstream-timeout", service=service
            ) from None
        except httpx.HTTPError as exc:
            log.warning("upstream error", extra={"service": service, "error": type(exc).__name__})
            raise ProblemError(
                502, f"The {service} service gave no valid answer", slug="bad-gateway", service=service
            ) from None
        except ClientDisconnect:
            return  # the caller left while sending the body: nobody to answer
        if _not_a_document(upstream):
            await upstream.aclose()
            log.warning("upstream error that is not a problem", extra={"service": service, "status": upstream.status_code})
            raise _normalised(upstream, service)
        await UpstreamResponse(upstream)(scope, receive, send)


def _unavailable(service: str) -> ProblemError:
    return ProblemError(503, f"The {service} service is unavailable", slug="upstream-unavailable", service=service)


class ProxyRoute(BaseRoute):
    """Matches one prefix (the whole prefix, or it followed by ``/...``)."""

    def __init__(self, prefix: str, service: str, proxy: Proxy) -> None:
        self.prefix = prefix
        self._prefix_slash = prefix + "/"
        self.service = service
        self.proxy = proxy
        self.path = prefix + "/{path}"  # the metrics label of this route
        self.name = f"proxy:{service}"
        self.include_in_schema = False
        self._child_scope = {"route": self}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self._prefix_slash):
                return Match.FULL, self._child_scope
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any):
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.proxy.handle(scope, receive, send, self.service)
