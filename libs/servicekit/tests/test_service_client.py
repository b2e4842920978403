"""The typed service client against a real server on a loopback port: each
class of answer becomes the documented problem, lists are followed page by
page, and only idempotent calls are retried. Then the service-token provider:
built from an app's settings, and a broken token answer is a 502."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from servicekit.problems import ProblemError
from servicekit.service_auth import ServiceTokenProvider
from servicekit.service_client import MAX_DETAIL, ServiceClient, UpstreamModel
from servicekit.settings import BaseServiceSettings


class Widget(UpstreamModel):
    id: int
    name: str


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "urn:aliada:problem:x", "title": "x", "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def upstream_app(calls: Counter[str]) -> FastAPI:
    """``calls`` counts the requests each route received, by method and key."""
    app = FastAPI()

    @app.get("/widgets/{wid}")
    async def widget(wid: int, request: Request) -> Any:
        calls[f"GET widget {request.headers.get('authorization')}"] += 1
        return {"id": wid, "name": f"widget {wid}", "colour": "a field the caller does not read"}

    @app.api_route("/status/{code}/{key}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def status(code: int, key: str, request: Request) -> Any:
        calls[f"{request.method} {key}"] += 1
        return problem(code, f"upstream says {code}", errors=[{"field": "body.status", "message": "no", "code": "x"}])

    @app.get("/long-detail")
    async def long_detail() -> Any:
        return problem(409, "x" * 5000)

    @app.get("/not-json")
    async def not_json() -> Any:
        return PlainTextResponse("<html>secret 123</html>")

    @app.get("/wrong-shape")
    async def wrong_shape() -> Any:
        return {"id": "not a number", "name": "secret 456"}

    @app.get("/widgets")
    async def widgets(limit: int, request: Request, cursor: int = 0, size: int = 5) -> Any:
        calls[f"page {cursor} limit {limit} colour {request.query_params.get('colour')}"] += 1
        items = [{"id": i, "name": f"widget {i}"} for i in range(cursor, min(cursor + limit, size))]
        nxt = cursor + limit if cursor + limit < size else None
        return {"items": items, "next_cursor": None if nxt is None else str(nxt)}

    @app.get("/endless")
    async def endless(cursor: int = 0) -> Any:
        calls["endless"] += 1
        return {"items": [{"id": cursor, "name": "again"}], "next_cursor": str(cursor + 1)}

    @app.api_route("/flaky/{key}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def flaky(key: str, request: Request) -> Any:
        calls[f"{request.method} {key}"] += 1
        if calls[f"{request.method} {key}"] == 1:
            return problem(503, "restarting")
        if request.method == "DELETE":
            return Response(status_code=204)
        return {"id": 7, "name": "at last"}

    @app.post("/token/{kind}")
    async def token(kind: str, request: Request) -> Any:
        form = (await request.body()).decode()
        calls[f"token {kind} {form}"] += 1
        if kind == "good":
            return {"access_token": "svc-token", "token_type": "Bearer", "expires_in": 900}
        return PlainTextResponse("<html>secret 789</html>") if kind == "html" else {"token_type": "Bearer"}

    @app.get("/slow")
    async def slow() -> Any:
        await asyncio.sleep(3)
        return {"id": 1, "name": "too late"}

    return app


class LoopbackServer:
    """uvicorn in a thread, on a socket bound to a free loopback port before it starts."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                return self
            self.thread.join(0.01)
        raise RuntimeError("the test server did not start")

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture(scope="module")
def server_url(calls: Counter[str]) -> Iterator[str]:
    with LoopbackServer(upstream_app(calls)) as server:
        yield server.url


def widgets_at(url: str, **kw: Any) -> ServiceClient:
    return ServiceClient("widgets", url, backoff_factor=0, **kw)


async def refused(call: Any) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await call
    return caught.value


def key() -> str:
    return uuid.uuid4().hex


