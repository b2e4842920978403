"""Calls between apps: bounded retries for idempotent methods only."""

import httpx
import pytest
import structlog

from servicekit.http import make_async_client, upstream_problem


def _flaky(fail_times: int, status: int = 503):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) <= fail_times:
            return httpx.Response(status)
        return httpx.Response(200, json={"ok": True})

    return calls, httpx.MockTransport(handler)


async def test_get_is_retried_until_it_succeeds() -> None:
    calls, transport = _flaky(2)
    async with make_async_client("http://svc", retries=2, backoff_factor=0, inner_transport=transport) as client:
        r = await client.get("/x")
    assert r.status_code == 200
    assert calls == ["GET", "GET", "GET"]


async def test_retries_are_bounded() -> None:
    calls, transport = _flaky(10)
    async with make_async_client("http://svc", retries=2, backoff_factor=0, inner_transport=transport) as client:
        r = await client.get("/x")
    assert r.status_code == 503
    assert len(calls) == 3


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_non_idempotent_requests_are_sent_once(method: str) -> None:
    calls, transport = _flaky(1)
    async with make_async_client("http://svc", retries=3, backoff_factor=0, inner_transport=transport) as client:
        r = await client.request(method, "/x", json={})
    assert r.status_code == 503
    assert calls == [method]


async def test_a_service_that_is_down_becomes_a_503_problem() -> None:
    async with make_async_client("http://127.0.0.1:1", retries=1, backoff_factor=0, timeout=1) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("/readyz")
    problem = upstream_problem("participants", caught.value)
    assert problem.status == 503
    assert problem.extra["service"] == "participants"
    assert upstream_problem("participants", httpx.ReadTimeout("slow")).status == 504


async def test_a_call_made_while_serving_a_request_carries_its_request_id() -> None:
    seen: list[str | None] = []

    def echo(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(200)

    async with make_async_client("http://svc", inner_transport=httpx.MockTransport(echo)) as client:
        await client.get("/outside")  # no request being served: no id invented
        with structlog.contextvars.bound_contextvars(request_id="req-7f3a"):  # as RequestContextMiddleware binds it
            await client.post("/inside")
            await client.get("/own", headers={"X-Request-ID": "set-by-caller"})
    assert seen == [None, "req-7f3a", "set-by-caller"]
