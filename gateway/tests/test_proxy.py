"""The reverse proxy against a real service on a loopback port."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

from servicekit.problems import ProblemError

from gateway.config import DEFAULT_ROUTES, Settings
from gateway.proxy import PublicPaths, RouteTable, strip_hop_by_hop
from gateway.ratelimit import RateLimits
from gateway.tests.conftest import Gateway
from gateway.tests.upstream import CHUNK

ECHO = "/v1/programs/echo"


def test_route_table_longest_prefix_and_whole_segments() -> None:
    table = RouteTable({**DEFAULT_ROUTES, "/v1/calls/special": "evaluation"})
    assert table.match("/v1/calls") == ("/v1/calls", "participants")
    assert table.match("/v1/calls/123") == ("/v1/calls", "participants")
    assert table.match("/v1/calls/special/1") == ("/v1/calls/special", "evaluation")
    assert table.match("/v1/callsx") is None
    assert table.match("/v1/auth/token") is None
    assert table.match("/internal/events") is None


def test_public_paths_patterns() -> None:
    public = PublicPaths(["GET /v1/calls/{call_id}", "* /v1/programs/open"])
    assert public.allows("GET", "/v1/calls/abc")
    assert not public.allows("POST", "/v1/calls/abc")
    assert not public.allows("GET", "/v1/calls/abc/applications")
    assert public.allows("DELETE", "/v1/programs/open")


def test_hop_by_hop_headers_named_in_connection_are_stripped() -> None:
    headers = [(b"connection", b"close, X-Secret"), (b"x-secret", b"1"), (b"keep-alive", b"5"), (b"proxy-foo", b"1"), (b"x-ok", b"1")]
    assert strip_hop_by_hop(headers) == [(b"x-ok", b"1")]


def test_path_query_body_and_headers_are_forwarded(gw: Gateway, admin: dict[str, str]) -> None:
    headers = admin | {
        "X-Request-ID": "req-123",
        "Connection": "keep-alive, X-Hop-Secret",
        "X-Hop-Secret": "drop me",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "TE": "trailers",
        "X-Forwarded-For": "203.0.113.7",
        "X-Custom": "kept",
    }
    resp = gw.client.post(f"{ECHO}/a%20b/c?x=1&y=%C3%A9&x=2", content=b"hello", headers=headers)
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["method"] == "POST"
    assert seen["raw_path"] == "/v1/programs/echo/a%20b/c"
    assert seen["query"] == "x=1&y=%C3%A9&x=2"
    assert seen["body_size"] == 5 and seen["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
    got = seen["headers"]
    for hop in ("x-hop-secret", "keep-alive", "proxy-authorization", "te"):
        assert hop not in got, hop
    assert got["x-request-id"] == ["req-123"]
    assert got["authorization"] == [admin["Authorization"]]
    assert got["x-custom"] == ["kept"]
    assert got["x-forwarded-for"] == ["203.0.113.7, testclient"]
    assert got["x-forwarded-proto"] == ["http"]
    assert resp.headers["x-request-id"] == "req-123"


def test_hop_by_hop_response_headers_are_stripped_and_cookies_not_kept(gw: Gateway, admin: dict[str, str]) -> None:
    resp = gw.client.get("/v1/programs/hop", headers=admin)
    assert resp.status_code == 200 and resp.content == b"hop"
    assert resp.headers["x-kept"] == "yes"
    for hop in ("x-upstream-hop", "keep-alive", "proxy-authenticate"):
        assert hop not in resp.headers, hop
    echo = gw.client.get(ECHO, headers=admin)
    assert echo.headers["set-cookie"] == "a=1; Path=/"  # passed to the caller...
    gw.client.cookies.clear()  # (the test client keeps cookies; a browser would too)
    again = gw.client.get(ECHO, headers=admin)
    gw.client.cookies.clear()
    assert "cookie" not in again.json()["headers"]  # ...never kept and replayed by the gateway
    assert all(len(c.cookies.jar) == 0 for c in gw.app.state.proxy.clients.values())


def test_large_bodies_stream_both_ways(gw: Gateway, admin: dict[str, str]) -> None:
    body = CHUNK * 96  # 6 MiB up
    resp = gw.client.put(f"{ECHO}/upload", content=body, headers=admin)
    assert resp.status_code == 200
    assert resp.json()["body_size"] == len(body)
    assert resp.json()["body_sha256"] == hashlib.sha256(body).hexdigest()

    def chunks():
        for _ in range(32):
            yield CHUNK

    chunked = gw.client.post(f"{ECHO}/chunked", content=chunks(), headers=admin)
    assert chunked.json()["body_size"] == 32 * len(CHUNK)

    with gw.client.stream("GET", "/v1/programs/stream", params={"chunks": 128}, headers=admin) as down:  # 8 MiB down
        assert down.status_code == 200
        digest, size = hashlib.sha256(), 0
        for part in down.iter_raw():
            digest.update(part)
            size += len(part)
    assert size == 128 * len(CHUNK)
    assert digest.hexdigest() == hashlib.sha256(CHUNK * 128).hexdigest()


def test_missing_or_invalid_token_is_refused_at_the_edge(gw: Gateway, recorder) -> None:
    recorder.institution_calls.clear()
    assert gw.client.get("/v1/institutions/inst-a").status_code == 401
    bad = gw.client.get("/v1/institutions/inst-a", headers={"Authorization": "Bearer a.b.c"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    assert recorder.institution_calls == []  # nothing reached the service


def test_public_service_paths_need_no_token(make_gateway) -> None:
    gw = make_gateway(public_paths=["GET /v1/programs/echo/public/{id}"])
    assert gw.client.get(f"{ECHO}/public/42").status_code == 200
    assert gw.client.post(f"{ECHO}/public/42").status_code == 401
    assert gw.client.get(f"{ECHO}/private/42").status_code == 401


async def raw_status(app, path: str, headers: dict[str, str]) -> int:
    """Call the ASGI app with a path exactly as given (HTTP clients normalise
    dot segments away before sending; an attacker's client need not)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    statuses: list[int] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_internal_and_unknown_paths_are_never_proxied(gw: Gateway, admin: dict[str, str]) -> None:
    assert gw.client.get("/internal/events", headers=admin).status_code == 404
    assert gw.client.get("/v1/unknown-thing", headers=admin).status_code == 404
    assert gw.client.get("/v1/programs/%2e%2e/%2e%2e/internal/events", headers=admin).status_code == 404
    assert gw.client.portal.call(raw_status, gw.app, "/v1/programs/echo", admin) == 200
    for sneaky in ("/v1/programs/../../internal/events", "/v1/programs/./echo", "/v1/programs/echo/.."):
        assert gw.client.portal.call(raw_status, gw.app, sneaky, admin) == 404, sneaky


def test_service_down_is_a_503_problem(make_gateway, nowhere: str) -> None:
    gw = make_gateway(sessions_url=nowhere)
    admin = gw.bearer()
    start = time.monotonic()
    resp = gw.client.get("/v1/meetings/1", headers=admin)
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["service"] == "sessions"
    assert time.monotonic() - start < 2


def test_slow_service_is_a_504_problem(make_gateway) -> None:
    gw = make_gateway(upstream_timeout=0.3)
    admin = gw.bearer()
    start = time.monotonic()
    resp = gw.client.get("/v1/programs/slow", params={"seconds": 1.5}, headers=admin)
    assert resp.status_code == 504
    assert resp.json()["type"] == "urn:aliada:problem:upstream-timeout"
    assert time.monotonic() - start < 1.2


def test_proxied_traffic_is_rate_limited_per_token(make_gateway) -> None:
    gw = make_gateway(rate_limit_per_token="3/minute")
    admin = gw.bearer()
    codes = [gw.client.get(ECHO, headers=admin).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = gw.client.get(ECHO, headers=admin)
    assert int(limited.headers["retry-after"]) >= 1
    # The gateway's own endpoints are not counted against proxied traffic.
    assert gw.client.get("/v1/auth/me", headers=admin).status_code == 200


def test_per_token_limit_is_counted_in_small_batches() -> None:
    limits = RateLimits(Settings(rate_limit_per_token="1000/minute"))

    async def scenario() -> tuple[int, int]:
        allowed = 0
        for _ in range(1100):
            try:
                await limits.proxied("subject-1")
            except ProblemError as exc:
                assert exc.status == 429 and int(exc.headers["Retry-After"]) >= 1
                break
            allowed += 1
        refused_again = 0
        for _ in range(5):  # refused locally from now on, without counting
            try:
                await limits.proxied("subject-1")
            except ProblemError:
                refused_again += 1
        await limits.proxied("subject-2")  # other tokens are unaffected
        return allowed, refused_again

    allowed, refused_again = asyncio.run(scenario())
    assert 1000 <= allowed < 1010
    assert refused_again == 5


def test_a_truncated_upstream_answer_is_a_502_problem(make_gateway) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"cut")
        await writer.drain()
        writer.close()

    class Broken:
        def __init__(self) -> None:
            self.ready = threading.Event()
            self.url = ""

        def run(self) -> None:
            async def serve() -> None:
                server = await asyncio.start_server(handler, "127.0.0.1", 0)
                self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
                self.ready.set()
                async with server:
                    await asyncio.sleep(3)

            asyncio.run(serve())

    broken = Broken()
    threading.Thread(target=broken.run, daemon=True).start()
    assert broken.ready.wait(5)
    gw = make_gateway(evaluation_url=broken.url)
    resp = gw.client.get("/v1/reports/1", headers=gw.bearer())
    assert resp.status_code == 502
    assert resp.json()["type"] == "urn:aliada:problem:bad-gateway"