async def test_an_answer_is_read_into_the_model_with_the_token_given(server_url: str, calls: Counter[str]) -> None:
    async with widgets_at(server_url) as widgets:
        got = await widgets.get("/widgets/3", Widget, token="her-token")
    assert got == Widget(id=3, name="widget 3")  # the field it does not read is dropped
    assert calls["GET widget Bearer her-token"] == 1


@pytest.mark.parametrize(("status", "slug", "detail"), [
    (401, "unauthorized", "The access token was refused"),
    (403, "forbidden", "Not allowed to read this widget"),
    (404, "not-found", "Widget not found"),
])
async def test_401_403_404_become_this_services_own_problems(server_url: str, status: int, slug: str, detail: str) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.get(f"/status/{status}/{key()}", Widget, token="t", what="Widget"))
    assert (problem.status, problem.type, problem.detail) == (status, f"urn:aliada:problem:{slug}", detail)
    assert "service" not in problem.extra  # as if she had asked the other service herself
    if status == 401:
        assert problem.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def test_a_refused_change_says_change_not_read(server_url: str) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.patch(f"/status/403/{key()}", Widget, token="t", what="Widget", json={}))
    assert problem.status == 403 and problem.detail == "Not allowed to change this widget"


@pytest.mark.parametrize(("status", "slug"), [(409, "conflict"), (422, "upstream-refused")])
async def test_409_and_422_keep_their_status_and_the_upstreams_detail_but_not_its_field_errors(
    server_url: str, status: int, slug: str
) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.patch(f"/status/{status}/{key()}", Widget, token="t", what="Widget", json={}))
    assert (problem.status, problem.type, problem.detail) == (status, f"urn:aliada:problem:{slug}", f"upstream says {status}")
    assert problem.extra == {"service": "widgets"} and problem.errors is None


async def test_a_long_upstream_detail_is_cut(server_url: str) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.get("/long-detail", Widget, token="t"))
    assert problem.status == 409 and problem.detail == "x" * MAX_DETAIL


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_is_a_503_after_the_retries_of_a_get(server_url: str, calls: Counter[str], status: int) -> None:
    k = key()
    async with widgets_at(server_url, retries=2) as widgets:
        problem = await refused(widgets.get(f"/status/{status}/{k}", Widget, token="t"))
    assert (problem.status, problem.type) == (503, "urn:aliada:problem:upstream-unavailable")
    assert problem.extra == {"service": "widgets"}
    assert calls[f"GET {k}"] == (3 if status in (502, 503, 504) else 1)  # a 500 is not a passing fault: never retried


@pytest.mark.parametrize("status", [400, 429])
async def test_any_other_refusal_is_a_503(server_url: str, status: int) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.get(f"/status/{status}/{key()}", Widget, token="t"))
    assert problem.status == 503 and problem.type == "urn:aliada:problem:upstream-unavailable"


@pytest.mark.parametrize(("path", "why"), [("/not-json", "is not JSON"), ("/wrong-shape", "does not fit the expected schema")])
async def test_an_unreadable_answer_is_a_502_that_names_the_service_and_never_repeats_the_body(
    server_url: str, path: str, why: str
) -> None:
    async with widgets_at(server_url) as widgets:
        problem = await refused(widgets.get(path, Widget, token="t"))
    assert (problem.status, problem.type, problem.extra) == (502, "urn:aliada:problem:upstream-invalid", {"service": "widgets"})
    assert problem.detail is not None and "widgets" in problem.detail and why in problem.detail
    assert "secret" not in problem.detail


