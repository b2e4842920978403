"""The proxy under upstream faults: one stalled service never starves the
others (each service has its own pool), a stall is a 504 problem within the
route's bound, and an error answer that is not a problem document (a load
balancer's HTML page) reaches the client as a problem of the same meaning."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.tests.conftest import Gateway

Answer = Callable[[bytes], bytes | None]  # the request head -> the raw answer (None: never answer)


class RawServer:
    """A loopback TCP server answering each request with raw bytes (or never), in its own thread."""

    def __init__(self, answer: Answer, delay: float = 0.0) -> None:
        self.answer, self.delay = answer, delay
        self.url = ""
        self.requests = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                answer = self.answer(head)
                if answer is None:
                    assert self._stop is not None
                    await self._stop.wait()  # a stalled service: it read the request and says nothing
                    return
                await asyncio.sleep(self.delay)
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            self._ready.set()
            async with server:
                await self._stop.wait()

        asyncio.run(serve())

    def __enter__(self) -> RawServer:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)


def raw(status: str, content_type: str, body: bytes, *extra: str) -> Answer:
    headers = "".join(f"{h}\r\n" for h in extra)
    return lambda _head: (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
                          f"{headers}\r\n").encode() + body


HTML = b"<html><body><h1>502 Bad Gateway</h1>The server returned an invalid or incomplete response.</body></html>"


@pytest.fixture()
def stalled() -> Iterator[RawServer]:
    with RawServer(lambda _head: None) as server:
        yield server


def test_a_stalled_service_never_starves_another(make_gateway, stalled: RawServer) -> None:
    # Two connections per service: the stalled one's pool fills at once.
    gw: Gateway = make_gateway(sessions_url=stalled.url, upstream_max_connections=2, upstream_timeout=3.0)
    admin = gw.bearer()
    with ThreadPoolExecutor(max_workers=4) as pool:
        waiting = [pool.submit(gw.client.get, "/v1/meetings/1", headers=admin) for _ in range(4)]
        while stalled.requests < 2:  # both of the stalled service's connections are taken
            threading.Event().wait(0.02)
        # Meanwhile the other services answer as usual, each from its own pool.
        for _ in range(5):
            assert gw.client.get("/v1/programs/echo", headers=admin).status_code == 200
        statuses = sorted(f.result().status_code for f in waiting)
    assert set(statuses) <= {503, 504} and 504 in statuses  # waited its bound, or found its own pool full
    assert all(f.result().headers["content-type"] == "application/problem+json" for f in waiting)


def test_a_stall_is_a_504_problem_within_the_route_s_bound(make_gateway, stalled: RawServer) -> None:
    gw: Gateway = make_gateway(sessions_url=stalled.url, upstream_timeout=0.5)
    r = gw.client.get("/v1/meetings/1", headers=gw.bearer())
    assert r.status_code == 504
    assert r.json()["type"] == "urn:aliada:problem:upstream-timeout" and r.json()["service"] == "sessions"


def test_a_slow_route_has_its_own_bound(make_gateway) -> None:
    with RawServer(raw("200 OK", "application/pdf", b"%PDF-1.7 a rendered report"), delay=1.0) as slow:
        gw: Gateway = make_gateway(evaluation_url=slow.url, upstream_timeout=0.3,
                                   upstream_slow_routes={"GET /v1/reports/programs/{program_id}/report.pdf": 5.0})
        admin = gw.bearer()
        assert gw.client.get("/v1/reports/programs/p1/report.html", headers=admin).status_code == 504
        pdf = gw.client.get("/v1/reports/programs/p1/report.pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(("answer", "status", "slug"), [
    (raw("502 Bad Gateway", "text/html", HTML), 502, "bad-gateway"),
    (raw("500 Internal Server Error", "text/plain", b"Internal Server Error"), 502, "bad-gateway"),
    (raw("503 Service Unavailable", "text/html; charset=utf-8", HTML, "retry-after: 7"), 503, "upstream-unavailable"),
    (raw("504 Gateway Timeout", "text/html", HTML), 504, "upstream-timeout"),
    (raw("404 Not Found", "text/html", HTML), 404, "upstream-refused"),
    (raw("502 Bad Gateway", "application/octet-stream", b"\x00\x01"), 502, "bad-gateway"),
], ids=["html-502", "plain-500", "html-503-retry-after", "html-504", "html-404", "binary-502"])
def test_an_error_that_is_not_a_problem_becomes_one(make_gateway, answer: Answer, status: int, slug: str) -> None:
    with RawServer(answer) as lb:
        gw: Gateway = make_gateway(matching_url=lb.url)
        r = gw.client.get("/v1/matching/programs/p1/runs", headers=gw.bearer())
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"urn:aliada:problem:{slug}"
    assert "<html" not in r.text
    if status == 503:
        assert r.headers["retry-after"] == "7"


@pytest.mark.parametrize("answer", [
    raw("200 OK", "text/html; charset=utf-8", b"<html>the report</html>"),
    raw("200 OK", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
    raw("409 Conflict", "application/problem+json", b'{"type":"urn:aliada:problem:conflict","title":"Conflict","status":409}'),
    raw("422 Unprocessable Entity", "application/json", b'{"detail":"kept as the service wrote it"}'),
], ids=["html-200", "calendar-200", "problem-409", "json-422"])
def test_documents_and_successful_answers_pass_unchanged(make_gateway, answer: Answer) -> None:
    with RawServer(answer) as svc:
        gw: Gateway = make_gateway(evaluation_url=svc.url)
        r = gw.client.get("/v1/reports/programs/p1/report.html", headers=gw.bearer())
    assert r.content == answer(b"").split(b"\r\n\r\n", 1)[1]