async def test_a_service_that_is_down_is_a_503_and_one_too_slow_a_504(server_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once the socket is closed
    async with widgets_at(dead, retries=1) as widgets:
        down = await refused(widgets.get("/widgets/1", Widget, token="t"))
    assert (down.status, down.type) == (503, "urn:aliada:problem:upstream-unavailable")
    async with widgets_at(server_url, retries=0, timeout=0.3) as widgets:
        slow = await refused(widgets.get("/slow", Widget, token="t"))
    assert (slow.status, slow.type, slow.extra) == (504, "urn:aliada:problem:upstream-timeout", {"service": "widgets"})


async def test_a_list_is_followed_page_by_page_with_the_callers_filters(server_url: str, calls: Counter[str]) -> None:
    async with widgets_at(server_url, page_size=2) as widgets:
        items = await widgets.page("/widgets", Widget, token="t", params={"colour": "blue"})
    assert [w.id for w in items] == [0, 1, 2, 3, 4]
    assert [calls[f"page {c} limit 2 colour blue"] for c in (0, 2, 4)] == [1, 1, 1]


async def test_a_list_that_never_ends_is_a_502_after_the_bound(server_url: str, calls: Counter[str]) -> None:
    before = calls["endless"]
    async with widgets_at(server_url, max_pages=4) as widgets:
        problem = await refused(widgets.page("/endless", Widget, token="t"))
    assert (problem.status, problem.type) == (502, "urn:aliada:problem:upstream-invalid")
    assert calls["endless"] - before == 4


async def test_a_get_is_retried_after_a_503(server_url: str, calls: Counter[str]) -> None:
    k = key()
    async with widgets_at(server_url, retries=2) as widgets:
        got = await widgets.get(f"/flaky/{k}", Widget, token="t")
    assert got.name == "at last" and calls[f"GET {k}"] == 2


@pytest.mark.parametrize("method", ["post", "patch"])
async def test_a_post_or_patch_is_sent_once_even_after_a_503(server_url: str, calls: Counter[str], method: str) -> None:
    k = key()
    async with widgets_at(server_url, retries=3) as widgets:
        problem = await refused(getattr(widgets, method)(f"/flaky/{k}", Widget, token="t", json={"name": "x"}))
    assert problem.status == 503 and calls[f"{method.upper()} {k}"] == 1


async def test_put_and_delete_are_idempotent_and_retried(server_url: str, calls: Counter[str]) -> None:
    k = key()
    async with widgets_at(server_url, retries=2) as widgets:
        put = await widgets.put(f"/flaky/{k}", Widget, token="t", json={"name": "x"})
        gone = await widgets.delete(f"/flaky/{k}", token="t")
    assert put.id == 7 and gone is None
    assert calls[f"PUT {k}"] == 2 and calls[f"DELETE {k}"] == 2


def test_an_app_without_client_credentials_has_no_token_provider() -> None:
    assert ServiceTokenProvider.from_settings(BaseServiceSettings(), ["events:read"]) is None
    assert ServiceTokenProvider.from_settings(BaseServiceSettings(client_id="svc-x"), ["events:read"]) is None
    assert ServiceTokenProvider.from_settings(BaseServiceSettings(client_secret="s" * 32), ["events:read"]) is None


async def test_the_provider_from_settings_asks_for_its_scopes_and_reuses_the_token(server_url: str, calls: Counter[str]) -> None:
    settings = BaseServiceSettings(client_id="svc-x", client_secret="s" * 32, token_url=f"{server_url}/token/good")
    provider = ServiceTokenProvider.from_settings(settings, ["events:read", "identity:read"])
    assert provider is not None
    assert [await provider.token(), await provider.token()] == ["svc-token", "svc-token"]
    assert calls["token good grant_type=client_credentials&scope=events%3Aread+identity%3Aread"] == 1


@pytest.mark.parametrize("kind", ["html", "no-token"])
async def test_a_token_answer_that_is_not_one_is_a_502_naming_the_gateway(server_url: str, kind: str) -> None:
    provider = ServiceTokenProvider(f"{server_url}/token/{kind}", "svc-x", "s" * 32, ["events:read"])
    problem = await refused(provider.token())
    assert (problem.status, problem.type, problem.extra) == (502, "urn:aliada:problem:upstream-invalid", {"service": "gateway"})
    assert problem.detail is not None and "secret" not in problem.detail
